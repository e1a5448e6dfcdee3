"""DeepMimic imitation reward: how closely the simulated character matches the reference.

    r = w_p   exp(-s_p  e_pose)
      + w_v   exp(-s_v  e_vel)
      + w_rp  exp(-s_rp (e_root_pos + 0.1 e_root_rot))
      + w_rv  exp(-s_rv (e_root_vel + 0.1 e_root_ang_vel))
      + w_k   exp(-s_k  e_key_pos)                      (only with key bodies)

with MimicKit's errors:

* ``e_pose = Σ_j w_j θ_j²``, θ_j the angle between simulated and reference local rotation
  of non-root body j; ``e_vel = Σ_d w_d (q̇*_d − q̇_d)²``;
* ``e_root_pos = |p* − p|²`` where x, y count only when tracking the global root
  (``track_root`` = enable_tar_obs and global_obs) and z only with ``root_height_obs``;
* without ``track_root``, root rotation, root velocities and root-relative key positions of
  each character are first expressed in its own heading frame, so walking off in another
  direction than the clip costs nothing;
* ``e_root_rot`` = angle², ``e_root_vel``/``e_root_ang_vel`` = squared norms,
  ``e_key_pos = Σ_k |(x*_k − p*) − (x_k − p)|²``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mjmimic.envs.deepmimic.observations import (
    CharState,
    heading_cos_sin,
    remove_heading,
    yaw_rotate_inverse,
)
from mjmimic.rotations import quat_diff_angle

TERM_NAMES = ("pose", "vel", "root_pose", "root_vel", "key_pos")


@dataclass(frozen=True)
class RewardSettings:
    """Weights and scales of the five terms.

    Defaults are the values every MimicKit DeepMimic config ships with (MimicKit itself has
    no defaults; our config class requires them to be stated).
    """

    pose_w: float = 0.5
    vel_w: float = 0.1
    root_pose_w: float = 0.15
    root_vel_w: float = 0.1
    key_pos_w: float = 0.15
    pose_scale: float = 0.25
    vel_scale: float = 0.01
    root_pose_scale: float = 5.0
    root_vel_scale: float = 1.0
    key_pos_scale: float = 10.0
    track_root: bool = True  # enable_tar_obs and global_obs: x, y and heading count
    track_root_height: bool = True  # root_height_obs: root z counts


def max_reward(cfg: RewardSettings, has_key_bodies: bool = True) -> float:
    """The reward for a perfect match: the sum of the weights (1.0 for the shipped ones).

    Dividing a return by ``max_reward * episode steps`` gives a "normalized return" in [0, 1].
    """
    total = cfg.pose_w + cfg.vel_w + cfg.root_pose_w + cfg.root_vel_w
    return total + (cfg.key_pos_w if has_key_bodies else 0.0)


def compute_deepmimic_reward(
    char: CharState,
    ref: CharState,
    joint_weights: torch.Tensor,
    dof_weights: torch.Tensor,
    cfg: RewardSettings,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Reward (N,) and a dict of per-env tensors (N,) for logging.

    The dict holds the unweighted term values in (0, 1] (``pose``, ``vel``, ``root_pose``,
    ``root_vel``, ``key_pos``; ``key_pos`` only with key bodies) and the raw errors
    (``pose_err``, ``vel_err``, ``root_pos_err``, ``root_rot_err``, ``root_vel_err``,
    ``root_ang_vel_err``, ``key_pos_err``).

    ``char``/``ref`` need root_pos, root_rot, root_vel, root_ang_vel, joint_rot, dof_vel and
    key_pos, all at the same time. ``joint_weights`` (B-1,) weighs each non-root body's
    rotation error, ``dof_weights`` (D,) each DoF velocity error (see joint_weights.py).
    """
    pose_angle = quat_diff_angle(char.joint_rot, ref.joint_rot)
    pose_err = (pose_angle * pose_angle * joint_weights).sum(-1)
    vel_diff = ref.dof_vel - char.dof_vel
    vel_err = (vel_diff * vel_diff * dof_weights).sum(-1)

    root_diff = ref.root_pos - char.root_pos
    if cfg.track_root:
        root_diff = root_diff if cfg.track_root_height else root_diff[:, :2]
        root_pos_err = (root_diff * root_diff).sum(-1)
    elif cfg.track_root_height:
        root_pos_err = root_diff[:, 2] * root_diff[:, 2]
    else:
        root_pos_err = torch.zeros_like(root_diff[:, 0])

    num_keys = char.key_pos.shape[-2]
    sim_vecs = _root_vectors(char)
    ref_vecs = _root_vectors(ref)
    root_rot, ref_root_rot = char.root_rot, ref.root_rot
    if not cfg.track_root:
        sim_vecs = _to_heading_frame(char.root_rot, sim_vecs)
        ref_vecs = _to_heading_frame(ref.root_rot, ref_vecs)
        root_rot = remove_heading(root_rot)
        ref_root_rot = remove_heading(ref_root_rot)
    root_rot_angle = quat_diff_angle(root_rot, ref_root_rot)
    root_rot_err = root_rot_angle * root_rot_angle
    sq = ((ref_vecs - sim_vecs) ** 2).sum(-1)  # (N, 2 + K)
    root_vel_err, root_ang_vel_err = sq[:, 0], sq[:, 1]

    pose_r = torch.exp(-cfg.pose_scale * pose_err)
    vel_r = torch.exp(-cfg.vel_scale * vel_err)
    root_pose_r = torch.exp(-cfg.root_pose_scale * (root_pos_err + 0.1 * root_rot_err))
    root_vel_r = torch.exp(-cfg.root_vel_scale * (root_vel_err + 0.1 * root_ang_vel_err))
    reward = (
        cfg.pose_w * pose_r
        + cfg.vel_w * vel_r
        + cfg.root_pose_w * root_pose_r
        + cfg.root_vel_w * root_vel_r
    )
    terms = {
        "pose": pose_r,
        "vel": vel_r,
        "root_pose": root_pose_r,
        "root_vel": root_vel_r,
        "pose_err": pose_err,
        "vel_err": vel_err,
        "root_pos_err": root_pos_err,
        "root_rot_err": root_rot_err,
        "root_vel_err": root_vel_err,
        "root_ang_vel_err": root_ang_vel_err,
    }
    if num_keys > 0:
        key_pos_err = sq[:, 2:].sum(-1)
        key_pos_r = torch.exp(-cfg.key_pos_scale * key_pos_err)
        reward = reward + cfg.key_pos_w * key_pos_r
        terms["key_pos"] = key_pos_r
        terms["key_pos_err"] = key_pos_err
    return reward, terms


def _root_vectors(c: CharState) -> torch.Tensor:
    """[root vel, root ang vel, key_1 − root, …, key_K − root] as (N, 2 + K, 3)."""
    return torch.cat(
        [
            c.root_vel.unsqueeze(-2),
            c.root_ang_vel.unsqueeze(-2),
            c.key_pos - c.root_pos.unsqueeze(-2),
        ],
        dim=-2,
    )


def _to_heading_frame(root_rot: torch.Tensor, vecs: torch.Tensor) -> torch.Tensor:
    cos, sin = heading_cos_sin(root_rot)
    return yaw_rotate_inverse(cos.unsqueeze(-1), sin.unsqueeze(-1), vecs)
