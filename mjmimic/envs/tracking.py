"""Tracking errors of a simulated character against its reference, per body and per joint.

Pure functions on plain batched tensors; a task gathers the state and calls them in test
mode (``set_tracking(True)``). Means hide the part that matters (a kick the policy never
makes barely moves a mean over five key bodies and a whole episode), so the per-body and
per-joint errors come out as well, for ``training/tracking_report.py`` to bin over clip
time.
"""

from __future__ import annotations

import torch

from mjmimic.rotations import quat_diff_angle


def tracking_errors(
    *,
    char_root_pos: torch.Tensor,
    char_key_pos: torch.Tensor,
    char_joint_rot: torch.Tensor,
    ref_root_pos: torch.Tensor,
    ref_key_pos: torch.Tensor,
    ref_joint_rot: torch.Tensor,
    moving_joints: torch.Tensor,
    clip: torch.Tensor,
    motion_time: torch.Tensor,
    clip_duration: torch.Tensor,
    clip_wraps: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """Errors of N characters against their reference frames.

    char_root_pos/ref_root_pos (N, 3) world; char_key_pos/ref_key_pos (N, K, 3) world
    positions of the key bodies; char_joint_rot/ref_joint_rot (N, B-1, 4) local joint
    rotations (wxyz); moving_joints (B-1,) bool, False for fixed joints (left out).
    clip (N,) long: each env's reference clip; motion_time (N,) s: the motion time of the
    reference frame compared; clip_duration (N,) s and clip_wraps (N,) bool (looping) of
    that clip.

    Returns, per env:

    * ``body_pos_err`` (N, K) m: each key body's position relative to its character's
      root (world axes), against the same for the reference;
    * ``joint_err`` (N, J) rad: geodesic rotation error of each moving joint;
    * ``root_pos_err`` (N,) m: root position error (world);
    * ``key_pos_err`` (N,) m: mean of ``body_pos_err`` over key bodies (0 without any);
    * ``joint_rot_err`` (N,) rad: mean of ``joint_err`` over moving joints;
    * ``clip`` (N,) long and ``clip_time`` (N,) s: the clip and the time in it of the
      reference frame compared (``clip_time`` below), to bin errors by.
    """
    joint_err = quat_diff_angle(char_joint_rot, ref_joint_rot)[:, moving_joints]
    key_rel = char_key_pos - char_root_pos[:, None]
    ref_key_rel = ref_key_pos - ref_root_pos[:, None]
    body_pos_err = (key_rel - ref_key_rel).norm(dim=-1)
    n = char_root_pos.shape[0]
    zeros = torch.zeros(n, dtype=char_root_pos.dtype, device=char_root_pos.device)
    return {
        "body_pos_err": body_pos_err,
        "joint_err": joint_err,
        "root_pos_err": (char_root_pos - ref_root_pos).norm(dim=-1),
        "key_pos_err": body_pos_err.mean(-1) if body_pos_err.shape[-1] else zeros,
        "joint_rot_err": joint_err.mean(-1) if joint_err.shape[-1] else zeros,
        "clip": clip.clone(),
        "clip_time": clip_time(motion_time, clip_duration, clip_wraps),
    }


def clip_time(
    motion_time: torch.Tensor, duration: torch.Tensor, wraps: torch.Tensor
) -> torch.Tensor:
    """The time within its clip of the reference frame at ``motion_time`` (N,) seconds:
    modulo ``duration`` for looping clips (``wraps`` True), clamped to [0, duration]
    otherwise (the motion library's lookup rule)."""
    return torch.where(
        wraps, torch.remainder(motion_time, duration), motion_time.clamp(min=0.0).minimum(duration)
    )
