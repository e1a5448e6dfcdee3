"""Retargeting sources: human clips as keypoint trajectories.

A source gives, per frame, the world position and rotation of each human keypoint
(``profiles.KEYPOINTS``: pelvis, torso, head, elbows, hands, knees, feet = ankles), plus
the same at its rest pose. Rest rotations matter because body frames differ between
skeletons: the robot body b is asked to turn by the source's rotation *relative to its
rest pose* (see ``retarget.py``).

* our humanoid's clips (``.npz``) and DeepMimic clips (``.txt``, imported onto our
  humanoid): forward kinematics of the humanoid, keypoints from its profile;
* BVH mocap (CMU and similar naming): the skeleton's joints, named by ``BVH_NAMES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mjmimic.errors import MotionError
from mjmimic.motion.formats import read_motion
from mjmimic.motion.formats.bvh import read_bvh
from mjmimic.motion.skeleton import SkeletonMotion
from mjmimic.robots.kinematics import Kinematics
from mjmimic.robots.model import RobotModel
from mjmimic.robots.profiles import KEYPOINTS, RobotProfile

# Keypoint -> BVH joint names tried in order (CMU first, then common mocap exports).
BVH_NAMES: dict[str, tuple[str, ...]] = {
    "pelvis": ("Hips", "hip", "Pelvis"),
    "torso": ("Chest2", "Chest", "Spine1", "Spine", "chest"),
    "head": ("Head", "head"),
    "left_elbow": ("LeftElbow", "LeftForeArm", "lForeArm"),
    "right_elbow": ("RightElbow", "RightForeArm", "rForeArm"),
    "left_hand": ("LeftWrist", "LeftHand", "lHand"),
    "right_hand": ("RightWrist", "RightHand", "rHand"),
    "left_knee": ("LeftKnee", "LeftLeg", "lShin"),
    "right_knee": ("RightKnee", "RightLeg", "rShin"),
    "left_foot": ("LeftAnkle", "LeftFoot", "lFoot"),
    "right_foot": ("RightAnkle", "RightFoot", "rFoot"),
}


@dataclass
class HumanKeypoints:
    name: str
    fps: float
    loop_mode: str
    keypoints: list[str]  # subset of KEYPOINTS, in KEYPOINTS order
    pos: np.ndarray  # (T, K, 3) world
    rot: np.ndarray  # (T, K, 4) wxyz world
    rest_pos: np.ndarray  # (K, 3) standing straight, root at the origin
    rest_rot: np.ndarray  # (K, 4)

    def index(self, keypoint: str) -> int:
        return self.keypoints.index(keypoint)

    def every(self, step: int) -> HumanKeypoints:
        """Every ``step``-th frame (a 120 fps mocap clip retargeted at 30 fps)."""
        return HumanKeypoints(
            self.name,
            self.fps / step,
            self.loop_mode,
            self.keypoints,
            self.pos[::step],
            self.rot[::step],
            self.rest_pos,
            self.rest_rot,
        )


def load_source(path: Path, human: RobotProfile, human_robot: RobotModel) -> HumanKeypoints:
    """Any supported source file: BVH, else a clip of ``human_robot`` (npz, DeepMimic txt,
    any format ``read_motion`` reads for that robot)."""
    if path.suffix.lower() == ".bvh":
        return from_skeleton(read_bvh(path), path.stem)
    motion = read_motion(path, human_robot).align_to_robot(human_robot, path.name)
    kin = Kinematics(human_robot, dtype=torch.float64)

    def fk(
        root_pos: np.ndarray, root_rot: np.ndarray, dof: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        pos, rot = kin.forward_kinematics(
            torch.as_tensor(root_pos), torch.as_tensor(root_rot), torch.as_tensor(dof)
        )
        return pos.numpy(), rot.numpy()

    names = [k for k in KEYPOINTS if k in human.keypoints]
    for k in names:
        if any(human.keypoints[k].offset):
            raise MotionError(f"{human.name}: source keypoints must be body origins ({k})")
    bodies = human_robot.body_indices([human.keypoints[k].body for k in names])
    pos, rot = fk(motion.root_pos, motion.root_rot, motion.dof_pos)
    rest_pos, rest_rot = fk(
        np.zeros((1, 3)), np.array([[1.0, 0, 0, 0]]), np.zeros((1, human_robot.num_dofs))
    )
    return HumanKeypoints(
        motion.name or path.stem,
        motion.fps,
        motion.loop_mode,
        names,
        pos[:, bodies],
        rot[:, bodies],
        rest_pos[0, bodies],
        rest_rot[0, bodies],
    )


def from_skeleton(skel: SkeletonMotion, name: str) -> HumanKeypoints:
    joints = {}
    for keypoint, candidates in BVH_NAMES.items():
        found = next((c for c in candidates if c in skel.joint_names), None)
        if found is not None:
            joints[keypoint] = skel.joint_names.index(found)
    required = ("pelvis", "left_foot", "right_foot", "left_knee", "right_knee")
    missing = [k for k in required if k not in joints]
    if missing:
        raise MotionError(
            f"{name}: no BVH joint found for keypoint(s) {', '.join(missing)} (tried "
            + "; ".join(f"{k}: {', '.join(BVH_NAMES[k])}" for k in missing)
            + f"); joints in the file: {', '.join(skel.joint_names)}"
        )
    names = [k for k in KEYPOINTS if k in joints]
    index = [joints[k] for k in names]
    pos, rot = skel.world_transforms()
    rest = SkeletonMotion(
        skel.fps,
        skel.joint_names,
        skel.parents,
        skel.offsets,
        np.tile([1.0, 0.0, 0.0, 0.0], (1, len(skel.joint_names), 1)),
        np.zeros((1, 3)),
    )
    rest_pos, rest_rot = rest.world_transforms()
    return HumanKeypoints(
        skel.name or name,
        skel.fps,
        "clamp",
        names,
        pos[:, index],
        rot[:, index],
        rest_pos[0, index],
        rest_rot[0, index],
    )
