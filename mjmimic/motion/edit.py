"""Clip edits behind ``mjmimic motion trim|resample|set-loop``, and the interpolation they
share with importers that resample (``formats/deepmimic_txt.py``).

Every edit returns a new ``Motion``; the input is never changed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from mjmimic.errors import MotionError
from mjmimic.motion.motion import LOOP_MODES, Motion
from mjmimic.rotations import quat_slerp


def trim_frames(motion: Motion, start: int, stop: int) -> Motion:
    """Frames ``start .. stop - 1`` (Python slice rules, negative counts from the end)."""
    rows = range(motion.num_frames)[start:stop]
    if len(rows) < 2:
        raise MotionError(
            f"{motion.name}: frames {start}:{stop} keep {len(rows)} of {motion.num_frames} "
            "frames; a motion needs at least 2"
        )
    sl = slice(rows.start, rows.stop)
    return _with(motion, motion.root_pos[sl], motion.root_rot[sl], motion.dof_pos[sl])


def trim_time(motion: Motion, start: float, stop: float) -> Motion:
    """The frames whose times lie in ``[start, stop]`` seconds (to the nearest frame)."""
    first = round(max(start, 0.0) * motion.fps)
    last = round(min(stop, motion.duration) * motion.fps)
    return trim_frames(motion, first, last + 1)


def resample(motion: Motion, fps: float) -> Motion:
    """The clip sampled at ``fps``: positions and DoFs lerped, the root rotation slerped,
    over the same duration. The last frame stays the clip's last pose (for wrap clips the
    cycle end), less than half a new frame from ``(T' - 1) / fps`` when the duration is
    not a whole number of new frames."""
    if not np.isfinite(fps) or fps <= 0:
        raise MotionError(f"{motion.name}: fps must be a positive number, found {fps}")
    times = np.arange(motion.num_frames) / motion.fps
    count = max(round(motion.duration * fps) + 1, 2)
    new_times = np.minimum(np.arange(count) / fps, times[-1])
    new_times[-1] = times[-1]
    return dataclasses.replace(
        _with(
            motion,
            lerp_at(times, motion.root_pos, new_times),
            slerp_at(times, motion.root_rot, new_times),
            lerp_at(times, motion.dof_pos, new_times),
        ),
        fps=float(fps),
    )


def set_loop(motion: Motion, loop_mode: str) -> Motion:
    if loop_mode not in LOOP_MODES:
        raise MotionError(f"loop mode must be 'wrap' or 'clamp', found {loop_mode!r}")
    return dataclasses.replace(motion, loop_mode=loop_mode)


def snap_fps(fps: float) -> float:
    """Round a frame rate read as 1 / dt to the integer it was meant to be (files print dt
    rounded: 0.008333 s is 120 fps), when within 0.02 %."""
    return float(round(fps)) if abs(fps - round(fps)) <= 2e-4 * fps else fps


def lerp_at(times: np.ndarray, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``values`` (T, ...) sampled at ``times`` (increasing), linearly interpolated at ``t``."""
    i, a = _segments(times, t)
    a = a.reshape(-1, *([1] * (values.ndim - 1)))
    return values[i] * (1.0 - a) + values[i + 1] * a


def slerp_at(times: np.ndarray, quats: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Quaternions (T, 4) sampled at ``times``, slerped at ``t``."""
    i, a = _segments(times, t)
    q = quat_slerp(torch.from_numpy(quats[i]), torch.from_numpy(quats[i + 1]), torch.from_numpy(a))
    return q.numpy()


def _segments(times: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
    alpha = np.clip((t - times[i]) / (times[i + 1] - times[i]), 0.0, 1.0)
    return i, alpha


def _with(motion: Motion, root_pos, root_rot, dof_pos) -> Motion:
    return dataclasses.replace(
        motion, root_pos=root_pos.copy(), root_rot=root_rot.copy(), dof_pos=dof_pos.copy()
    )
