"""Whole-body tracking reward: BeyondMimic's terms, as one table (``reward_terms.py``).

Tracking terms are ``w exp(-s e)`` with ``s = 1 / std²`` of BeyondMimic's stds; penalties
are ``w · value`` with ``w <= 0``:

=================  ====  ======  ==============================================================
term               w     s       error
=================  ====  ======  ==============================================================
``anchor_pos``     0.5   11.1    |p*_a − p_a|², the anchor's world position (std 0.3 m)
``anchor_ori``     0.5   6.25    angle(q*_a, q_a)², the anchor's world orientation (std 0.4)
``body_pos``       1.0   11.1    mean over tracked bodies of |p*'_b − p_b|², the reference
                                 re-anchored (``frames.reanchored_reference``) (std 0.3 m)
``body_ori``       1.0   6.25    mean angle(q*'_b, q_b)², likewise (std 0.4 rad)
``body_lin_vel``   1.0   1.0     mean |v*_b − v_b|², world (std 1 m/s)
``body_ang_vel``   1.0   0.101   mean |ω*_b − ω_b|², world (std 3.14 rad/s)
``action_rate``    −0.1  —       |a_t − a_{t−1}|² of the raw actions
``joint_limit``    −10   —       Σ_d of how far q_d is outside its joint range (rad)
``undesired_contacts`` −0.1  —   number of bodies outside ``allowed_contacts`` on the floor
=================  ====  ======  ==============================================================

The best per-step reward is the sum of the tracking weights (5.0 shipped).
"""

from __future__ import annotations

import torch

from mjmimic.envs.reward_terms import Errors, RewardTerm
from mjmimic.rotations import quat_diff_angle

TERMS = (
    RewardTerm("anchor_pos", lambda e: e["anchor_pos"], 0.5, 1 / 0.3**2, "anchor position"),
    RewardTerm("anchor_ori", lambda e: e["anchor_ori"], 0.5, 1 / 0.4**2, "anchor orientation"),
    RewardTerm("body_pos", lambda e: e["body_pos"], 1.0, 1 / 0.3**2, "body position"),
    RewardTerm("body_ori", lambda e: e["body_ori"], 1.0, 1 / 0.4**2, "body orientation"),
    RewardTerm("body_lin_vel", lambda e: e["body_lin_vel"], 1.0, 1.0, "body linear velocity"),
    RewardTerm(
        "body_ang_vel", lambda e: e["body_ang_vel"], 1.0, 1 / 3.14**2, "body angular velocity"
    ),
    RewardTerm("action_rate", lambda e: e["action_rate"], -0.1, 0.0, "action rate", penalty=True),
    RewardTerm("joint_limit", lambda e: e["joint_limit"], -10.0, 0.0, "joint limit", penalty=True),
    RewardTerm(
        "undesired_contacts",
        lambda e: e["undesired_contacts"],
        -0.1,
        0.0,
        "undesired contact",
        penalty=True,
    ),
)


def tracking_errors(
    *,
    robot_pos: torch.Tensor,
    robot_quat: torch.Tensor,
    robot_lin_vel: torch.Tensor,
    robot_ang_vel: torch.Tensor,
    ref_pos: torch.Tensor,
    ref_quat: torch.Tensor,
    ref_lin_vel: torch.Tensor,
    ref_ang_vel: torch.Tensor,
    reanchored_pos: torch.Tensor,
    reanchored_quat: torch.Tensor,
    anchor: int,
    tracked: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """The tracking terms' errors (N,) each; all poses world (N, B, ·)."""
    t = tracked
    k = t.numel()
    return {
        "anchor_pos": ((ref_pos[:, anchor] - robot_pos[:, anchor]) ** 2).sum(-1),
        "anchor_ori": quat_diff_angle(ref_quat[:, anchor], robot_quat[:, anchor]) ** 2,
        "body_pos": ((reanchored_pos[:, t] - robot_pos[:, t]) ** 2).sum(-1).sum(-1) / k,
        "body_ori": (quat_diff_angle(reanchored_quat[:, t], robot_quat[:, t]) ** 2).mean(-1),
        "body_lin_vel": ((ref_lin_vel[:, t] - robot_lin_vel[:, t]) ** 2).sum(-1).mean(-1),
        "body_ang_vel": ((ref_ang_vel[:, t] - robot_ang_vel[:, t]) ** 2).sum(-1).mean(-1),
    }


def penalties(
    *,
    action: torch.Tensor,
    last_action: torch.Tensor,
    dof_pos: torch.Tensor,
    dof_low: torch.Tensor,
    dof_high: torch.Tensor,
    ground_contact: torch.Tensor,
    allowed_contacts: torch.Tensor,
) -> Errors:
    """The penalty terms' values (N,) each."""
    below = (dof_low - dof_pos).clamp_min(0.0)
    above = (dof_pos - dof_high).clamp_min(0.0)
    return {
        "action_rate": ((action - last_action) ** 2).sum(-1),
        "joint_limit": (below + above).sum(-1),
        "undesired_contacts": (ground_contact & ~allowed_contacts).sum(-1).to(action.dtype),
    }
