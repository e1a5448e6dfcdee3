"""When a DeepMimic episode ends, and why (``DoneFlag`` per env).

Checked in this order, a later match overriding an earlier one (MimicKit's priority):

1. ``TIME`` — the episode ran ``episode_length`` seconds;
2. ``SUCC`` — a non-looping clip reached its end;
3. ``FAIL`` — only with ``enable_early_termination`` and never on an episode's first
   step (time 0), when any of:

   * a body that is **not** in ``contact_bodies`` touches the ground. As in MimicKit an
     empty ``contact_bodies`` list switches this check off (roll / crawl / get-up clips);
   * ``pose_termination`` and some body drifted more than ``pose_termination_dist`` from
     the reference. Positions are compared relative to each character's root in that
     root's full local frame when not ``global_obs``; relative to the root in world axes
     when ``global_obs`` but not ``track_root``; absolute (root included) with
     ``track_root``;
   * ``termination_height`` is set and the root is lower than it (a MimicKit G1 key);
   * ``key_body_termination_dist`` is set (mjmimic) and some key body, relative to its
     root, is further than that from the reference's (relative to its root; both in
     their own root frame when not ``global_obs``). Tighter than ``pose_termination``'s
     1 m, it is what stops a policy from standing through a kick: BeyondMimic ends
     episodes on end-effector errors for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mjmimic.envs.done import DoneFlag
from mjmimic.envs.falls import fell
from mjmimic.rotations import quat_to_matrix


@dataclass(frozen=True)
class TerminationSettings:
    enable_early_termination: bool
    pose_termination: bool = False
    pose_termination_dist: float = 1.0  # m
    global_obs: bool = True
    track_root: bool = False  # enable_tar_obs and global_obs
    termination_height: float | None = None  # m; None = no root height check
    key_body_termination_dist: float | None = None  # m; None = no key-body check


CLOCK_TOLERANCE = 1e-3  # s


def compute_done(
    *,
    time: torch.Tensor,
    episode_length: float | torch.Tensor,
    motion_time: torch.Tensor,
    motion_duration: torch.Tensor,
    motion_wraps: torch.Tensor,
    ground_contact: torch.Tensor,
    contact_body_mask: torch.Tensor,
    char_body_pos: torch.Tensor,
    char_root_rot: torch.Tensor,
    ref_body_pos: torch.Tensor,
    ref_root_rot: torch.Tensor,
    cfg: TerminationSettings,
    key_ids: torch.Tensor | None = None,
) -> torch.Tensor:
    """Done flags (N,) int64 with ``DoneFlag`` values.

    time (N,) seconds since the episode started; episode_length seconds (float or (N,));
    motion_time (N,) time in the clip; motion_duration (N,) clip length; motion_wraps (N,)
    bool, True for looping clips (they never succeed); ground_contact (N, B) bool, body b
    touches the ground; contact_body_mask (B,) bool, bodies allowed to touch it;
    char_body_pos/ref_body_pos (N, B, 3) world positions of all bodies (index 0 = root);
    char_root_rot/ref_root_rot (N, 4); key_ids (K,) the key bodies' indices (the
    key-body check needs them).
    """
    done = torch.full_like(time, int(DoneFlag.NULL), dtype=torch.long)
    # The clocks add dt each step in float32, and k * dt summed can fall short of k * dt
    # (100 steps of 1/30 s: 3.3333316 < 3.3333333; 4000 of 5 ms: 3.5e-4 s short), which
    # played one step past a clip's end; the tolerance is below a step down to 1 kHz.
    done.masked_fill_(time >= episode_length - CLOCK_TOLERANCE, int(DoneFlag.TIME))
    clip_over = motion_time >= motion_duration - CLOCK_TOLERANCE
    done.masked_fill_(clip_over & ~motion_wraps, int(DoneFlag.SUCC))
    if not cfg.enable_early_termination:
        return done

    failed = fell(ground_contact, contact_body_mask, char_body_pos[:, 0, 2], cfg.termination_height)
    if cfg.pose_termination:
        failed = failed | _pose_failed(
            char_body_pos, char_root_rot, ref_body_pos, ref_root_rot, cfg
        )
    if cfg.key_body_termination_dist is not None and key_ids is not None and key_ids.numel():
        rel = _root_relative(char_body_pos, char_root_rot, key_ids, cfg.global_obs)
        ref_rel = _root_relative(ref_body_pos, ref_root_rot, key_ids, cfg.global_obs)
        dist_sq = ((rel - ref_rel) ** 2).sum(-1).amax(-1)
        failed = failed | (dist_sq > cfg.key_body_termination_dist**2)
    done.masked_fill_(failed & (time > 0), int(DoneFlag.FAIL))
    return done


def _pose_failed(
    body_pos: torch.Tensor,
    root_rot: torch.Tensor,
    ref_body_pos: torch.Tensor,
    ref_root_rot: torch.Tensor,
    cfg: TerminationSettings,
) -> torch.Tensor:
    if cfg.track_root:
        # Absolute positions of every body; the root row is MimicKit's root distance check.
        diff = ref_body_pos - body_pos
    else:
        rel = _root_relative(body_pos, root_rot, _NON_ROOT, cfg.global_obs)
        ref_rel = _root_relative(ref_body_pos, ref_root_rot, _NON_ROOT, cfg.global_obs)
        diff = ref_rel - rel
    dist_sq = (diff * diff).sum(-1).amax(-1)
    return dist_sq > cfg.pose_termination_dist * cfg.pose_termination_dist


_NON_ROOT = slice(1, None)


def _root_relative(
    body_pos: torch.Tensor, root_rot: torch.Tensor, ids: torch.Tensor | slice, global_obs: bool
) -> torch.Tensor:
    """Positions of bodies ``ids`` relative to the root: world axes, or the root's own
    frame when not ``global_obs`` (as the observation sees them)."""
    rel = body_pos[:, ids] - body_pos[:, :1]
    # row vector @ R == R^T v: world -> root frame
    return rel if global_obs else rel @ quat_to_matrix(root_rot)
