"""A human-skeleton clip: the source side of retargeting (BVH mocap), not a robot motion.

Unlike ``Motion`` it has no DoF vector: every joint is a free 3-D rotation relative to its
parent, and the skeleton is described by its joint tree and bone offsets. Conventions as
everywhere in mjmimic: metres, z-up, quaternions wxyz.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mjmimic.rotations import quat_mul, quat_rotate


@dataclass
class SkeletonMotion:
    fps: float
    joint_names: list[str]  # parents before children
    parents: list[int]  # index into joint_names, -1 for the root
    offsets: np.ndarray  # (J, 3) joint position in the parent's frame at rest, m
    local_rot: np.ndarray  # (T, J, 4) wxyz rotation relative to the parent (root: world)
    root_pos: np.ndarray  # (T, 3) world, m
    name: str = ""

    @property
    def num_frames(self) -> int:
        return int(self.root_pos.shape[0])

    @property
    def duration(self) -> float:
        return (self.num_frames - 1) / self.fps

    def joint_positions(self) -> np.ndarray:
        """World position of every joint in every frame (T, J, 3): forward kinematics."""
        return self.world_transforms()[0]

    def world_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """World positions (T, J, 3) and rotations (T, J, 4, wxyz) of every joint."""
        t, j = self.local_rot.shape[:2]
        pos = np.empty((t, j, 3))
        rot = torch.empty((t, j, 4), dtype=torch.float64)
        local = torch.as_tensor(self.local_rot, dtype=torch.float64)
        for k, parent in enumerate(self.parents):
            if parent < 0:
                pos[:, k], rot[:, k] = self.root_pos, local[:, k]
                continue
            offset = torch.as_tensor(self.offsets[k], dtype=torch.float64).expand(t, 3)
            pos[:, k] = pos[:, parent] + quat_rotate(rot[:, parent], offset).numpy()
            rot[:, k] = quat_mul(rot[:, parent], local[:, k])
        return pos, rot.numpy()
