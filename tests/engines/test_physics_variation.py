"""Per-env physics (``PhysicsVariation``) and root pushes on the CPU MuJoCo engine, against
MuJoCo itself: friction, added mass, gain scales and centre-of-mass shifts reach the model
each env steps, None brings back the nominal scene bit for bit, and pushes add exactly
the velocity given. The engine-agnostic part of the contract is also in
``test_conformance.py``."""

from __future__ import annotations

import dataclasses

import mujoco
import numpy as np
import pytest
import torch
from test_conformance import CASES, HUMANOID, host, put, standing_height

from mjmimic.engines.config import EngineConfig
from mjmimic.engines.mujoco_cpu import MujocoCpuEngine
from mjmimic.engines.variation import PhysicsVariation
from mjmimic.robots.model import RobotModel

G = 9.81
D = 28  # the humanoid's DoFs


@pytest.fixture(scope="module")
def humanoid() -> RobotModel:
    robot = RobotModel.from_file(HUMANOID)
    assert robot.num_dofs == D
    return robot


def engine_for(robot: RobotModel, n: int, **overrides) -> MujocoCpuEngine:
    return MujocoCpuEngine(EngineConfig(num_threads=1, **overrides), robot, n)


def hold(engine) -> torch.Tensor:
    return torch.zeros(engine.num_envs, engine.robot.num_dofs)


def body_id(engine, name: str) -> int:
    return mujoco.mj_name2id(engine.model, mujoco.mjtObj.mjOBJ_BODY, name)


def test_lower_floor_friction_lets_the_feet_slide_further(humanoid):
    """Standing, pushed forward at 1 m/s: the feet slide furthest on the most slippery floor."""
    engine = engine_for(humanoid, 3)
    feet = [humanoid.body_index("right_foot"), humanoid.body_index("left_foot")]
    engine.set_physics_variation(PhysicsVariation(floor_friction=np.array([0.05, 0.3, 1.5])))
    lin = torch.tensor([[1.0, 0.0, 0.0]]).expand(3, 3)
    put(engine, range(3), standing_height(engine), lin=lin)
    start = engine.body_pos[:, feet, 0].mean(1)
    for _ in range(6):
        engine.step(hold(engine))
    slide = (engine.body_pos[:, feet, 0].mean(1) - start).tolist()
    assert engine.ground_contact[:, feet].all()  # sliding, not falling
    assert slide[0] > 0.1 > slide[1] > slide[2] and slide[1] > 2 * slide[2], slide


def test_added_mass_weighs_on_the_floor_and_updates_derived_quantities(humanoid):
    """10 kg on the pelvis: the floor carries 10 g more (mean over 20 steps standing), and
    the env's model has the mass, the scaled inertia and the new subtree mass."""
    engine = engine_for(humanoid, 2)
    pelvis, dm = body_id(engine, "pelvis"), 10.0
    variation = PhysicsVariation(body_name="pelvis", added_mass=np.array([0.0, dm]))
    engine.set_physics_variation(variation)
    nominal, varied = engine.model, engine.env_models[1]
    mass = nominal.body_mass[pelvis]
    assert varied.body_mass[pelvis] == pytest.approx(mass + dm, rel=1e-12)
    np.testing.assert_allclose(
        varied.body_inertia[pelvis], nominal.body_inertia[pelvis] * (mass + dm) / mass
    )
    assert varied.body_subtreemass[pelvis] == pytest.approx(nominal.body_subtreemass[pelvis] + dm)
    assert engine.env_models[0].body_mass[pelvis] == nominal.body_mass[pelvis]
    put(engine, range(2), standing_height(engine))
    load = []
    for k in range(30):
        engine.step(hold(engine))
        if k >= 10:
            load.append(engine.contact_force.sum(1).numpy())
    extra = np.mean(load, axis=0) @ [-1.0, 1.0]
    assert extra == pytest.approx(dm * G, rel=0.01)


