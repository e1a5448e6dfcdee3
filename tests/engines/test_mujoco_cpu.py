"""The CPU MuJoCo engine: state in/out, PD and torque control, scene composition."""

from __future__ import annotations

import math

import mujoco
import pytest
import torch

from mjmimic.engines import EngineConfig, build_engine
from mjmimic.engines.config import JointGains
from mjmimic.engines.mujoco_cpu import CLOCK_START
from mjmimic.engines.scene import FLOOR_NAME
from mjmimic.errors import AssetError
from mjmimic.robots.model import RobotModel

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


def test_mujoco_resets_are_reported_even_in_the_first_substep(shared_data):
    """MuJoCo resets an env with a huge velocity (here: right after set_state, one substep
    per step) and drops a NaN command; physics_resets() names both, the state is finite.
    (The conformance suite also accepts a backend that never resets.)"""
    robot = RobotModel.from_file(shared_data / "robots/mimickit_humanoid/humanoid.xml")
    engine = build_engine(EngineConfig(sim_freq=30, control_freq=30, num_threads=1), robot, 3)
    _teleport(engine, 3, height=0.95)
    vel = torch.zeros(1, robot.num_dofs)
    vel[0, 0] = 1e12
    rot = torch.tensor([[1.0, 0, 0, 0]])
    pos = torch.tensor([[0.0, 0.0, 0.95]])
    zeros = torch.zeros(1, 3)
    engine.set_state(torch.tensor([1]), pos, rot, zeros, zeros, torch.zeros(1, robot.num_dofs), vel)
    assert engine.save_state()[:, 0].tolist() == [CLOCK_START] * 3
    command = torch.zeros(3, robot.num_dofs)
    command[2, 3] = math.nan
    engine.step(command)
    assert engine.physics_resets().tolist() == [False, True, True]
    assert all(torch.isfinite(t).all() for t in engine.physics_state())
    engine.step(torch.zeros(3, robot.num_dofs))
    assert not engine.physics_resets().any()


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
