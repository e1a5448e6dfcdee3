"""The CPU MuJoCo engine: state in/out, PD and torque control, scene composition."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest
import torch

from mjmimic.engines import EngineConfig, build_engine
from mjmimic.engines.config import JointGains
from mjmimic.engines.scene import FLOOR_NAME
from mjmimic.errors import AssetError
from mjmimic.robots.model import RobotModel
from mjmimic.rotations import quat_normalize

# One free base with one arm; no gravity so PD steady states are exact.
ARM = """
<mujoco>
  <compiler angle="radian"/>
  <option gravity="0 0 0"/>
  <worldbody>
    <geom name="demo_floor" type="plane" size="3 3 .1"/>
    <light pos="0 0 3"/>
    <body name="base" pos="0 0 2">
      <freejoint/>
      <geom type="box" size=".2 .2 .2" mass="1000"/>
      <body name="arm" pos=".3 0 0">
        <joint name="shoulder" axis="0 1 0" range="-2 2" stiffness="40" damping="4"/>
        <geom type="capsule" fromto="0 0 0 .5 0 0" size=".05" mass="1"/>
      </body>
    </body>
  </worldbody>
  <actuator><motor joint="shoulder" ctrlrange="-7 7"/></actuator>
</mujoco>
"""


@pytest.fixture
def arm_file(tmp_path):
    path = tmp_path / "arm.xml"
    path.write_text(ARM)
    return path


def _teleport(engine, n, height=2.0):
    ids = torch.arange(n)
    rot = torch.zeros(n, 4)
    rot[:, 0] = 1
    pos = torch.zeros(n, 3)
    pos[:, 2] = height
    zeros = torch.zeros(n, 3)
    dof = torch.zeros(n, engine.robot.num_dofs)
    engine.set_state(ids, pos, rot, zeros, zeros, dof, dof)


def test_set_state_round_trip_and_body_poses_match_mujoco(shared_data):
    robot = RobotModel.from_file(shared_data / "robots/unitree_g1/g1.xml")
    cfg = EngineConfig(joint_gains={"*": JointGains(kp=50.0, kd=2.0, effort=80.0)})
    engine = build_engine(cfg, robot, 8)
    g = torch.Generator().manual_seed(0)
    n = 8
    pos = torch.randn(n, 3, generator=g)
    rot = quat_normalize(torch.randn(n, 4, generator=g))
    lin, ang = torch.randn(n, 3, generator=g), torch.randn(n, 3, generator=g)
    dof = torch.rand(n, robot.num_dofs, generator=g) - 0.5
    dvel = torch.randn(n, robot.num_dofs, generator=g)
    engine.set_state(torch.arange(n), pos, rot, lin, ang, dof, dvel)
    for name, expected in [
        ("root_pos", pos),
        ("root_rot", rot),
        ("root_lin_vel", lin),
        ("root_ang_vel", ang),
        ("dof_pos", dof),
        ("dof_vel", dvel),
    ]:
        assert torch.allclose(getattr(engine, name), expected, atol=1e-5), name
    qpos, qvel = engine.physics_state()
    data = mujoco.MjData(engine.model)
    for i in range(n):
        data.qpos[:], data.qvel[:] = qpos[i], qvel[i]
        mujoco.mj_forward(engine.model, data)
        np.testing.assert_allclose(engine.body_pos[i].numpy(), data.xpos[1:], atol=2e-5)
        vel = np.zeros(6)
        mujoco.mj_objectVelocity(engine.model, data, mujoco.mjtObj.mjOBJ_XBODY, 5, vel, 0)
        np.testing.assert_allclose(engine.body_lin_vel[i, 4].numpy(), vel[3:], atol=2e-5)


def test_resetting_some_envs_leaves_the_others_alone(arm_file):
    engine = build_engine(EngineConfig(), RobotModel.from_file(arm_file), 4)
    _teleport(engine, 4)
    engine.step(torch.full((4, 1), 1.0))
    before = engine.dof_pos.clone()
    ids = torch.tensor([1, 3])
    rot = torch.tensor([[1.0, 0, 0, 0]] * 2)
    engine.set_state(
        ids,
        torch.zeros(2, 3),
        rot,
        torch.zeros(2, 3),
        torch.zeros(2, 3),
        torch.full((2, 1), -0.5),
        torch.zeros(2, 1),
    )
    assert torch.equal(engine.dof_pos[[0, 2]], before[[0, 2]])
    assert torch.allclose(engine.dof_pos[[1, 3]], torch.full((2, 1), -0.5))


def test_pd_mode_reaches_its_target_and_gains_follow_precedence(arm_file):
    robot = RobotModel.from_file(arm_file)
    # The MJCF has a motor (no gains) and joint stiffness/damping: those become the PD gains.
    engine = build_engine(EngineConfig(), robot, 2)
    assert engine.pd.sources == ["mjcf joint stiffness/damping"]
    assert engine.pd.kp[0] == 40.0 and engine.pd.kd[0] == 4.0 and engine.pd.effort[0] == 7.0
    # ...and are removed as passive spring/damper so the joint is not driven twice.
    assert engine.model.jnt_stiffness[1] == 0.0 and engine.model.dof_damping[6] == 0.0
    _teleport(engine, 2)
    for _ in range(120):
        engine.step(torch.tensor([[0.1], [-0.1]]))
    assert torch.allclose(engine.dof_pos[:, 0], torch.tensor([0.1, -0.1]), atol=2e-3)
    # Config gains win over the MJCF.
    cfg = EngineConfig(joint_gains={"shoulder": JointGains(kp=5.0, kd=1.0)})
    engine = build_engine(cfg, robot, 1)
    assert engine.pd.sources == ["config"] and engine.pd.kp[0] == 5.0
    assert engine.pd.effort[0] == 7.0  # effort still from the MJCF motor's ctrlrange


def test_effort_limit_clips_pd_and_torque_commands(arm_file):
    robot = RobotModel.from_file(arm_file)
    speeds = []
    for mode, command in [("pos", 2.0), ("torque", 7.0), ("torque", 700.0)]:
        cfg = EngineConfig(control_mode=mode, joint_gains={"shoulder": JointGains(kp=1e5, kd=0.0)})
        engine = build_engine(cfg, robot, 1)
        _teleport(engine, 1)
        engine.step(torch.tensor([[command]]))
        speeds.append(engine.dof_vel[0, 0].item())
    # A huge PD error, a torque at the limit and a torque far beyond it all give the same
    # acceleration: the 7 N·m effort limit.
    assert speeds[0] > 0
    assert math.isclose(speeds[0], speeds[1], rel_tol=1e-3)
    assert math.isclose(speeds[1], speeds[2], rel_tol=1e-6)


def test_scene_replaces_the_robot_files_floor_and_lights(shared_data):
    robot = RobotModel.from_file(shared_data / "robots/booster_k1/K1_22dof.xml")
    cfg = EngineConfig(control_mode="torque")
    engine = build_engine(cfg, robot, 1)
    m = engine.model
    planes = [g for g in range(m.ngeom) if m.geom_type[g] == mujoco.mjtGeom.mjGEOM_PLANE]
    assert [mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_GEOM, g) for g in planes] == [FLOOR_NAME]
    assert m.nlight == 1
    assert m.nu == robot.num_dofs == 22
    assert m.opt.timestep == pytest.approx(1 / 120)
    assert engine.control_dt == pytest.approx(1 / 30)


def test_pos_mode_without_any_gains_is_a_clear_error(shared_data):
    robot = RobotModel.from_file(shared_data / "robots/unitree_g1/g1.xml")
    with pytest.raises(AssetError, match="no PD gains for 29 joint"):
        build_engine(EngineConfig(), robot, 1)


def test_ground_contact_flags_name_the_touching_bodies(shared_data):
    robot = RobotModel.from_file(shared_data / "robots/mimickit_humanoid/humanoid.xml")
    engine = build_engine(EngineConfig(), robot, 2)
    _teleport(engine, 2, height=0.9)
    for _ in range(5):
        engine.step(torch.zeros(2, robot.num_dofs))
    touching = {robot.body_names[b] for b in torch.nonzero(engine.ground_contact[0]).flatten()}
    assert touching == {"right_foot", "left_foot"}
    assert engine.contact_force[0, robot.body_index("left_foot")] > 50.0
    _teleport(engine, 2, height=3.0)
    assert not engine.ground_contact.any()


def test_thread_count_does_not_change_results(shared_data):
    robot = RobotModel.from_file(shared_data / "robots/mimickit_humanoid/humanoid.xml")
    results = []
    for threads in (1, 2):
        engine = build_engine(EngineConfig(num_threads=threads), robot, 16)
        _teleport(engine, 16, height=0.95)
        g = torch.Generator().manual_seed(3)
        for _ in range(10):
            engine.step(0.3 * torch.randn(16, robot.num_dofs, generator=g))
        results.append(engine.dof_pos.clone())
    assert torch.equal(results[0], results[1])


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (
            "<mujoco><worldbody><body name='a'><freejoint/><geom size='.1'/>"
            "<body name='b'><joint name='j1'/><joint name='j2'/><geom size='.1'/></body>"
            "</body></worldbody></mujoco>",
            "unsupported joint arrangement: j1 (hinge), j2 (hinge)",
        ),
        (
            "<mujoco><worldbody><body name='a'><geom size='.1'/></body></worldbody></mujoco>",
            "expected exactly one robot",
        ),
        (
            "<mujoco><worldbody><body name='a'><freejoint/><geom size='.1'/>"
            "</body></worldbody></mujoco",
            "MuJoCo cannot load this MJCF",
        ),
    ],
)
def test_bad_mjcf_is_one_clear_line(tmp_path, xml, message):
    path = tmp_path / "bad.xml"
    path.write_text(xml)
    with pytest.raises(AssetError) as info:
        RobotModel.from_file(path)
    text = str(info.value)
    assert message in text and str(path) in text and "\n" not in text


def test_missing_mjcf_names_the_path(tmp_path):
    with pytest.raises(AssetError, match=r"robot model not found: .*nope\.xml"):
        RobotModel.from_file(tmp_path / "nope.xml")