def test_gain_scales_change_the_pd_torque_in_their_exact_ratio(humanoid):
    """MuJoCo's actuator_force on each env's model: kp × 0.5 halves the position term,
    kd × 2 doubles the damping term, an unscaled env keeps the nominal law; and a step of
    the engine is MuJoCo stepping those models."""
    n, d = 3, humanoid.num_dofs
    engine = engine_for(humanoid, n)
    kp_scale, kd_scale = np.ones((n, d)), np.ones((n, d))
    kp_scale[1], kd_scale[2] = 0.5, 2.0
    engine.set_physics_variation(PhysicsVariation(kp_scale=kp_scale, kd_scale=kd_scale))
    kp, kd = engine.pd.kp, engine.pd.kd
    qpos0 = engine.model.qpos0
    for i, model in enumerate(engine.env_models):
        data = mujoco.MjData(model)
        data.qpos[:] = qpos0
        data.qpos[2] += 1.0  # in the air
        data.ctrl[:] = 0.01  # small errors: nothing clips
        mujoco.mj_forward(model, data)
        np.testing.assert_allclose(
            data.actuator_force, kp * kp_scale[i] * 0.01, rtol=1e-12, err_msg="kp"
        )
        data.ctrl[:] = qpos0[7:]
        data.qvel[6:] = 0.1
        mujoco.mj_forward(model, data)
        np.testing.assert_allclose(
            data.actuator_force, -kd * kd_scale[i] * 0.1, rtol=1e-12, err_msg="kd"
        )
    g = torch.Generator().manual_seed(0)
    put(engine, range(n), 2.0, dof_vel=torch.randn(n, d, generator=g))
    qpos, qvel = (host(t) for t in engine.physics_state())
    command = 0.1 * torch.randn(n, d, generator=g)
    engine.step(command)
    after = host(engine.physics_state()[1])
    for i, model in enumerate(engine.env_models):
        data = mujoco.MjData(model)
        data.qpos[:], data.qvel[:], data.ctrl[:] = qpos[i], qvel[i], host(command[i])
        for _ in range(engine.num_substeps):
            mujoco.mj_step(model, data)
        np.testing.assert_allclose(after[i], data.qvel, atol=1e-6)
    assert not np.allclose(after[0], after[1], atol=1e-3)  # the scales made a difference


def test_com_offset_moves_the_body_ipos_of_each_env(humanoid):
    engine = engine_for(humanoid, 2)
    offset = np.array([[0.0, 0.0, 0.0], [0.03, -0.02, 0.05]])
    engine.set_physics_variation(PhysicsVariation(body_name="torso", com_offset=offset))
    torso = body_id(engine, "torso")
    for i, model in enumerate(engine.env_models):
        np.testing.assert_array_equal(
            model.body_ipos[torso], engine.model.body_ipos[torso] + offset[i]
        )
    assert not np.array_equal(engine.env_models[1].body_ipos, engine.model.body_ipos)


def test_push_root_adds_world_velocity_and_changes_nothing_else(humanoid):
    n, ids = 3, torch.tensor([0, 2])
    engine = engine_for(humanoid, n)
    g = torch.Generator().manual_seed(1)
    yaw = torch.tensor([0.7, 2.0, -1.2])  # standing, turned: world != body frame
    rot = torch.stack([(yaw / 2).cos(), 0 * yaw, 0 * yaw, (yaw / 2).sin()], dim=1)
    lin0, ang0 = 0.1 * torch.randn(n, 3, generator=g), 0.1 * torch.randn(n, 3, generator=g)
    put(engine, range(n), standing_height(engine), lin=lin0, ang=ang0, rot=rot)
    engine.step(hold(engine))
    assert engine.ground_contact.any()
    before = {k: getattr(engine, k) for k in ("root_lin_vel", "root_ang_vel", "ground_contact")}
    kept = {k: v.clone() for k, v in before.items()}
    qpos, qvel = (t.clone() for t in engine.physics_state())
    clock = engine.save_state()[:, 0].clone()
    lin, ang = torch.tensor([[1.0, -2.0, 0.5], [0.0, 0.3, 0.0]]), torch.randn(2, 3, generator=g)
    engine.push_root(ids, lin, ang)
    for k, v in before.items():
        assert torch.equal(v, kept[k]), k  # replaced, not written
    torch.testing.assert_close(engine.root_lin_vel[ids], kept["root_lin_vel"][ids] + lin)
    torch.testing.assert_close(engine.root_ang_vel[ids], kept["root_ang_vel"][ids] + ang)
    assert torch.equal(engine.root_lin_vel[1], kept["root_lin_vel"][1])
    new_qpos, new_qvel = engine.physics_state()
    assert torch.equal(new_qpos, qpos)
    assert torch.equal(new_qvel[:, 6:], qvel[:, 6:]) and torch.equal(new_qvel[1], qvel[1])
    assert torch.equal(engine.save_state()[:, 0], clock)
    assert torch.equal(engine.ground_contact, kept["ground_contact"])
    engine.push_root(torch.tensor([1, 1]), lin, torch.zeros(2, 3))  # repeated: both count
    torch.testing.assert_close(engine.root_lin_vel[1], kept["root_lin_vel"][1] + lin.sum(0))


