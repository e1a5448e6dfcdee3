"""Engine conformance: every registered engine (``ENGINES.names()``) on two robots, checked
against MuJoCo itself and against the contract in ``engines/base.py``, root pushes and
per-env physics variations included.

A new backend registers itself in ``engines/builtin.py`` and must pass this file. One that
sets ``requires_cuda`` runs on ``cuda`` and is skipped on a machine without CUDA.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np
import pytest
import torch

import mjmimic
from mjmimic.engines.base import Engine
from mjmimic.engines.config import EngineConfig, JointGains
from mjmimic.engines.variation import PhysicsVariation
from mjmimic.paths import shared_data_dir
from mjmimic.registry import ENGINES
from mjmimic.robots.model import RobotModel
from mjmimic.rotations import quat_normalize

HUMANOID = Path(mjmimic.__file__).parent / "assets" / "robots" / "humanoid" / "humanoid.xml"


@dataclass(frozen=True)
class Case:
    file: Path
    feet: tuple[str, ...]
    head: str  # a body high above the feet when standing
    joint_gains: dict[str, JointGains] = field(default_factory=dict)


# Gains that differ per joint group, so a DoF-order or precedence mistake shows (the G1 MJCF
# has no actuators).
G1_GAINS = {
    "*_knee_joint": JointGains(kp=99.0, kd=6.3, effort=139.0),
    "*_wrist_*": JointGains(kp=16.8, kd=1.07, effort=5.0),
    "*": JointGains(kp=40.0, kd=2.0, effort=88.0),
}
CASES = {
    "humanoid": Case(HUMANOID, ("right_foot", "left_foot"), "head"),
    "g1": Case(
        shared_data_dir() / "robots" / "unitree_g1" / "g1.xml",
        ("left_ankle_roll_link", "right_ankle_roll_link"),
        "torso_link",  # the G1's head is part of torso_link
        G1_GAINS,
    ),
}
FLOAT_STATE = ("root_pos", "root_rot", "root_lin_vel", "root_ang_vel", "dof_pos", "dof_vel")
DERIVED = ("body_pos", "body_rot", "body_lin_vel", "body_ang_vel")


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module", params=ENGINES.names())
def engine_entry(request):
    entry = ENGINES.get(request.param)
    assert issubclass(entry.cls, Engine) and entry.config_cls is not None
    if entry.cls.requires_cuda and not torch.cuda.is_available():
        pytest.skip(f"engine {entry.name!r} needs CUDA")
    return entry


@pytest.fixture(scope="module", params=list(CASES))
def case(request) -> tuple[Case, RobotModel]:
    spec = CASES[request.param]
    if not spec.file.is_file():
        pytest.skip(f"{spec.file} not found")
    return spec, RobotModel.from_file(spec.file)


@pytest.fixture
def make(engine_entry, case):
    """``make(num_envs, **engine config)`` -> the engine under test on the case's robot."""
    spec, robot = case
    device = "cuda" if engine_entry.cls.requires_cuda else "cpu"
    made: list[Engine] = []

    def build(num_envs: int, **overrides) -> Engine:
        cfg = EngineConfig(num_threads=1, joint_gains=dict(spec.joint_gains), **overrides)
        engine = engine_entry.cls(cfg, robot, num_envs, device)
        made.append(engine)
        return engine

    yield build
    for engine in made:
        engine.close()


# ------------------------------------------------------------------------------ helpers
def put(engine, ids, height, dof=None, dof_vel=None, lin=None, ang=None, rot=None) -> None:
    """set_state for ``ids``: upright (or ``rot``) at the origin at root ``height``."""
    ids = torch.as_tensor(ids)
    n, d, dev = len(ids), engine.robot.num_dofs, engine.device
    pos = torch.zeros(n, 3, device=dev)
    pos[:, 2] = height
    if rot is None:
        rot = torch.tensor([[1.0, 0.0, 0.0, 0.0]], device=dev).expand(n, 4)
    zeros3, zeros_d = torch.zeros(n, 3, device=dev), torch.zeros(n, d, device=dev)
    engine.set_state(
        ids.to(dev),
        pos,
        rot,
        zeros3 if lin is None else lin,
        zeros3 if ang is None else ang,
        zeros_d if dof is None else dof,
        zeros_d if dof_vel is None else dof_vel,
    )


