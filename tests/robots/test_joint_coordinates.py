"""dof_from_joint_rotations inverts Kinematics.joint_rotations; unwrap keeps rotations."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
import torch

from mjmimic.robots.joint_coordinates import dof_from_joint_rotations, unwrap_dof_trajectory
from mjmimic.robots.kinematics import Kinematics
from mjmimic.robots.model import RobotModel
from mjmimic.rotations import quat_diff_angle

# Spherical joints with permuted and negated axes (one a left-handed triple), a ball
# joint, and a hinge about a slanted axis with a ref; no limits (so +-pi).
ODD_AXES = """
<mujoco>
  <compiler angle="radian"/>
  <worldbody>
    <body name="base" pos="0 0 1">
      <freejoint/>
      <geom type="sphere" size=".1"/>
      <body name="a" pos="0 0.1 0">
        <joint name="a_1" axis="0 0 1"/>
        <joint name="a_2" axis="-1 0 0"/>
        <joint name="a_3" axis="0 1 0"/>
        <geom type="capsule" fromto="0 0 0 0 0 -.3" size=".03"/>
        <body name="b" pos="0 0 -0.3">
          <joint name="b_1" axis="0 1 0"/>
          <joint name="b_2" axis="1 0 0"/>
          <joint name="b_3" axis="0 0 1"/>
          <geom type="capsule" fromto="0 0 0 0 0 -.3" size=".03"/>
          <body name="c" pos="0 0 -0.3">
            <joint name="c" type="ball"/>
            <geom type="sphere" size=".03"/>
            <body name="d" pos="0.1 0 0">
              <joint name="d" axis="0.6 0.8 0" ref="0.3"/>
              <geom type="sphere" size=".03"/>
            </body>
          </body>
        </body>
      </body>
    </body>
  </worldbody>