def test_none_restores_the_nominal_scene_bit_for_bit(humanoid):
    n = 3
    plain, varied = engine_for(humanoid, n), engine_for(humanoid, n)
    rng = np.random.default_rng(0)
    variation = PhysicsVariation(
        floor_friction=rng.uniform(0.2, 1.5, n), kp_scale=rng.uniform(0.5, 1.5, (n, D))
    )
    varied.set_physics_variation(variation)
    assert varied.physics_variation is variation and plain.physics_variation is None
    stand = standing_height(plain)
    g = torch.Generator().manual_seed(2)
    commands = [0.2 * torch.randn(n, D, generator=g) for _ in range(4)]
    put(varied, range(n), stand)
    for c in commands:
        varied.step(c)
    varied.set_physics_variation(None)
    assert varied.physics_variation is None and varied.env_models is None
    for engine in (plain, varied):
        put(engine, range(n), stand)
        for c in commands:
            engine.step(c)
    assert plain.ground_contact.any()
    assert torch.equal(plain.save_state(), varied.save_state())
    assert torch.equal(plain.contact_force, varied.contact_force)


def test_restore_under_a_variation_replays_exactly_and_keeps_the_variation(humanoid):
    n, k = 3, 4
    engine = engine_for(humanoid, n)
    rng = np.random.default_rng(1)
    variation = PhysicsVariation(
        floor_friction=rng.uniform(0.2, 1.5, n),
        body_name="pelvis",
        added_mass=rng.uniform(-1.0, 3.0, n),
        kd_scale=rng.uniform(0.5, 1.5, (n, D)),
    )
    engine.set_physics_variation(variation)
    models = engine.env_models
    put(engine, range(n), standing_height(engine) + 0.01)
    saved = engine.save_state()
    g = torch.Generator().manual_seed(3)
    commands = [0.3 * torch.randn(n, D, generator=g) for _ in range(k)]

    def run() -> list[torch.Tensor]:
        out = []
        for c in commands:
            engine.step(c)
            out.append(engine.save_state())
        return out

    first = run()
    engine.restore_state(saved)
    put(engine, [1], 3.0)  # set_state keeps the variation too
    engine.restore_state(saved[[1]], torch.tensor([1]))
    assert engine.physics_variation is variation and engine.env_models is models
    for a, b in zip(first, run(), strict=True):
        assert torch.equal(a, b)
    assert not torch.equal(first[-1][0], first[-1][1])


@pytest.mark.skipif(not CASES["g1"].file.is_file(), reason="G1 MJCF not found")
def test_per_env_models_drop_visual_meshes_and_keep_the_physics():
    """The G1's per-env models have no visual meshes (71 MB -> ~80 kB each) and a variation
    at nominal values steps bit-identically to the nominal scene, contacts included."""
    case, n = CASES["g1"], 2
    robot = RobotModel.from_file(case.file)
    engines = [engine_for(robot, n, joint_gains=dict(case.joint_gains)) for _ in range(2)]
    nominal_friction = engines[0].cfg.floor_friction
    engines[1].set_physics_variation(PhysicsVariation(floor_friction=np.full(n, nominal_friction)))
    assert engines[1].env_models[0].nbuffer < engines[1].model.nbuffer / 100
    stand = standing_height(engines[0])
    g = torch.Generator().manual_seed(4)
    commands = [0.2 * torch.randn(n, robot.num_dofs, generator=g) for _ in range(3)]
    for engine in engines:
        put(engine, range(n), stand)
        for c in commands:
            engine.step(c)
    assert engines[0].ground_contact.any()
    assert torch.equal(engines[0].save_state(), engines[1].save_state())
    assert torch.equal(engines[0].contact_force, engines[1].contact_force)


