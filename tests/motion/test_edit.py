"""Clip edits: trimming keeps the right frames, resampling interpolates (not relabels)."""

from __future__ import annotations

import numpy as np
import pytest

from mjmimic.errors import MotionError
from mjmimic.motion import edit
from mjmimic.motion.motion import Motion


def _linear(n: int = 31, fps: float = 30.0) -> Motion:
    """Root and DoFs linear in time, heading turning at 1 rad/s."""
    t = np.arange(n) / fps
    yaw = t
    rot = np.stack([np.cos(yaw / 2), 0 * t, 0 * t, np.sin(yaw / 2)], 1)
    pos = np.stack([t, 2 * t, 0.9 + 0 * t], 1)
    return Motion(fps, "wrap", pos, rot, np.stack([t, -t], 1), ["a", "b"], name="lin")


def test_trim_by_frames_and_time():
    m = _linear()
    assert edit.trim_frames(m, 0, 10).num_frames == 10
    tail = edit.trim_frames(m, -5, m.num_frames)
    np.testing.assert_array_equal(tail.root_pos, m.root_pos[-5:])
    part = edit.trim_time(m, 0.2, 0.5)
    assert part.num_frames == 10 and part.duration == pytest.approx(0.3)
    np.testing.assert_allclose(part.root_pos[0, 0], 0.2)
    with pytest.raises(MotionError, match=r"lin: frames 3:4 keep 1 of 31 frames"):
        edit.trim_frames(m, 3, 4)


def test_resample_interpolates_over_the_same_duration():
    m = _linear()
    fast = edit.resample(m, 60.0)
    assert fast.fps == 60.0 and fast.num_frames == 61 and fast.duration == pytest.approx(1.0)
    t = np.arange(61) / 60.0
    np.testing.assert_allclose(fast.root_pos[:, 0], t, atol=1e-12)
    np.testing.assert_allclose(fast.dof_pos[:, 1], -t, atol=1e-12)
    # Slerp: the heading at the new in-between frames is exactly the in-between angle.
    yaw = 2 * np.arctan2(fast.root_rot[:, 3], fast.root_rot[:, 0])
    np.testing.assert_allclose(yaw, t, atol=1e-9)
    slow = edit.resample(m, 7.0)  # 1 s is 7 whole frames
    assert slow.num_frames == 8
    np.testing.assert_allclose(slow.root_pos[-1], m.root_pos[-1])  # wrap: cycle end kept
    assert m.fps == 30.0 and m.num_frames == 31  # input untouched
    with pytest.raises(MotionError, match=r"fps must be a positive number"):
        edit.resample(m, 0.0)


def test_set_loop():
    m = _linear()
    assert edit.set_loop(m, "clamp").loop_mode == "clamp" and m.loop_mode == "wrap"
    with pytest.raises(MotionError, match=r"loop mode must be 'wrap' or 'clamp'"):
        edit.set_loop(m, "bounce")
