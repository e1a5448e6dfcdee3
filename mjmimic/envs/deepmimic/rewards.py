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

from dataclasses import dataclass, field

import torch

from mjmimic.envs.char_state import CharState
from mjmimic.envs.heading import heading_cos_sin, remove_heading, yaw_rotate_inverse
from mjmimic.envs.reward_terms import (
    Errors,
    RewardTerm,
    TermWeight,
    active_terms,
    shipped_weights,
    weighted_reward,
)
from mjmimic.envs.reward_terms import max_reward as table_max_reward
from mjmimic.rotations import quat_diff_angle


def pose_error(e: Errors) -> torch.Tensor:
    """Σ_j w_j θ_j²: weighted squared joint rotation angles."""
    return e["pose_err"]


def vel_error(e: Errors) -> torch.Tensor:
    """Σ_d w_d (q̇*_d − q̇_d)²: weighted squared DoF velocity differences."""
    return e["vel_err"]


def root_pose_error(e: Errors) -> torch.Tensor:
    """|p* − p|² + 0.1 angle²: root position (tracked axes) and rotation."""
    return e["root_pos_err"] + 0.1 * e["root_rot_err"]


def root_vel_error(e: Errors) -> torch.Tensor:
    """|v* − v|² + 0.1 |ω* − ω|²: root linear and angular velocity."""
    return e["root_vel_err"] + 0.1 * e["root_ang_vel_err"]


def key_pos_error(e: Errors) -> torch.Tensor:
    """Σ_k |(x*_k − p*) − (x_k − p)|²: key-body positions relative to the root."""
    return e["key_pos_err"]


# The one table of DeepMimic's reward: names, formulas and MimicKit's shipped weights and
# scales. Config keys, logged columns and the best possible reward come from here.
TERMS: tuple[RewardTerm, ...] = (
    RewardTerm("pose", pose_error, weight=0.5, scale=0.25, what="joint rotation"),
    RewardTerm("vel", vel_error, weight=0.1, scale=0.01, what="joint velocity"),
    RewardTerm("root_pose", root_pose_error, 0.15, 5.0, what="root position/rotation"),
    RewardTerm("root_vel", root_vel_error, weight=0.1, scale=1.0, what="root velocity"),
    RewardTerm(
        "key_pos", key_pos_error, 0.15, 10.0, what="key body position", needs_key_bodies=True
    ),
)


@dataclass(frozen=True)
class RewardSettings:
    """Weights and scales per term (default: MimicKit's shipped values) and which root
    axes are tracked."""

    track_root: bool = True  # enable_tar_obs and global_obs: x, y and heading count
    track_root_height: bool = True  # root_height_obs: root z counts
    weights: dict[str, TermWeight] = field(default_factory=lambda: shipped_weights(TERMS))


def max_reward(cfg: RewardSettings, has_key_bodies: bool = True) -> float:
    """The reward for a perfect match: the sum of the active terms' weights (1.0 shipped)."""
    return table_max_reward(active_terms(TERMS, has_key_bodies), cfg.weights)


def compute_deepmimic_reward(
    char: CharState,
    ref: CharState,
    joint_weights: torch.Tensor,
    dof_weights: torch.Tensor,
    cfg: RewardSettings,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Reward (N,) and a dict of per-env tensors (N,) for logging.

    The dict holds the unweighted term values in (0, 1] (one per active term of ``TERMS``;
    ``key_pos`` only with key bodies) and the raw errors (``pose_err``, ``vel_err``,
    ``root_pos_err``, ``root_rot_err``, ``root_vel_err``, ``root_ang_vel_err``,
    ``key_pos_err``).

    ``char``/``ref`` need root_pos, root_rot, root_vel, root_ang_vel, joint_rot, dof_vel and
    key_pos, all at the same time. ``joint_weights`` (B-1,) weighs each non-root body's
    rotation error, ``dof_weights`` (D,) each DoF velocity error (see joint_weights.py).
    """
    errors = deepmimic_errors(char, ref, joint_weights, dof_weights, cfg)
    has_keys = char.key_pos.shape[-2] > 0
    reward, values = weighted_reward(active_terms(TERMS, has_keys), cfg.weights, errors)
    return reward, {**values, **errors}


def deepmimic_errors(
    char: CharState,
    ref: CharState,
    joint_weights: torch.Tensor,
    dof_weights: torch.Tensor,
    cfg: RewardSettings,
) -> dict[str, torch.Tensor]:
    """The raw errors the terms read, computed once (they share the heading rotation)."""
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

    sim_vecs = _root_vectors(char)
    ref_vecs = _root_vectors(ref)
    root_rot, ref_root_rot = char.root_rot, ref.root_rot
    if not cfg.track_root:
        sim_vecs = _to_heading_frame(char.root_rot, sim_vecs)
        ref_vecs = _to_heading_frame(ref.root_rot, ref_vecs)
        root_rot = remove_heading(root_rot)
        ref_root_rot = remove_heading(ref_root_rot)
    root_rot_angle = quat_diff_angle(root_rot, ref_root_rot)
    sq = ((ref_vecs - sim_vecs) ** 2).sum(-1)  # (N, 2 + K)
    errors = {
        "pose_err": pose_err,
        "vel_err": vel_err,
        "root_pos_err": root_pos_err,
        "root_rot_err": root_rot_angle * root_rot_angle,
        "root_vel_err": sq[:, 0],
        "root_ang_vel_err": sq[:, 1],
    }
    if char.key_pos.shape[-2] > 0:
        errors["key_pos_err"] = sq[:, 2:].sum(-1)
    return errors


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
