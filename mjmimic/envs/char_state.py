"""The simulated or reference character's state as plain batched tensors.

Every task of the character layer hands this to its pure observation, reward and
termination functions: the class gathers state, the function does the formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(kw_only=True)
class CharState:
    """One character's state, batched over N envs (quaternions wxyz, world frame z-up).

    For target frames every tensor has an extra step axis after N (``root_pos (N, S, 3)``)
    and only root_pos, root_rot, joint_rot and key_pos are used.
    """

    root_pos: torch.Tensor  # (N, 3) world
    root_rot: torch.Tensor  # (N, 4) world
    joint_rot: torch.Tensor  # (N, B-1, 4) local rotation of every non-root body (fixed: identity)
    key_pos: torch.Tensor  # (N, K, 3) world positions of the key bodies
    root_vel: torch.Tensor | None = None  # (N, 3) world
    root_ang_vel: torch.Tensor | None = None  # (N, 3) world
    dof_vel: torch.Tensor | None = None  # (N, D)
    body_pos: torch.Tensor | None = None  # (N, B, 3) world, all bodies (pose termination)
