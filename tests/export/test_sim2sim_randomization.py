"""``mjmimic sim2sim --randomize``: the training ranges travel in the ONNX metadata, every
episode is a new robot drawn from them, and a drawn robot behaves in sim2sim as the same
draw does in the training env (physics, encoder bias, latency); pushes and observation
noise; where the ranges come from and the errors when they are wrong.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import mujoco
import numpy as np
import onnx
import pytest
import torch
import yaml

from mjmimic.envs.randomization import DomainRandomizationConfig
from mjmimic.errors import MjmimicError
from mjmimic.export.episodes import run_episodes
from mjmimic.export.metadata import read_policy
from mjmimic.export.sim2sim import Sim2Sim
from mjmimic.export.sim2sim_randomization import RandomizationRanges, randomization_source
from mjmimic.robots.profiles import robot_from_arg
from mjmimic.training import checkpoint
from mjmimic.training.setup import RunConfig, build_env_and_agent

REPO = Path(__file__).resolve().parents[2]
G1 = robot_from_arg("g1").source
TRACKING_YAML = REPO / "configs" / "envs" / "tracking_g1.yaml"
# Same state, same commands, the same drawn robot in both: measured 2e-6 m / 1e-5 rad
# after 25 steps (float32 commands); the margin covers contacts amplifying rounding.
ROOT_TOL = 1e-4
JOINT_TOL = 1e-3


def _training_ranges() -> dict:
    return yaml.safe_load(TRACKING_YAML.read_text())["env"]["domain_randomization"]


def _ranges(**changes) -> RandomizationRanges:
    return RandomizationRanges(DomainRandomizationConfig(**{**_training_ranges(), **changes}))


def test_export_embeds_the_training_ranges(tracking_exported, exported):
    meta = read_policy(tracking_exported.policy)[1]
    embedded = {k: v for k, v in meta.domain_randomization.items() if v is not None}
    assert embedded == {**_training_ranges(), "resample_on_reset": False}
    assert read_policy(exported.policy)[1].domain_randomization is None
    props = {p.key for p in onnx.load(str(exported.policy)).metadata_props}
    assert "mjmimic.domain_randomization" not in props  # version 1 files keep their keys


def test_each_episode_is_a_new_robot_within_the_ranges(tracking_exported):
    cfg = _training_ranges()
    sim = Sim2Sim(tracking_exported.policy, G1, randomization=_ranges(), seed=5)
    nominal = sim.nominal_model
    torso = mujoco.mj_name2id(nominal, mujoco.mjtObj.mjOBJ_BODY, cfg["mass_body"])
    draws = []
    for _ in range(3):
        sim.start_episode(0.5)
        m, rand = sim.model, sim.randomization
        assert m is not nominal
        friction = m.geom_friction[:, 0]
        assert np.all(friction == friction[0])  # one floor friction for every contact
        assert cfg["floor_friction"][0] <= friction[0] <= cfg["floor_friction"][1]
        added = m.body_mass[torso] - nominal.body_mass[torso]
        assert cfg["added_mass"][0] <= added <= cfg["added_mass"][1]
        shift = np.abs(m.body_ipos[torso] - nominal.body_ipos[torso])
        assert np.all(shift <= np.array(cfg["com_offset"]) + 1e-12)
        kp = m.actuator_gainprm[:, 0] / nominal.actuator_gainprm[:, 0]
        kd = m.actuator_biasprm[:, 2] / nominal.actuator_biasprm[:, 2]
        for scale, (low, high) in ((kp, cfg["kp_scale"]), (kd, cfg["kd_scale"])):
            assert np.all((scale >= low - 1e-9) & (scale <= high + 1e-9))
            assert np.ptp(scale) > 0  # drawn per joint
        assert np.all(np.abs(rand.encoder_bias) <= cfg["encoder_bias"])
        assert rand.latency in (0, 1)
        draws.append((friction[0], added, kp.copy()))
    assert len({d[0] for d in draws}) == 3 and len({d[1] for d in draws}) == 3
    # The nominal scene itself is never changed.
    assert np.all(nominal.geom_friction[:, 0] == sim.meta.physics.floor_friction)
    # The same seed draws the same robots.
    again = Sim2Sim(tracking_exported.policy, G1, randomization=_ranges(), seed=5)
    again.start_episode(0.5)
    assert again.model.geom_friction[0, 0] == draws[0][0]
    np.testing.assert_array_equal(
        again.model.actuator_gainprm[:, 0] / nominal.actuator_gainprm[:, 0], draws[0][2]
    )


@pytest.fixture(scope="module")
def randomized_env(tracking_exported):
    """One training env of the tracking run with its randomization on (pushes and
    observation noise off: their draws are the engine's and sim2sim's own)."""
    saved = checkpoint.load(tracking_exported.run_dir / "model.pt", checkpoint.MODEL_FORMAT)
    run = RunConfig.from_dict(saved["config"], "model.pt")
    run.engine.num_threads = 1
    run.env.obs_noise = {}
    dr = run.env.domain_randomization
    dr.push_interval = dr.push_lin_vel = dr.push_ang_vel = None
    dr.action_latency_steps = [1, 1]  # every robot one step late: the delay is exercised
    run.env.rand_reset = False
    env, _ = build_env_and_agent(run, num_envs=1)
    yield env
    env.engine.close()


def test_a_drawn_robot_moves_as_the_same_draw_in_training(
    tracking_exported, randomized_env, on_clip, monkeypatch
):
    """The training env given sim2sim's draw (physics, encoder bias, one step of latency)
    and sim2sim, from the same state under the same raw actions: the same observations,
    the same commands reaching the actuators, the same trajectory."""
    env = randomized_env
    ranges = _ranges(push_interval=None, push_lin_vel=None, push_ang_vel=None)
    ranges.config.action_latency_steps = [1, 1]
    sim = Sim2Sim(tracking_exported.policy, G1, env.clip_names()[0], randomization=ranges, seed=2)
    sim.start_episode(0.0)
    rand = sim.randomization
    assert rand.latency == 1 and np.abs(rand.encoder_bias).max() > 1e-3
    env.engine.set_physics_variation(rand.variation)
    env.randomizer.encoder_bias = torch.from_numpy(rand.encoder_bias).float()[None]
    obs = on_clip(env, 0)
    assert float(env.motion_start[0] + env.time[0]) == 0.0
    qpos, qvel = (t.numpy() for t in env.engine.physics_state())
    sim.data.qpos[:], sim.data.qvel[:] = qpos[0], qvel[0]
    mujoco.mj_forward(sim.model, sim.data)
    sent = []
    step = env.engine.step
    monkeypatch.setattr(env.engine, "step", lambda cmd: (sent.append(cmd.clone()), step(cmd))[1])
    p, (low, high) = env.policy_obs_dim, env.action_bounds()
    gen = torch.Generator().manual_seed(8)
    moved = 0.0
    for k in range(25):
        assert np.abs(sim.observe() - obs[0, :p].numpy()).max() <= 1e-4
        # Within the bounds, as the exported graph clips (the env observes clipped actions).
        action = torch.clamp(0.3 * torch.randn(1, env.action_dim, generator=gen), low, high)
        obs, _, _, _ = env.step(action)
        sim.step(action[0].numpy())
        np.testing.assert_allclose(sim.data.ctrl, sent[-1][0].numpy(), atol=1e-5)
        if k == 0:  # one step late: the first step holds the start pose, bias and all
            np.testing.assert_allclose(sim.data.ctrl, qpos[0, 7:], atol=1e-5)
        env_qpos = env.engine.physics_state()[0].numpy()[0]
        assert np.abs(sim.data.qpos[:3] - env_qpos[:3]).max() <= ROOT_TOL
        assert np.abs(sim.data.qpos[7:] - env_qpos[7:]).max() <= JOINT_TOL
        moved = max(moved, float(np.abs(env_qpos[7:] - qpos[0, 7:]).max()))
    assert moved > 20 * JOINT_TOL


def test_pushes_change_the_root_velocity_in_world_axes(tracking_exported):
    sim = Sim2Sim(tracking_exported.policy, G1, randomization=_ranges(), seed=0)
    sim.start_episode(0.5)
    rand = sim.randomization
    q, d = sim.robot.root_qpos, sim.robot.root_dof
    yaw = np.pi / 2  # the root turned a quarter about z: world x is its -y
    sim.data.qpos[q + 3 : q + 7] = [np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)]
    sim.data.qvel[:] = 0.0
    push = (torch.tensor([0]), torch.tensor([[0.3, 0.0, 0.1]]), torch.tensor([[0.5, 0.0, 0.0]]))
    rand.pushes = SimpleNamespace(step=lambda: push)
    rand.push(sim.data)
    np.testing.assert_allclose(sim.data.qvel[d : d + 3], [0.3, 0.0, 0.1], atol=1e-12)
    np.testing.assert_allclose(sim.data.qvel[d + 3 : d + 6], [0.0, -0.5, 0.0], atol=1e-12)
    assert rand.pushes_applied == 1


def test_observation_noise_follows_the_terms(tracking_exported):
    meta = read_policy(tracking_exported.policy)[1]
    ranges = randomization_source(meta, tracking_exported.policy, None)
    sim = Sim2Sim(tracking_exported.policy, G1, randomization=ranges, seed=1)
    sim.start_episode(0.5)
    rand = sim.randomization
    clean = np.zeros(meta.observation.size, dtype=np.float32)
    noisy = rand.observe(clean)
    start = 0
    for term in meta.observation.terms:
        block = noisy[start : start + term.size]
        bound = meta.observation.noise.get(term.name, 0.0)
        assert np.all(np.abs(block) <= bound + 1e-6)
        if bound > 0:
            assert np.abs(block).max() > 0.2 * bound  # really drawn, not zero
        else:
            assert not block.any()
        start += term.size
    assert noisy.dtype == np.float32


def test_randomized_episodes_report_and_repeat(tracking_exported, cli, tmp_path):
    out = tmp_path / "randomized.json"
    argv = ["sim2sim", str(tracking_exported.policy), "--robot", "g1", "--episodes", "3"]
    result = cli([*argv, "--randomize", "--seed", "4", "--json", str(out)])
    assert result.code == 0, result.err
    numbers = json.loads(out.read_text())
    assert "floor_friction" in numbers["randomization"]
    assert "the policy's training ranges" in numbers["randomization"]
    assert numbers["pushes"] >= 0
    assert "randomization:       floor_friction" in result.out
    nominal = cli([*argv, "--seed", "4", "--json", str(tmp_path / "nominal.json")])
    plain = json.loads((tmp_path / "nominal.json").read_text())
    assert plain["randomization"] is None
    assert "randomization:       none (the nominal robot)" in nominal.out
    # Episode by episode the same clips and start times as the nominal run of that seed.
    pick = [(r["clip"], r["start"]) for r in numbers["runs"]]
    assert pick == [(r["clip"], r["start"]) for r in plain["runs"]]
    again = Sim2Sim(tracking_exported.policy, G1, randomization=_ranges(), seed=4)
    twice = Sim2Sim(tracking_exported.policy, G1, randomization=_ranges(), seed=4)
    assert run_episodes(again, 3, 4, 5.0).numbers() == run_episodes(twice, 3, 4, 5.0).numbers()


def test_ranges_from_a_file_for_a_policy_trained_without(exported, cli, one_line_error, tmp_path):
    base = ["sim2sim", str(exported.policy), "--robot", "humanoid", "--episodes", "2"]
    one_line_error(
        cli([*base, "--randomize"]), "trained without randomization", "--randomization_config"
    )
    ranges = tmp_path / "ranges.yaml"
    ranges.write_text(
        "domain_randomization:\n  floor_friction: [0.4, 0.6]\n  kp_scale: [0.9, 1.1]\n"
    )
    result = cli([*base, "--randomize", "--randomization_config", str(ranges)])
    assert result.code == 0, result.err
    assert f"floor_friction, kp_scale; observation noise none ({ranges})" in result.out
    # An env YAML works as it is (nested layout, its other keys not read).
    meta = read_policy(exported.policy)[1]
    nested = tmp_path / "env.yaml"
    nested.write_text(
        yaml.safe_dump({"env_name": "x", "env": {"domain_randomization": {"encoder_bias": 0.01}}})
    )
    assert randomization_source(meta, exported.policy, nested).config.encoder_bias == 0.01


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("domain_randomization:\n  floor_frictoin: [0.4, 0.6]\n", ["floor_frictoin"]),
        ("domain_randomization:\n  kp_scale: [1.2, 0.8]\n", ["kp_scale", "above high"]),
        ("domain_randomization:\n  added_mass: [0, 1]\n", ["mass_body", "required"]),
        ("obs_noise:\n  joint_poss: 0.1\n", ["obs_noise.joint_poss", "no such term"]),
        ("obs_noise:\n  joint_pos: -1\n", ["obs_noise.joint_pos", ">= 0"]),
        ("reward_pose_w: 1\n", ["no domain_randomization or obs_noise key"]),
    ],
)
def test_bad_ranges_are_one_line_errors(
    text, needles, tracking_exported, cli, one_line_error, tmp_path
):
    ranges = tmp_path / "ranges.yaml"
    ranges.write_text(text)
    argv = ["sim2sim", str(tracking_exported.policy), "--robot", "g1", "--seconds", "0.1"]
    one_line_error(cli([*argv, "--randomize", "--randomization_config", str(ranges)]), *needles)


def test_randomization_config_needs_randomize(tracking_exported, cli, one_line_error, tmp_path):
    argv = ["sim2sim", str(tracking_exported.policy), "--robot", "g1"]
    one_line_error(cli([*argv, "--randomization_config", str(TRACKING_YAML)]), "add --randomize")


def test_damaged_embedded_ranges_are_refused(tracking_exported, tmp_path):
    proto = onnx.load(str(tracking_exported.policy))
    for prop in proto.metadata_props:
        if prop.key == "mjmimic.domain_randomization":
            prop.value = json.dumps({"kp_scale": [0.9, 1.1], "gain_jitter": 3})
    bad = tmp_path / "bad.onnx"
    onnx.save(proto, str(bad))
    with pytest.raises(MjmimicError, match=r"mjmimic\.domain_randomization.*gain_jitter"):
        read_policy(bad)
