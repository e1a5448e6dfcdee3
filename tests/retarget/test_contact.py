from __future__ import annotations

import numpy as np
import pytest

from mjmimic.retarget import contact


def test_leg_length_is_pose_independent() -> None:
    pelvis, knee, foot = np.zeros(3), np.array([0.0, 0.1, -0.4]), np.array([0.0, 0.1, -0.8])
    straight = contact.leg_length(pelvis, knee, foot)
    assert straight == pytest.approx(np.hypot(0.1, 0.4) + 0.4)
    bent = contact.leg_length(pelvis, knee, knee + np.array([-0.4, 0.0, 0.0]))
    assert bent == pytest.approx(straight)


def test_scaling_puts_the_floor_under_the_robot() -> None:
    scale = 0.6
    pos = np.array([[1.0, 2.0, 0.06], [0.0, 0.0, 0.9]])
    out = contact.scale_positions(pos, scale, source_floor=0.06, robot_floor=0.04)
    assert out[0] == pytest.approx([scale, 2 * scale, 0.04])  # the ankle lands on the floor
    assert out[1, 2] == pytest.approx(0.04 + 0.84 * scale)


def test_widen_moves_along_the_horizontal_left_axis() -> None:
    points = np.zeros((2, 3))
    left = np.array([[0.0, 2.0, 1.0], [1.0, 0.0, 0.0]])
    expected = np.array([[0, 0.05, 0], [0.05, 0, 0]])
    assert contact.widen(points, left, 0.05) == pytest.approx(expected)


def test_standing_height_ignores_a_few_low_frames() -> None:
    feet = np.full((100, 2), 0.2)
    feet[:, 0] = 0.05
    feet[3, 0] = -0.3  # one glitch
    assert contact.standing_foot_height(feet) == pytest.approx(0.05)


def _walk(fps: float = 30.0) -> np.ndarray:
    """A foot: still for 10 frames, swings 0.3 m forward in 6 frames, still for 10."""
    x = np.r_[np.zeros(10), np.linspace(0.05, 0.3, 6), np.full(10, 0.3)]
    z = np.r_[np.full(10, 0.04), 0.04 + 0.1 * np.sin(np.linspace(0.3, 2.8, 6)), np.full(10, 0.04)]
    noise = np.random.default_rng(0).normal(0, 0.002, (26, 2))
    return np.c_[x + noise[:, 0], noise[:, 1], z]


def test_stance_is_low_and_slow() -> None:
    stance = contact.detect_stance(_walk(), 30.0, standing_z=0.04)
    assert stance[:9].all() and stance[18:].all()
    assert not stance[11:15].any()
    assert contact.stance_segments(stance)[0][0] == 0


def test_short_stances_are_dropped() -> None:
    stance = np.array([1, 1, 0, 0, 1, 1, 1, 1, 0], dtype=bool)
    foot = np.zeros((9, 3))
    kept = contact.detect_stance(foot, 30.0, 0.0, min_frames=3)
    assert kept.all()  # a still foot on the floor is in stance throughout
    assert contact.stance_segments(stance) == [(0, 2), (4, 8)]


def test_pinned_foot_does_not_slide_or_sink() -> None:
    foot = _walk()
    stance = contact.detect_stance(foot, 30.0, standing_z=0.04)
    pinned, weight = contact.pin_stance(foot, stance, standing_z=0.04)
    for start, stop in contact.stance_segments(stance):
        assert np.ptp(pinned[start:stop], axis=0) == pytest.approx(np.zeros(3))
        assert pinned[start, 2] == 0.04
    assert (pinned[~stance] == foot[~stance]).all()
    assert (weight == stance).all()


def test_pins_blend_in_and_out() -> None:
    foot = np.c_[np.arange(10.0), np.zeros(10), np.full(10, 0.1)]
    stance = np.zeros(10, dtype=bool)
    stance[4:6] = True  # pinned at x = 4.5
    pinned, weight = contact.pin_stance(foot, stance, standing_z=0.0, ramp=2)
    assert weight == pytest.approx([0, 0, 1 / 3, 2 / 3, 1, 1, 2 / 3, 1 / 3, 0, 0])
    assert pinned[3, 0] == pytest.approx(3 + 2 / 3 * 1.5)
    assert pinned[3, 2] == pytest.approx(0.1 / 3)
    assert (pinned[[0, 1, 8, 9]] == foot[[0, 1, 8, 9]]).all()


def test_ground_shift() -> None:
    lowest = np.array([-0.02, 0.03, 0.03, -0.01])
    in_stance = np.array([False, True, False, True])
    assert contact.ground_shift(lowest, in_stance) == pytest.approx([0.02, -0.03, 0.0, 0.01])
