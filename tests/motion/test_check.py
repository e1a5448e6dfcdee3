"""``motion check``: each problem injected into a clean clip is found, and named."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mjmimic.motion import check
from mjmimic.motion.check import check_motion
from mjmimic.motion.motion import Motion
from mjmimic.robots.model import RobotModel


@pytest.fixture(scope="module")
def g1(shared_data) -> RobotModel:
    return RobotModel.from_file(shared_data / "robots/unitree_g1/g1.xml")


@pytest.fixture(scope="module")
def clean(g1) -> Motion:
    """Two seconds at 50 fps: walking forward at 0.5 m/s, turned 2 rad, joints swaying
    inside their limits, the lowest point on the floor."""
    n = 100
    t = np.arange(n)[:, None] / 50.0
    rest = np.clip(0.0, g1.dof_low + 0.1, g1.dof_high - 0.1)
    dof = rest + 0.05 * np.sin(2 * np.pi * t + np.arange(g1.num_dofs))
    yaw = 2.0
    root_rot = np.tile([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)], (n, 1))
    root_pos = np.concatenate([0.5 * t * np.cos(yaw), 0.5 * t * np.sin(yaw), 0.8 + 0 * t], 1)
    root_pos[:, 2] -= check.lowest_points(root_pos, root_rot, dof, g1).min()
    return Motion(50.0, "clamp", root_pos, root_rot, dof, list(g1.dof_names), name="clean")


def _codes(findings, severity=None):
    return {f.code for f in findings if severity is None or f.severity == severity}


def _with(m: Motion, **changes) -> Motion:
    return dataclasses.replace(m, **changes)


def test_clean_clip_has_no_errors_or_warnings(clean, g1):
    findings = check_motion(clean, g1)
    assert _codes(findings) == {"root_height"}
    assert _codes(findings, "info") == {"root_height"}


def test_dof_names_and_count_mismatch_list_both_sides(clean, g1):
    names = list(clean.joint_names)
    names[3] = "left_knee"
    (f,) = check.check_dofs(_with(clean, joint_names=names), g1)
    assert f.severity == "error" and "not in the robot: left_knee" in f.message
    assert "missing from the clip: left_knee_joint" in f.message
    assert f"[clip: {', '.join(names)}] [robot: {', '.join(g1.dof_names)}]" in f.message
    fewer = _with(clean, dof_pos=clean.dof_pos[:, :23], joint_names=None)
    (f,) = check.check_dofs(fewer, g1)
    assert f.code == "dof_count" and "23 DoFs" in f.message and "robot has 29" in f.message
    assert "left_hip_pitch_joint" in f.message
    assert "dof_count" in _codes(check_motion(fewer, g1), "error")


def test_joint_limit_violations_name_joint_amount_and_share(clean, g1):
    dof = clean.dof_pos.copy()
    knee = g1.dof_names.index("left_knee_joint")
    dof[:20, knee] = g1.dof_high[knee] + 0.3
    (f,) = check.check_joint_limits(dof, g1)
    assert f.severity == "warning"
    assert "left_knee_joint by up to 0.300 rad (17.2 deg) in 20% of frames" in f.message
    assert f.frames[0] == 0


def test_floor_penetration_and_floating(clean, g1):
    sunk = clean.root_pos - np.array([0, 0, 0.1])
    (f,) = check.check_floor(sunk, clean.root_rot, clean.dof_pos, g1)
    assert f.code == "floor_penetration" and "0.100 m below the floor in 100%" in f.message
    high = clean.root_pos + np.array([0, 0, 0.2])
    (f,) = check.check_floor(high, clean.root_rot, clean.dof_pos, g1)
    assert f.code == "floating" and "0.200 m" in f.message


def test_velocity_and_acceleration_spikes_give_frames(clean, g1):
    dof = clean.dof_pos.copy()
    dof[40, 5] += 1.0  # one glitch frame
    found = {f.code: f for f in check.check_spikes(clean.root_pos, dof, 50.0, g1.dof_names)}
    assert set(found) == {"dof_speed", "acceleration"}
    assert found["dof_speed"].frames == [39, 40] and g1.dof_names[5] in found["dof_speed"].message
    assert 40 in found["acceleration"].frames
    pos = clean.root_pos.copy()
    pos[60:, 0] += 3.0  # a teleport
    found = {f.code: f for f in check.check_spikes(pos, clean.dof_pos, 50.0, g1.dof_names)}
    assert found["root_speed"].frames == [59]


def test_fps_quaternion_order_and_units(clean, g1):
    assert check.check_fps(50.0) == [] and check.check_fps(0.02)[0].code == "fps"
    xyzw = clean.root_rot[:, [1, 2, 3, 0]]  # stored xyzw, read as wxyz
    (f,) = check.check_quaternion_order(xyzw)
    assert f.severity == "error" and "look like xyzw" in f.message
    assert check.check_quaternion_order(clean.root_rot) == []
    (f,) = check.check_units(_with(clean, root_pos=clean.root_pos * 100))
    assert f.code == "units_length" and "centimetres" in f.message
    (f,) = check.check_units(_with(clean, dof_pos=np.degrees(clean.dof_pos) + 20))
    assert f.code == "units_angle" and f.severity == "error" and "degrees" in f.message
    assert check.check_units(clean) == []
    # Robot-dependent checks are skipped after an error: FK of garbage says nothing.
    assert _codes(check_motion(_with(clean, root_pos=clean.root_pos * 100), g1)) == {
        "units_length",
        "root_height",
    }