BOT = """<mujoco><worldbody><body name="base" pos="0 0 1"><freejoint/>
  <geom type="box" size=".1 .1 .1"/>
  <geom type="sphere" size=".2" pos="0 0 .3" contype="0" conaffinity="0"/>
  <body name="arm"><joint name="j" axis="0 1 0" stiffness="10" damping="1"/>
  <geom type="capsule" fromto="0 0 0 .3 0 0" size=".03"/></body></body></worldbody></mujoco>"""


def test_a_discarded_visual_geom_keeps_its_mass(tmp_path):
    """MuJoCo computes body inertias before it discards visual geoms."""
    path = tmp_path / "bot.xml"
    path.write_text(BOT)
    engine = engine_for(RobotModel.from_file(path), 1)
    engine.set_physics_variation(PhysicsVariation(floor_friction=np.array([0.5])))
    (model,) = engine.env_models
    assert model.ngeom == engine.model.ngeom - 1
    np.testing.assert_array_equal(model.body_mass, engine.model.body_mass)
    np.testing.assert_array_equal(model.body_inertia, engine.model.body_inertia)
    assert (model.geom_friction[:, 0] == 0.5).all()


def test_a_robot_file_that_cannot_be_recompiled_keeps_the_full_scene(tmp_path):
    """An include inside an include is relative to the robot file's folder, which the
    temporary copy is not in: the per-env models are then copies of the whole scene."""
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "a.xml").write_text('<mujoco><include file="parts/b.xml"/></mujoco>')
    (tmp_path / "parts" / "b.xml").write_text(BOT)
    path = tmp_path / "bot.xml"
    path.write_text('<mujoco><include file="parts/a.xml"/></mujoco>')
    engine = engine_for(RobotModel.from_file(path), 1)
    engine.set_physics_variation(PhysicsVariation(floor_friction=np.array([0.5])))
    (model,) = engine.env_models
    assert model.ngeom == engine.model.ngeom
    assert (model.geom_friction[:, 0] == 0.5).all()


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"floor_friction": np.ones(3)}, r"floor_friction: expected shape \(2,\)"),
        ({"floor_friction": np.array([1.0, 0.0])}, "floor_friction: must be > 0"),
        ({"floor_friction": np.array([1.0, np.nan])}, "floor_friction: holds non-finite"),
        ({"kp_scale": np.ones((2, D - 1))}, rf"kp_scale: expected shape \(2, {D}\)"),
        ({"kd_scale": -np.ones((2, D))}, "kd_scale: must be >= 0"),
        ({"added_mass": np.ones(2)}, "body_name: give it exactly when"),
        ({"body_name": "pelvis"}, "body_name: give it exactly when"),
        ({"body_name": "tail", "added_mass": np.ones(2)}, "no body named 'tail'"),
        ({"body_name": "pelvis", "added_mass": np.array([0.0, -1e3])}, "leaves no positive"),
        ({"body_name": "pelvis", "com_offset": np.ones((2, 2))}, r"com_offset: expected"),
    ],
)
def test_a_variation_that_does_not_fit_is_refused_before_anything_changes(
    humanoid, change, message
):
    engine = engine_for(humanoid, 2)
    with pytest.raises(ValueError, match=message):
        engine.set_physics_variation(dataclasses.replace(PhysicsVariation(), **change))
    assert engine.physics_variation is None and engine.env_models is None


def test_gain_scales_are_refused_in_torque_mode(humanoid):
    engine = engine_for(humanoid, 2, control_mode="torque")
    with pytest.raises(ValueError, match="kp_scale/kd_scale need PD actuators"):
        engine.set_physics_variation(PhysicsVariation(kp_scale=np.ones((2, D))))
    engine.set_physics_variation(PhysicsVariation(floor_friction=np.ones(2)))  # friction: fine
