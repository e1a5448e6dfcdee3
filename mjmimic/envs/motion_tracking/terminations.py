"""When a tracking episode ends (``DoneFlag`` per env): BeyondMimic's rules.

1. ``TIME`` after ``episode_length``; ``SUCC`` when a non-looping clip reaches its end;
2. ``FAIL`` (with ``enable_early_termination``, never at time 0) when any of:

   * the anchor's height differs from the reference anchor's by more than
     ``anchor_height_threshold`` (m; height only, so drifting sideways is a reward matter,
     not a failure);
   * the anchor's tilt differs: the z components of gravity seen from the robot's and the
     reference's anchor differ by more than ``anchor_ori_threshold`` (0.8 ≈ 37° of tilt
     when upright);
   * an end effector's height differs from the re-anchored reference's by more than
     ``end_effector_height_threshold`` (m): BeyondMimic's rule that stops a policy from
     standing through a kick or a jump instead of doing it;
   * the character fell (``falls.fell``: a body outside ``contact_bodies`` on the floor, or
     the root below ``termination_height``); empty ``contact_bodies`` and no height turn
     this off, as BeyondMimic has neither.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mjmimic.envs.deepmimic.terminations import CLOCK_TOLERANCE
from mjmimic.envs.done import DoneFlag
from mjmimic.envs.falls import fell
from mjmimic.envs.motion_tracking.frames import projected_gravity


@dataclass(frozen=True)
class TrackingTerminationSettings:
    enable_early_termination: bool
    anchor_height_threshold: float | None = 0.25
    anchor_ori_threshold: float | None = 0.8
    end_effector_height_threshold: float | None = 0.25
    termination_height: float | None = None


def compute_tracking_done(
    *,
    time: torch.Tensor,
    episode_length: float,
    motion_time: torch.Tensor,
    motion_duration: torch.Tensor,
    motion_wraps: torch.Tensor,
    robot_pos: torch.Tensor,
    robot_quat: torch.Tensor,
    ref_pos: torch.Tensor,
    ref_quat: torch.Tensor,
    reanchored_pos: torch.Tensor,
    anchor: int,
    end_effectors: torch.Tensor,
    ground_contact: torch.Tensor,
    contact_body_mask: torch.Tensor,
    cfg: TrackingTerminationSettings,
) -> torch.Tensor:
    """Done flags (N,) int64. Poses are world (N, B, ·); ``end_effectors`` (E,) body ids."""
    done = torch.full_like(time, int(DoneFlag.NULL), dtype=torch.long)
    done.masked_fill_(time >= episode_length - CLOCK_TOLERANCE, int(DoneFlag.TIME))
    clip_over = motion_time >= motion_duration - CLOCK_TOLERANCE
    done.masked_fill_(clip_over & ~motion_wraps, int(DoneFlag.SUCC))
    if not cfg.enable_early_termination:
        return done
    failed = fell(ground_contact, contact_body_mask, robot_pos[:, 0, 2], cfg.termination_height)
    if cfg.anchor_height_threshold is not None:
        dz = (ref_pos[:, anchor, 2] - robot_pos[:, anchor, 2]).abs()
        failed = failed | (dz > cfg.anchor_height_threshold)
    if cfg.anchor_ori_threshold is not None:
        gz = (
            projected_gravity(ref_quat[:, anchor])[:, 2]
            - projected_gravity(robot_quat[:, anchor])[:, 2]
        )
        failed = failed | (gz.abs() > cfg.anchor_ori_threshold)
    if cfg.end_effector_height_threshold is not None and end_effectors.numel():
        dz = (reanchored_pos[:, end_effectors, 2] - robot_pos[:, end_effectors, 2]).abs()
        failed = failed | (dz > cfg.end_effector_height_threshold).any(-1)
    done.masked_fill_(failed & (time > 0), int(DoneFlag.FAIL))
    return done
