"""FK, body velocities and joint rotations agree with MuJoCo on random poses."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
import torch

from mjmimic.robots.kinematics import Kinematics
from mjmimic.robots.model import RobotModel
from mjmimic.rotations import quat_canonical

# A small robot exercising what the shipped models do not: a ball joint, joints whose
# anchor is away from the body origin, a body rotated against its parent, a hinge ref.
BALL_AND_ANCHORS = """
<mujoco>
  <worldbody>
    <body name="base" pos="0 0 1">
      <freejoint/>
      <geom type="box" size=".1 .1 .1"/>
      <body name="upper" pos="0.1 0 0" quat="0.9238795 0 0.3826834 0">
        <joint name="shoulder" type="ball" pos="0 0 0.05"/>
        <geom type="capsule" fromto="0 0 0 0 0 -.3" size=".03"/>
        <body name="lower" pos="0 0 -0.3">
          <joint name="elbow" type="hinge" axis="0 1 0" pos="0.02 0 0.01" ref="0.3"/>
          <geom type="capsule" fromto="0 0 0 0 0 -.3" size=".03"/>
          <body name="hand" pos="0 0.05 -0.3">
            <geom type="sphere" size=".04"/>
          </body>
        </body>
      </body>
      <body name="hip" pos="0 -0.1 -0.1">
        <joint name="hip_x" axis="1 0 0"/>
        <joint name="hip_y" axis="0 1 0"/>
        <joint name="hip_z" axis="0 0 1"/>
        <geom type="capsule" fromto="0 0 0 0 0 -.4" size=".04"/>
      </body>
    </body>
  </worldbody>
</mujoco>
"""


def _random_state(model: mujoco.MjModel, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    qpos = model.qpos0.copy()
    qpos[:3] = rng.normal(size=3)
    q = rng.normal(size=4)
    qpos[3:7] = q / np.linalg.norm(q)
    for j in range(1, model.njnt):
        adr = model.jnt_qposadr[j]
        if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_BALL:
            q = rng.normal(size=4)
            qpos[adr : adr + 4] = q / np.linalg.norm(q)
        else:
            qpos[adr] = rng.uniform(-2.0, 2.0)
    return qpos, rng.normal(size=model.nv)


def _check_against_mujoco(model: mujoco.MjModel, source: str, n: int = 16) -> None:
    robot = RobotModel(model, source)
    kin = Kinematics(robot, dtype=torch.float64)
    data = mujoco.MjData(model)
    rng = np.random.default_rng(0)
    states = [_random_state(model, rng) for _ in range(n)]
    qpos = torch.tensor(np.stack([s[0] for s in states]))
    qvel = torch.tensor(np.stack([s[1] for s in states]))
    root_pos, root_rot = qpos[:, :3], qpos[:, 3:7]
    dof_pos = kin.qpos_to_dof(qpos[:, 7:])
    dof_vel = qvel[:, 6:]
    root_ang_vel_world = torch.stack([torch.tensor(_rotate(s[0][3:7], s[1][3:6])) for s in states])
    body_pos, body_rot = kin.forward_kinematics(root_pos, root_rot, dof_pos)
    lin, ang = kin.body_velocities(
        body_pos, body_rot, qvel[:, :3], root_ang_vel_world, dof_pos, dof_vel
    )
    for i, (qp, qv) in enumerate(states):
        data.qpos[:] = qp
        data.qvel[:] = qv
        mujoco.mj_forward(model, data)
        np.testing.assert_allclose(body_pos[i].numpy(), data.xpos[1:], atol=1e-5)
        np.testing.assert_allclose(
            quat_canonical(body_rot[i]).numpy(),
            quat_canonical(torch.tensor(data.xquat[1:])).numpy(),
            atol=1e-5,
        )
        for b in range(1, model.nbody):
            vel = np.zeros(6)
            mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_XBODY, b, vel, 0)
            np.testing.assert_allclose(ang[i, b - 1].numpy(), vel[:3], atol=1e-5)
            np.testing.assert_allclose(lin[i, b - 1].numpy(), vel[3:], atol=1e-5)
    assert torch.allclose(kin.dof_to_qpos(dof_pos), qpos[:, 7:], atol=1e-9) or robot.has_ball_joints


def _rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = np.zeros(3)
    mujoco.mju_rotVecQuat(out, v, q)
    return out


@pytest.mark.parametrize(
    "relpath",
    [
        "robots/mimickit_humanoid/humanoid.xml",
        "robots/unitree_g1/g1.xml",
        "robots/booster_k1/K1_22dof.xml",
    ],
)
def test_fk_matches_mujoco_on_reference_robots(shared_data, relpath):
    path = shared_data / relpath
    _check_against_mujoco(mujoco.MjModel.from_xml_path(str(path)), str(path))


def test_fk_matches_mujoco_with_ball_joints_anchors_and_refs():
    model = mujoco.MjModel.from_xml_string(BALL_AND_ANCHORS)
    robot = RobotModel(model, "inline")
    assert [j.kind for j in robot.joints] == ["ball", "hinge", "fixed", "spherical"]
    assert robot.num_dofs == 7
    _check_against_mujoco(model, "inline")


def test_float32_fk_is_close_enough_for_training(shared_data):
    model = mujoco.MjModel.from_xml_path(str(shared_data / "robots/unitree_g1/g1.xml"))
    robot = RobotModel(model, "g1")
    k64, k32 = Kinematics(robot, dtype=torch.float64), Kinematics(robot)
    rng = np.random.default_rng(1)
    qpos = torch.tensor(np.stack([_random_state(model, rng)[0] for _ in range(64)]))
    p64, _ = k64.forward_kinematics(qpos[:, :3], qpos[:, 3:7], qpos[:, 7:])
    p32, _ = k32.forward_kinematics(*(x.float() for x in (qpos[:, :3], qpos[:, 3:7], qpos[:, 7:])))
    assert (p64 - p32.double()).abs().max() < 1e-5


def test_joint_rotations_compose_hinges_in_mujoco_order(shared_data):
    model = mujoco.MjModel.from_xml_path(str(shared_data / "robots/mimickit_humanoid/humanoid.xml"))
    robot = RobotModel(model, "humanoid")
    kin = Kinematics(robot, dtype=torch.float64)
    data = mujoco.MjData(model)
    rng = np.random.default_rng(2)
    qpos, _ = _random_state(model, rng)
    qpos[3:7] = (1, 0, 0, 0)
    qpos[:3] = 0
    data.qpos[:] = qpos
    mujoco.mj_kinematics(model, data)
    local = kin.joint_rotations(torch.tensor(qpos[None, 7:]))[0]
    for b in range(2, model.nbody):
        parent = model.body_parentid[b]
        # world = parent * body_quat * joint, so joint = (parent * body_quat)^-1 * world
        pq = np.zeros(4)
        mujoco.mju_mulQuat(pq, data.xquat[parent], model.body_quat[b])
        inv = np.zeros(4)
        mujoco.mju_negQuat(inv, pq)
        expected = np.zeros(4)
        mujoco.mju_mulQuat(expected, inv, data.xquat[b])
        np.testing.assert_allclose(
            quat_canonical(local[b - 2]).numpy(),
            quat_canonical(torch.tensor(expected)).numpy(),
            atol=1e-9,
        )