</mujoco>
"""


def _robot(shared_data, name: str) -> RobotModel:
    if name == "odd_axes":
        return RobotModel(mujoco.MjModel.from_xml_string(ODD_AXES), "odd_axes.xml")
    paths = {
        "mimickit_humanoid": "robots/mimickit_humanoid/humanoid.xml",
        "g1": "robots/unitree_g1/g1.xml",
    }
    return RobotModel.from_file(shared_data / paths[name])


def _principal_random_dofs(robot: RobotModel, n: int, rng) -> np.ndarray:
    """Random DoFs whose Euler angles lie in the principal range (unique solution)."""
    dof = rng.uniform(-np.pi + 1e-3, np.pi - 1e-3, size=(n, robot.num_dofs))
    for j in robot.joints:
        if j.kind == "spherical":
            dof[:, j.dof_start + 1] = rng.uniform(-1.5, 1.5, size=n)
        if j.kind == "ball":
            axis = rng.normal(size=(n, 3))
            axis /= np.linalg.norm(axis, axis=1, keepdims=True)
            dof[:, j.dof_start : j.dof_start + 3] = axis * rng.uniform(0, 3.1, size=(n, 1))
    return dof + robot.hinge_qpos0


@pytest.mark.parametrize("name", ["mimickit_humanoid", "g1"])
def test_round_trip_within_limits(shared_data, name):
    """Random poses inside the joint limits come back exactly, including hip flexion past
    90 degrees (the second Euler solution, picked because it is inside the limits)."""
    robot = _robot(shared_data, name)
    kin = Kinematics(robot, dtype=torch.float64)
    rng = np.random.default_rng(1)
    dof = torch.tensor(rng.uniform(robot.dof_low, robot.dof_high, size=(500, robot.num_dofs)))
    back = dof_from_joint_rotations(robot, kin, kin.joint_rotations(dof))
    assert back.dtype == torch.float64 and back.shape == dof.shape
    torch.testing.assert_close(back, dof, atol=1e-9, rtol=0)
    if name == "mimickit_humanoid":
        hip_y = robot.dof_names.index("right_hip_y")
        assert (dof[:, hip_y] < -np.pi / 2).any()  # the round trip covered that branch


@pytest.mark.parametrize("name", ["mimickit_humanoid", "g1", "odd_axes"])
def test_any_pose_gives_the_same_rotations(shared_data, name):
    robot = _robot(shared_data, name)
    kin = Kinematics(robot, dtype=torch.float64)
    rng = np.random.default_rng(2)
    dof = torch.tensor(rng.uniform(-6.0, 6.0, size=(300, robot.num_dofs)))
    quats = kin.joint_rotations(dof)
    back = dof_from_joint_rotations(robot, None, quats)
    assert quat_diff_angle(kin.joint_rotations(back), quats).max() < 1e-9
    assert (back - torch.tensor(robot.hinge_qpos0)).abs().max() <= np.pi + 1e-9


def test_odd_axes_round_trip_exactly():
    robot = RobotModel(mujoco.MjModel.from_xml_string(ODD_AXES), "odd_axes.xml")
    assert [j.kind for j in robot.joints] == ["spherical", "spherical", "ball", "hinge"]
    assert np.linalg.det(robot.joints[1].axes) < 0  # y, x, z: a left-handed triple
    kin = Kinematics(robot, dtype=torch.float64)
    dof = torch.tensor(_principal_random_dofs(robot, 400, np.random.default_rng(3)))
    back = dof_from_joint_rotations(robot, kin, kin.joint_rotations(dof))
    torch.testing.assert_close(back, dof, atol=1e-9, rtol=0)


def test_float32_input_keeps_dtype(shared_data):
    robot = _robot(shared_data, "mimickit_humanoid")
    kin = Kinematics(robot)
    dof = torch.tensor(
        np.random.default_rng(4).uniform(robot.dof_low, robot.dof_high, (50, robot.num_dofs)),
        dtype=torch.float32,
    )
    back = dof_from_joint_rotations(robot, kin, kin.joint_rotations(dof))
    assert back.dtype == torch.float32
    torch.testing.assert_close(back, dof, atol=2e-3, rtol=0)


def test_bad_shape_is_refused(shared_data):
    robot = _robot(shared_data, "g1")
    with pytest.raises(ValueError, match="shape"):
        dof_from_joint_rotations(robot, None, torch.zeros(3, 5, 4))


def test_unwrap_hinge_crossing_pi(shared_data):
    robot = _robot(shared_data, "g1")
    kin = Kinematics(robot, dtype=torch.float64)
    t = np.linspace(0, 1, 50)
    dof = np.zeros((50, robot.num_dofs))
    yaw = robot.dof_names.index("waist_yaw_joint")
    dof[:, yaw] = 2.0 + 2.5 * t  # 2.0 -> 4.5, passes pi; limits are +-2.62
    wrapped = dof_from_joint_rotations(robot, kin, kin.joint_rotations(torch.tensor(dof)))
    assert np.abs(np.diff(wrapped[:, yaw].numpy())).max() > 6.0  # the raw decomposition jumps
    out = unwrap_dof_trajectory(robot, wrapped.numpy())
    assert np.abs(np.diff(out[:, yaw])).max() < 0.1
    # The same rotations; the whole-trajectory 2*pi shift that best fits the limits.
    assert np.allclose(np.cos(out[:, yaw]), np.cos(dof[:, yaw]))
    shift = out[:, yaw] - dof[:, yaw]
    assert np.allclose(shift, 0.0) or np.allclose(shift, -2 * np.pi)


def test_unwrap_shifts_hinge_into_limits(shared_data):
    robot = _robot(shared_data, "mimickit_humanoid")
    knee = robot.dof_names.index("right_knee")
    dof = np.zeros((10, robot.num_dofs))
    dof[:, knee] = np.linspace(0.2, 1.5, 10) - 2 * np.pi  # same rotations, out of [0, 2.79]
    out = unwrap_dof_trajectory(robot, dof)
    np.testing.assert_allclose(out[:, knee], np.linspace(0.2, 1.5, 10), atol=1e-12)
    np.testing.assert_array_equal(np.delete(out, knee, axis=1), 0.0)


def test_unwrap_follows_spherical_through_gimbal_lock(shared_data):
    """A hip flexing from 60 to 130 degrees passes Euler gimbal lock (y = -90 deg): the
    per-frame decomposition switches solution there, the unwrapped one stays smooth."""
    robot = _robot(shared_data, "mimickit_humanoid")
    kin = Kinematics(robot, dtype=torch.float64)
    hx, hy, hz = (robot.dof_names.index(f"right_hip_{a}") for a in "xyz")
    n = 80
    dof = np.zeros((n, robot.num_dofs))
    dof[:, hy] = np.linspace(-1.05, -2.27, n)
    dof[:, hx] = 0.2 * np.sin(np.linspace(0, 3, n))
    dof[:, hz] = 0.3 * np.cos(np.linspace(0, 2, n))
    quats = kin.joint_rotations(torch.tensor(dof))
    out = unwrap_dof_trajectory(robot, dof_from_joint_rotations(robot, kin, quats).numpy())
    assert np.abs(np.diff(out, axis=0)).max() < 0.1
    np.testing.assert_allclose(out, dof, atol=1e-6)
    assert quat_diff_angle(kin.joint_rotations(torch.tensor(out)), quats).max() < 1e-9

    # What scipy alone gives (y in [-90, 90] deg): x and z jump by pi at the lock.
    principal = dof.copy()
    past = dof[:, hy] < -np.pi / 2
    principal[past, hx] = dof[past, hx] + np.pi
    principal[past, hy] = -np.pi - dof[past, hy]
    principal[past, hz] = dof[past, hz] - np.pi
    assert quat_diff_angle(kin.joint_rotations(torch.tensor(principal)), quats).max() < 1e-9
    assert np.abs(np.diff(principal, axis=0)).max() > 3.0
    np.testing.assert_allclose(unwrap_dof_trajectory(robot, principal), dof, atol=1e-9)
    # Starting on the other solution everywhere gives the same answer (limits decide).
    alt = dof.copy()
    alt[:, [hx, hy, hz]] = np.stack([dof[:, hx] + np.pi, np.pi - dof[:, hy], dof[:, hz] - np.pi], 1)
    np.testing.assert_allclose(unwrap_dof_trajectory(robot, alt), dof, atol=1e-9)


def test_unwrap_ball_exp_map_continuity():
    robot = RobotModel(mujoco.MjModel.from_xml_string(ODD_AXES), "odd_axes.xml")
    kin = Kinematics(robot, dtype=torch.float64)
    ball = robot.joints[2]
    sl = slice(ball.dof_start, ball.dof_start + 3)
    n = 40
    axis = np.array([0.0, 0.6, 0.8])
    dof = np.zeros((n, robot.num_dofs)) + robot.hinge_qpos0
    dof[:, sl] = axis * np.linspace(2.8, 3.6, n)[:, None]  # passes angle pi
    per_frame = dof_from_joint_rotations(robot, kin, kin.joint_rotations(torch.tensor(dof)))
    per_frame = per_frame.numpy()
    assert np.abs(np.diff(per_frame[:, sl], axis=0)).max() > 1.0  # exp-map flips at pi
    out = unwrap_dof_trajectory(robot, per_frame)
    np.testing.assert_allclose(out[:, sl], dof[:, sl], atol=1e-9)