def host(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def standing_height(engine, dof=None) -> float:
    """Root height at which the robot upright in pose ``dof`` (default zero) rests 2 mm deep
    in the floor: from MuJoCo's signed geom distances on ``engine.model``."""
    put(engine, [0], 2.0, None if dof is None else dof[:1])
    m = engine.model
    d = mujoco.MjData(m)
    d.qpos[:] = host(engine.physics_state()[0][0])
    mujoco.mj_kinematics(m, d)
    (floor,) = [g for g in range(m.ngeom) if m.geom_type[g] == mujoco.mjtGeom.mjGEOM_PLANE]
    colliding = [
        g
        for g in range(m.ngeom)
        if m.geom_bodyid[g] > 0
        and (
            m.geom_contype[g] & m.geom_conaffinity[floor]
            or m.geom_conaffinity[g] & m.geom_contype[floor]
        )
    ]
    clearance = min(mujoco.mj_geomDistance(m, d, g, floor, 10.0, None) for g in colliding)
    return 2.0 - clearance - 0.002


def random_pose(engine, n: int, seed: int, scale: float = 0.5):
    """(dof, dof_vel): joint angles within ``scale`` of their range, velocities ~ N(0, 1)."""
    g = torch.Generator().manual_seed(seed)
    low, high = (t.cpu().clamp(-1.5, 1.5) for t in engine.dof_limits())
    mid, half = 0.5 * (low + high), 0.5 * (high - low)
    dof = mid + scale * half * (2 * torch.rand(n, len(low), generator=g) - 1)
    vel = torch.randn(n, len(low), generator=g)
    return dof.to(engine.device), vel.to(engine.device)


def snapshot(engine) -> dict[str, torch.Tensor]:
    """Every tensor the engine hands out, by name (the objects themselves, not copies)."""
    out = {name: getattr(engine, name) for name in (*FLOAT_STATE, "ground_contact")}
    out["contact_force"] = engine.contact_force
    out.update({name: getattr(engine, name) for name in DERIVED})
    out["qpos"], out["qvel"] = engine.physics_state()
    out["saved"] = engine.save_state()
    out["resets"] = engine.physics_resets()
    return out


def clones(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in tensors.items()}


def assert_rows_equal(a: dict, b: dict, rows, keys=None) -> None:
    for k in keys or a:
        assert torch.equal(a[k][rows], b[k][rows]), k


def body_ids(engine) -> list[int]:
    return [
        mujoco.mj_name2id(engine.model, mujoco.mjtObj.mjOBJ_BODY, n)
        for n in engine.robot.body_names
    ]


# --------------------------------------------------------------------------------- cases
def test_contract_members_devices_and_dtypes(make):
    """(g) what the engine is, and every tensor on ``device`` with the documented dtype."""
    n = 3
    engine = make(n)
    robot, dev = engine.robot, engine.device
    nb, nd = robot.num_bodies, robot.num_dofs
    assert isinstance(engine, Engine) and engine.num_envs == n and engine.robot is robot
    assert isinstance(engine.model, mujoco.MjModel)
    assert engine.model.opt.timestep == pytest.approx(engine.sim_dt)
    assert engine.num_substeps * engine.sim_dt == pytest.approx(engine.control_dt)
    assert engine.control_mode == "pos"
    assert engine.kinematics is not None
    assert all(len(x) == nd for x in (engine.pd.kp, engine.pd.kd, engine.pd.effort))
    put(engine, range(n), standing_height(engine))
    for stage in ("after set_state", "after step"):
        shapes = {
            "root_pos": (n, 3),
            "root_rot": (n, 4),
            "root_lin_vel": (n, 3),
            "root_ang_vel": (n, 3),
            "dof_pos": (n, nd),
            "dof_vel": (n, nd),
            "contact_force": (n, nb),
            "body_pos": (n, nb, 3),
            "body_rot": (n, nb, 4),
            "body_lin_vel": (n, nb, 3),
            "body_ang_vel": (n, nb, 3),
        }
        for name, shape in shapes.items():
            t = getattr(engine, name)
            assert (t.device, t.dtype, tuple(t.shape)) == (dev, torch.float32, shape), (
                stage,
                name,
            )
        contact = engine.ground_contact
        assert (contact.device, contact.dtype, tuple(contact.shape)) == (dev, torch.bool, (n, nb))
        qpos, qvel = engine.physics_state()
        saved, resets = engine.save_state(), engine.physics_resets()
        assert tuple(qpos.shape) == (n, engine.model.nq) and tuple(qvel.shape) == (
            n,
            engine.model.nv,
        )
        assert saved.ndim == 2 and saved.shape[0] == n
        for t in (qpos, qvel, saved):
            assert t.device == dev and t.dtype.is_floating_point, stage
        assert (resets.device, resets.dtype, tuple(resets.shape)) == (dev, torch.bool, (n,))
        engine.step(engine.dof_pos.clone())
    low, high = engine.dof_limits()
    assert low.device == dev and low.dtype == torch.float32 and tuple(high.shape) == (nd,)


def test_body_poses_and_velocities_match_mujoco(make):
    """(a) body_pos/body_rot (and body velocities) equal MuJoCo's on the same qpos/qvel,
    after set_state and after stepping."""
    n = 6
    engine = make(n)
    g = torch.Generator().manual_seed(0)
    dof, dof_vel = random_pose(engine, n, seed=1)
    lin, ang = torch.randn(n, 3, generator=g), torch.randn(n, 3, generator=g)
    rot = quat_normalize(torch.randn(n, 4, generator=g))
    put(engine, range(n), 1.5, dof, dof_vel, lin, ang, rot)
    for name, given in [("root_rot", rot), ("root_lin_vel", lin), ("root_ang_vel", ang)]:
        assert torch.allclose(getattr(engine, name).cpu(), given, atol=1e-5), name
    assert torch.allclose(engine.dof_pos, dof, atol=1e-5)
    assert torch.allclose(engine.dof_vel, dof_vel, atol=1e-5)
    m, d, ids = engine.model, mujoco.MjData(engine.model), body_ids(engine)
    for stage in range(3):  # set_state, then two steps
        qpos, qvel = (host(t) for t in engine.physics_state())
        pos, quat = host(engine.body_pos), host(engine.body_rot)
        lin_v, ang_v = host(engine.body_lin_vel), host(engine.body_ang_vel)
        for i in range(n):
            d.qpos[:], d.qvel[:] = qpos[i], qvel[i]
            mujoco.mj_kinematics(m, d)
            np.testing.assert_allclose(pos[i], d.xpos[ids], atol=1e-5, err_msg=f"stage {stage}")
            # q and -q are one rotation
            sign = np.sign(np.sum(quat[i] * d.xquat[ids], axis=1, keepdims=True))
            np.testing.assert_allclose(quat[i], sign * d.xquat[ids], atol=1e-5)
            mujoco.mj_forward(m, d)
            vel = np.zeros(6)
            for k, b in enumerate(ids):
                mujoco.mj_objectVelocity(m, d, mujoco.mjtObj.mjOBJ_XBODY, b, vel, 0)
                np.testing.assert_allclose(lin_v[i, k], vel[3:], atol=5e-5, rtol=1e-5)
                np.testing.assert_allclose(ang_v[i, k], vel[:3], atol=5e-5, rtol=1e-5)
        engine.step(0.3 * torch.randn(n, engine.robot.num_dofs, generator=g).to(engine.device))


def test_set_state_of_a_subset_changes_only_those_rows_and_replaces_tensors(make):
    """(b) set_state on envs [1, 3]: the others bit-identical, the set ones at the given
    state with no contacts, and no tensor handed out before changed in place."""
    n, ids = 4, [1, 3]
    engine = make(n)
    put(engine, range(n), standing_height(engine))
    g = torch.Generator().manual_seed(2)
    targets = 0.05 * torch.randn(n, engine.robot.num_dofs, generator=g)  # envs drift apart
    targets = targets.to(engine.device)
    for _ in range(2):
        engine.step(targets)
    assert engine.ground_contact.any()
    before = snapshot(engine)
    kept = clones(before)
    new_dof, new_vel = random_pose(engine, 2, seed=3)
    lin = torch.tensor([[0.1, -0.2, 0.3], [0.0, 0.5, 0.0]], device=engine.device)
    put(engine, ids, 1.2, new_dof, new_vel, lin=lin)
    after = snapshot(engine)
    assert_rows_equal(before, kept, slice(None))  # nothing handed out was written
    assert_rows_equal(after, kept, [0, 2], [k for k in kept if k != "resets"])
    assert torch.equal(after["resets"], kept["resets"])
    assert torch.allclose(after["dof_pos"][ids], new_dof, atol=1e-5)
    assert torch.allclose(after["dof_vel"][ids], new_vel, atol=1e-5)
    assert torch.allclose(after["root_lin_vel"][ids], lin, atol=1e-6)
    assert torch.allclose(after["root_pos"][ids, 2], torch.full((2,), 1.2), atol=1e-6)
    assert not after["ground_contact"][ids].any() and not after["contact_force"][ids].any()


def test_ground_contact_flags_name_the_touching_bodies(make, case):
    """(c) standing: the feet touch the floor, nothing else; dropped from 1 m: nothing."""
    spec, robot = case
    n = 2
    engine = make(n)
    stand = standing_height(engine)
    put(engine, range(n), stand)
    for _ in range(2):
        engine.step(torch.zeros(n, robot.num_dofs, device=engine.device))
    feet = [robot.body_index(b) for b in spec.feet]
    head = robot.body_index(spec.head)
    for i in range(n):
        touching = {robot.body_names[b] for b in torch.nonzero(engine.ground_contact[i]).flatten()}
        assert touching == {robot.body_names[b] for b in feet}
        assert (engine.contact_force[i, feet] > 1.0).all()
        assert engine.contact_force[i, head] == 0.0
    put(engine, range(n), stand + 1.0)
    assert not engine.ground_contact.any()  # set_state clears them
    engine.step(torch.zeros(n, robot.num_dofs, device=engine.device))
    assert not engine.ground_contact.any() and not engine.contact_force.any()


def test_restoring_a_saved_state_replays_identically(make):
    """(d) save_state, k steps, restore_state, the same k steps: identical tensors; restoring
    a subset changes only those envs, which then step exactly as before."""
    n, k, ids = 4, 4, [1, 3]
    engine = make(n)
    _, vel = random_pose(engine, n, seed=4)
    put(engine, range(n), standing_height(engine) + 0.01, dof_vel=0.2 * vel)
    g = torch.Generator().manual_seed(5)
    dof = 0.05 * torch.randn(n, engine.robot.num_dofs, generator=g).to(engine.device)
    engine.step(dof)
    saved = engine.save_state()
    saved_copy = saved.clone()
    commands = [dof + 0.3 * torch.randn(dof.shape, generator=g).to(dof.device) for _ in range(k)]

    def run() -> list[dict[str, torch.Tensor]]:
        out = []
        for c in commands:
            engine.step(c)
            out.append(clones(snapshot(engine)))
        return out

    first = run()
    assert torch.equal(saved, saved_copy)  # a saved state is not written by later steps
    assert first[-1]["ground_contact"].any()  # the runs include contacts
    engine.restore_state(saved)
    assert torch.equal(engine.save_state(), saved_copy)
    second = run()
    for a, b in zip(first, second, strict=True):
        assert_rows_equal(a, b, slice(None))
    # A subset: rows [1, 3] back to the saved state, the others where they are.
    now = clones(snapshot(engine))
    engine.restore_state(saved[ids], torch.tensor(ids, device=engine.device))
    state = engine.save_state()
    assert torch.equal(state[ids], saved_copy[ids]) and torch.equal(
        state[[0, 2]], now["saved"][[0, 2]]
    )
    engine.step(commands[0])
    assert_rows_equal(clones(snapshot(engine)), first[0], ids)


def test_pd_actuation_is_the_clipped_pd_law_of_the_pd_table(make, case):
    """(e) In ``pos`` mode the force on every DoF is clip(kp (q* - q) - kd q̇, ±effort) with
    the engine's ``pd`` table, at every substep: MuJoCo's ``qfrc_actuator`` on the engine's
    model equals the law, and a step of the engine equals MuJoCo stepping that model. In
    the air (no contacts), with joint velocities so kd matters and half the targets far
    enough to saturate."""
    spec, robot = case
    n = 4
    engine = make(n)
    pd = engine.pd
    if spec.joint_gains:  # configured gains reach the table, by joint group
        assert set(pd.sources) == {"config"}
        knee = robot.dof_names.index("left_knee_joint")
        wrist = robot.dof_names.index("right_wrist_yaw_joint")
        hip = robot.dof_names.index("left_hip_pitch_joint")
        assert (pd.kp[knee], pd.kd[knee], pd.effort[knee]) == (99.0, 6.3, 139.0)
        assert (pd.kp[wrist], pd.kd[wrist], pd.effort[wrist]) == (16.8, 1.07, 5.0)
        assert (pd.kp[hip], pd.kd[hip], pd.effort[hip]) == (40.0, 2.0, 88.0)
    dof, vel = random_pose(engine, n, seed=6)
    put(engine, range(n), standing_height(engine) + 1.0, dof, vel)
    kp, kd, effort = (np.asarray(x, dtype=np.float64) for x in (pd.kp, pd.kd, pd.effort))
    reach = np.where(np.isfinite(effort), effort / np.maximum(kp, 1e-9), 0.2)
    sign = np.where(np.arange(robot.num_dofs) % 2, 1.0, -1.0)
    factor = np.array([0.3, 3.0, 0.3, 3.0])[:, None]  # envs 1, 3 saturate
    command = torch.as_tensor(host(engine.dof_pos) + factor * sign * reach, dtype=torch.float32)
    command = command.to(engine.device)
    qpos, qvel = (host(t) for t in engine.physics_state())
    m, d = engine.model, mujoco.MjData(engine.model)
    clipped = 0
    for i in range(n):
        d.qpos[:], d.qvel[:] = qpos[i], qvel[i]
        d.ctrl[:] = host(command[i])
        mujoco.mj_forward(m, d)
        law = kp * (host(command[i]) - qpos[i, 7:]) - kd * qvel[i, 6:]
        expected = np.clip(law, -effort, effort)
        clipped += int((np.abs(law) > effort).sum())
        np.testing.assert_allclose(d.qfrc_actuator[6:], expected, rtol=1e-9, atol=1e-6)
    assert clipped >= robot.num_dofs  # the check covers the clip, not only the linear law
    engine.step(command)
    after_qpos, after_qvel = (host(t) for t in engine.physics_state())
    for i in range(n):
        d = mujoco.MjData(m)
        d.qpos[:], d.qvel[:] = qpos[i], qvel[i]
        d.ctrl[:] = host(command[i])
        for _ in range(engine.num_substeps):
            mujoco.mj_step(m, d)
        np.testing.assert_allclose(after_qpos[i], d.qpos, atol=1e-5)
        np.testing.assert_allclose(after_qvel[i], d.qvel, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("sim_freq", [120, 30], ids=["4_substeps", "1_substep"])
def test_physics_resets_names_the_envs_the_backend_reset(make, sim_freq):
    """(f) An env driven unstable (a huge velocity right after set_state; a NaN command
    later) is reported by physics_resets() after that step, and only that step; the others
    never are. A backend that does not reset leaves the env non-finite instead."""
    n = 4
    engine = make(n, sim_freq=sim_freq, control_freq=30)
    stand = standing_height(engine)
    put(engine, range(n), stand)
    hold = torch.zeros(n, engine.robot.num_dofs, device=engine.device)
    engine.step(hold)
    assert not engine.physics_resets().any()

    def check(driven: int) -> None:
        resets = engine.physics_resets().cpu()
        qpos, qvel = engine.physics_state()
        finite = (torch.isfinite(qpos).all(1) & torch.isfinite(qvel).all(1)).cpu()
        others = [i for i in range(n) if i != driven]
        assert not resets[others].any() and finite[others].all()
        assert bool(resets[driven]) == bool(finite[driven])  # reset and finite, or neither

    vel = torch.zeros(1, engine.robot.num_dofs, device=engine.device)
    vel[0, 0] = 1e12
    put(engine, [2], stand, dof_vel=vel)  # unstable from the first substep
    engine.step(hold)
    check(2)
    put(engine, [2], stand)
    engine.step(hold)
    assert not engine.physics_resets().any()
    command = hold.clone()
    command[1, 0] = math.nan
    engine.step(command)
    check(1)
    put(engine, [1], stand)
    engine.step(hold)
    assert not engine.physics_resets().any()


def test_push_root_adds_world_velocity_to_the_root_only(make):
    """(h) push_root on envs [0, 2]: their root velocities read back as before + the push
    (world frame, turned roots), everything else unchanged, no tensor written in place."""
    n, ids = 3, [0, 2]
    engine = make(n)
    dev = engine.device
    yaw = torch.tensor([0.7, 2.0, -1.2])
    rot = torch.stack([(yaw / 2).cos(), 0 * yaw, 0 * yaw, (yaw / 2).sin()], dim=1).to(dev)
    put(engine, range(n), standing_height(engine), rot=rot)
    engine.step(torch.zeros(n, engine.robot.num_dofs, device=dev))
    assert engine.ground_contact.any()
    before = snapshot(engine)
    kept = clones(before)
    g = torch.Generator().manual_seed(7)
    lin, ang = torch.randn(2, 3, generator=g).to(dev), torch.randn(2, 3, generator=g).to(dev)
    engine.push_root(torch.tensor(ids, device=dev), lin, ang)
    after = snapshot(engine)
    assert_rows_equal(before, kept, slice(None))
    for name, delta in [("root_lin_vel", lin), ("root_ang_vel", ang)]:
        torch.testing.assert_close(after[name][ids], kept[name][ids] + delta, atol=1e-5, rtol=0)
    unchanged = [k for k in kept if k not in ("root_lin_vel", "root_ang_vel", "qvel", "saved")]
    unchanged = [k for k in unchanged if k not in DERIVED]
    assert_rows_equal(after, kept, slice(None), unchanged)
    assert_rows_equal(after, kept, [1])
    assert torch.equal(after["qvel"][:, 6:], kept["qvel"][:, 6:])


def _varied_model(engine, i: int, friction, body: int, dm, kp, kd) -> mujoco.MjModel:
    """What env ``i`` of a variation means, built on a copy of the nominal ``model``: every
    floor contact at the floor friction, the body heavier (inertia scaled alike), the PD
    gains scaled."""
    m = copy.copy(engine.model)
    m.geom_friction[:, 0] = friction[i]
    mass = m.body_mass[body]
    m.body_inertia[body] *= (mass + dm[i]) / mass
    m.body_mass[body] = mass + dm[i]
    m.actuator_gainprm[:, 0] *= kp[i]
    m.actuator_biasprm[:, 1] *= kp[i]
    m.actuator_biasprm[:, 2] *= kd[i]
    mujoco.mj_setConst(m, mujoco.MjData(m))
    return m


def test_physics_variation_steps_as_mujoco_with_those_parameters(make):
    """(i) Sliding on the floor with a variation of friction, root mass and gains, each env
    steps as MuJoCo steps the nominal model with that env's parameters; None then gives
    back the nominal physics bit for bit (an engine that never had a variation)."""
    n = 3
    engine, plain = make(n), make(n)
    nd, dev = engine.robot.num_dofs, engine.device
    rng = np.random.default_rng(8)
    root = engine.robot.body_names[0]
    friction, dm = np.array([0.1, 0.6, 1.4]), np.array([0.0, 4.0, -1.0])
    kp, kd = rng.uniform(0.5, 1.5, (n, nd)), rng.uniform(0.5, 1.5, (n, nd))
    variation = PhysicsVariation(
        floor_friction=friction, body_name=root, added_mass=dm, kp_scale=kp, kd_scale=kd
    )
    engine.set_physics_variation(variation)
    assert engine.physics_variation is variation
    stand = standing_height(engine)
    lin = torch.tensor([[1.0, 0.5, 0.0]], device=dev).expand(n, 3)
    put(engine, range(n), stand, lin=lin)
    qpos, qvel = (host(t) for t in engine.physics_state())
    command = 0.1 * torch.randn(n, nd, generator=torch.Generator().manual_seed(9)).to(dev)
    engine.step(command)
    after_qpos, after_qvel = (host(t) for t in engine.physics_state())
    body = mujoco.mj_name2id(engine.model, mujoco.mjtObj.mjOBJ_BODY, root)
    for i in range(n):
        m = _varied_model(engine, i, friction, body, dm, kp, kd)
        d = mujoco.MjData(m)
        d.qpos[:], d.qvel[:], d.ctrl[:] = qpos[i], qvel[i], host(command[i])
        touched = 0
        for _ in range(engine.num_substeps):
            mujoco.mj_step(m, d)
            touched += d.ncon
        assert touched > 0  # on the floor: friction matters
        np.testing.assert_allclose(after_qpos[i], d.qpos, atol=1e-5)
        np.testing.assert_allclose(after_qvel[i], d.qvel, atol=1e-4, rtol=1e-4)
    assert not np.allclose(after_qvel[0], after_qvel[2], atol=1e-2)
    engine.set_physics_variation(None)
    assert engine.physics_variation is None
    for e in (engine, plain):
        put(e, range(n), stand, lin=lin)
        for _ in range(2):
            e.step(command)
    assert_rows_equal(snapshot(engine), snapshot(plain), slice(None))
