"""The whole-body tracking task (``env_name: tracking``): its frames, observation, reward,
terminations and the env built from the shipped G1 config."""

from __future__ import annotations

import math

import pytest
import torch

from mjmimic.config import load_config, load_yaml
from mjmimic.engines import EngineConfig
from mjmimic.envs.done import DoneFlag
from mjmimic.envs.motion_tracking.config import TrackingEnvConfig
from mjmimic.envs.motion_tracking.env import TrackingEnv
from mjmimic.envs.motion_tracking.frames import (
    BodyFrames,
    projected_gravity,
    reanchored_reference,
    rotation_6d,
)
from mjmimic.envs.motion_tracking.rewards import TERMS, tracking_errors
from mjmimic.envs.motion_tracking.terminations import (
    TrackingTerminationSettings,
    compute_tracking_done,
)
from mjmimic.envs.reward_terms import max_reward, shipped_weights, weighted_reward
from mjmimic.errors import ConfigError
from mjmimic.paths import REPO_DIR
from mjmimic.rotations import quat_from_axis_angle, quat_normalize, quat_rotate

ENV_FILE = "configs/envs/tracking_g1.yaml"
ENGINE_FILE = "configs/engines/tracking_g1_engine.yaml"


def make_env(num_envs: int = 4, **overrides) -> TrackingEnv:
    data, _ = load_yaml(REPO_DIR / ENV_FILE)
    cfg = load_config(TrackingEnvConfig, {**data["env"], **overrides}, ENV_FILE, section="env")
    engine = load_config(EngineConfig, load_yaml(REPO_DIR / ENGINE_FILE)[0], ENGINE_FILE)
    return TrackingEnv(cfg, engine, num_envs, config_dir=(REPO_DIR / ENV_FILE).parent)


@pytest.fixture(scope="module")
def env(shared_data) -> TrackingEnv:
    return make_env(4)


def _yaw(angle: float, n: int = 1) -> torch.Tensor:
    return quat_from_axis_angle(torch.tensor([[0.0, 0.0, 1.0]] * n), torch.full((n,), angle))


def _random_frames(n: int, b: int, seed: int) -> BodyFrames:
    g = torch.Generator().manual_seed(seed)
    return BodyFrames(
        pos=torch.randn(n, b, 3, generator=g),
        quat=quat_normalize(torch.randn(n, b, 4, generator=g)),
        lin_vel=torch.randn(n, b, 3, generator=g),
        ang_vel=torch.randn(n, b, 3, generator=g),
    )


# ------------------------------------------------------------------------------- frames
def test_reanchoring_onto_the_reference_itself_changes_nothing():
    ref = _random_frames(3, 5, seed=1)
    pos, quat = reanchored_reference(ref, ref.pos[:, 2], ref.quat[:, 2], anchor=2)
    assert torch.allclose(pos, ref.pos, atol=1e-5)
    assert torch.allclose(quat.abs(), ref.quat.abs(), atol=1e-5)  # q and -q: one rotation


def test_reanchoring_moves_the_reference_to_the_robot_in_plane_and_heading_only():
    ref = _random_frames(1, 4, seed=2)
    ref.quat[:, 0] = torch.tensor([1.0, 0.0, 0.0, 0.0])  # an upright anchor
    shift = torch.tensor([[1.5, -0.5, 0.3]])
    robot_anchor_pos = ref.pos[:, 0] + shift
    robot_anchor_quat = _yaw(math.pi / 2)
    pos, _ = reanchored_reference(ref, robot_anchor_pos, robot_anchor_quat, anchor=0)
    # The anchor lands on the robot's x, y but keeps the reference's height ...
    assert torch.allclose(pos[:, 0, :2], robot_anchor_pos[:, :2], atol=1e-5)
    assert torch.allclose(pos[:, 0, 2], ref.pos[:, 0, 2], atol=1e-5)
    # ... and the other bodies turn with the heading about it.
    offset = quat_rotate(_yaw(math.pi / 2, 4)[None, :, :][0], (ref.pos - ref.pos[:, :1])[0])
    assert torch.allclose(pos[0] - pos[0, :1], offset, atol=1e-5)


def test_rotation_6d_and_projected_gravity_of_known_rotations():
    identity = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    assert torch.allclose(rotation_6d(identity), torch.tensor([[1.0, 0, 0, 1, 0, 0]]))
    assert torch.allclose(projected_gravity(identity), torch.tensor([[0.0, 0.0, -1.0]]))
    pitched = quat_from_axis_angle(torch.tensor([[0.0, 1.0, 0.0]]), torch.tensor([math.pi / 2]))
    # Nose down by 90°: gravity points along the body's +x.
    assert torch.allclose(projected_gravity(pitched), torch.tensor([[1.0, 0.0, 0.0]]), atol=1e-6)


# ------------------------------------------------------------------------------- reward
def _errors(robot: BodyFrames, ref: BodyFrames, anchor: int = 0) -> dict[str, torch.Tensor]:
    pos, quat = reanchored_reference(ref, robot.pos[:, anchor], robot.quat[:, anchor], anchor)
    return tracking_errors(
        robot_pos=robot.pos,
        robot_quat=robot.quat,
        robot_lin_vel=robot.lin_vel,
        robot_ang_vel=robot.ang_vel,
        ref_pos=ref.pos,
        ref_quat=ref.quat,
        ref_lin_vel=ref.lin_vel,
        ref_ang_vel=ref.ang_vel,
        reanchored_pos=pos,
        reanchored_quat=quat,
        anchor=anchor,
        tracked=torch.arange(ref.pos.shape[1]),
    )


def test_a_perfect_match_earns_the_sum_of_the_tracking_weights_and_no_penalty():
    ref = _random_frames(2, 6, seed=3)
    errors = _errors(ref, ref) | {
        "action_rate": torch.zeros(2),
        "joint_limit": torch.zeros(2),
        "undesired_contacts": torch.zeros(2),
    }
    weights = shipped_weights(TERMS)
    reward, terms = weighted_reward(TERMS, weights, errors)
    assert max_reward(TERMS, weights) == pytest.approx(5.0)
    assert torch.allclose(reward, torch.full((2,), 5.0), atol=1e-4)
    assert float(terms["body_pos"].min()) == pytest.approx(1.0, abs=1e-5)


def test_drifting_away_costs_only_the_anchor_term_not_the_body_terms():
    ref = _random_frames(1, 6, seed=4)
    moved = BodyFrames(
        pos=ref.pos + torch.tensor([2.0, 1.0, 0.0]),
        quat=ref.quat,
        lin_vel=ref.lin_vel,
        ang_vel=ref.ang_vel,
    )
    errors = _errors(moved, ref)
    assert float(errors["anchor_pos"]) == pytest.approx(5.0, rel=1e-5)
    assert float(errors["body_pos"]) < 1e-8  # judged relative to the anchor


def test_penalties_are_negative_and_count_actions_limits_and_contacts(env):
    obs = env.reset()
    assert torch.isfinite(obs).all()
    _, _, _, info = env.step(torch.zeros(env.num_envs, env.action_dim))
    terms = info["reward_terms"]
    assert set(terms) == {t.name for t in TERMS}
    assert (terms["action_rate"] == 0).all()  # 0 after 0
    big = env.action_bounds()[1].expand(env.num_envs, -1)
    _, _, _, info = env.step(big)
    assert (info["reward_terms"]["action_rate"] > 1.0).all()


# -------------------------------------------------------------------------- terminations
def _done(dz_anchor: float = 0.0, dz_ee: float = 0.0, tilt: float = 0.0, time: float = 1.0):
    ref = _random_frames(1, 3, seed=5)
    ref.quat[:] = torch.tensor([1.0, 0.0, 0.0, 0.0])
    robot_pos = ref.pos.clone()
    robot_pos[:, 0, 2] += dz_anchor
    robot_pos[:, 2, 2] += dz_ee + dz_anchor
    tilted = quat_from_axis_angle(torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([tilt]))
    robot_quat = tilted[:, None].expand(1, 3, 4).clone()
    reanchored, _ = reanchored_reference(ref, robot_pos[:, 0], robot_quat[:, 0], 0)
    return int(
        compute_tracking_done(
            time=torch.tensor([time]),
            episode_length=10.0,
            motion_time=torch.tensor([time]),
            motion_duration=torch.tensor([5.0]),
            motion_wraps=torch.tensor([False]),
            robot_pos=robot_pos,
            robot_quat=robot_quat,
            ref_pos=ref.pos,
            ref_quat=ref.quat,
            reanchored_pos=reanchored,
            anchor=0,
            end_effectors=torch.tensor([2]),
            ground_contact=torch.zeros(1, 3, dtype=torch.bool),
            contact_body_mask=torch.zeros(3, dtype=torch.bool),
            cfg=TrackingTerminationSettings(enable_early_termination=True),
        )[0]
    )


def test_terminations_fire_just_past_their_thresholds_and_never_at_time_zero():
    assert _done() == DoneFlag.NULL
    assert _done(dz_anchor=0.2) == DoneFlag.NULL
    assert _done(dz_anchor=0.3) == DoneFlag.FAIL
    assert _done(dz_ee=0.2) == DoneFlag.NULL
    assert _done(dz_ee=0.3) == DoneFlag.FAIL  # the foot that never lifts
    assert _done(tilt=0.5) == DoneFlag.NULL  # 1 - cos 0.5 = 0.12 < 0.8
    assert _done(tilt=1.4) == DoneFlag.FAIL  # 1 - cos 1.4 = 0.83
    assert _done(dz_anchor=0.5, time=0.0) == DoneFlag.NULL


# ----------------------------------------------------------------------------- the env
def test_the_g1_config_takes_its_default_pose_and_action_scale_from_the_profile(env):
    names = list(env.robot.dof_names)
    knee = names.index("left_knee_joint")
    assert float(env.default_dof_pos[knee]) == pytest.approx(0.669)
    assert float(env.action_scale[knee]) == pytest.approx(0.351)
    low, high = env.action_bounds()
    assert torch.allclose(low, -high)  # action 0 = the default pose
    q_low, q_high = env.engine.dof_limits()
    # Every PD target within the joint range can be commanded.
    assert (env.default_dof_pos + env.action_scale * high >= q_high - 1e-5).all()
    assert (env.default_dof_pos + env.action_scale * low <= q_low + 1e-5).all()
    assert torch.equal(env._command(torch.zeros(1, env.action_dim))[0], env.default_dof_pos)


def test_at_a_reference_start_the_robot_sees_the_reference_on_its_anchor(shared_data):
    env = make_env(3, obs_noise={}, domain_randomization=None)
    obs = env.reset()
    layout, start = {}, 0
    for t in env.policy_layout:
        layout[t.name] = obs[:, start : start + t.size]
        start += t.size
    assert torch.allclose(layout["motion_anchor_pos_b"], torch.zeros(3, 3), atol=1e-4)
    assert torch.allclose(
        layout["motion_anchor_ori_b"], torch.tensor([1.0, 0, 0, 1, 0, 0]).expand(3, 6), atol=1e-4
    )
    ref_dof = env.reference.get("dof_pos", [0])[:, 0]
    assert torch.allclose(layout["command"][:, : env.action_dim], ref_dof)
    assert torch.allclose(layout["joint_pos"], env.engine.dof_pos - env.default_dof_pos, atol=1e-5)
    assert torch.allclose(layout["projected_gravity"].norm(dim=-1), torch.ones(3), atol=1e-5)


def test_the_policy_reads_only_its_part_and_the_critic_all(env):
    assert env.policy_obs_dim < env.obs_dim
    labels = env.obs_labels()
    assert len(labels) == env.obs_dim
    assert all(not label.startswith("critic.") for label in labels[: env.policy_obs_dim])
    assert all(label.startswith("critic.") for label in labels[env.policy_obs_dim :])
    assert "base_lin_vel.x" not in labels[: env.policy_obs_dim]  # a robot has no such sensor


def test_observation_noise_goes_to_the_named_policy_terms_only(shared_data):
    quiet, noisy = make_env(2, obs_noise={}), make_env(2)
    for e in (quiet, noisy):
        torch.manual_seed(0)
        e.reset()
    torch.manual_seed(1)
    obs_q = quiet.reset()
    torch.manual_seed(1)
    obs_n = noisy.reset()
    p = quiet.policy_obs_dim
    assert not torch.allclose(obs_q[:, :p], obs_n[:, :p])
    assert torch.allclose(obs_q[:, p:], obs_n[:, p:], atol=1e-5)  # the critic's: clean
    command = quiet.action_dim * 2
    assert torch.allclose(obs_q[:, :command], obs_n[:, :command])  # no noise configured


def test_unknown_names_are_one_line_errors_naming_the_key(shared_data):
    with pytest.raises(ConfigError, match=r"obs_noise.*'base_velocity'"):
        make_env(1, obs_noise={"base_velocity": 0.1})
    with pytest.raises(ConfigError, match=r"anchor_body.*unknown body 'chest'"):
        make_env(1, anchor_body="chest")
    with pytest.raises(ConfigError, match=r"action_scale.*unknown DoF 'knee'"):
        make_env(1, action_scale={"knee": 0.3})


# ---------------------------------------------------------------------- randomization
def test_the_g1_config_randomizes_each_env_and_a_resumed_env_gets_the_same_draws(env):
    variation = env.engine.physics_variation
    assert variation is not None and variation.body_name == "torso_link"
    assert len(set(variation.floor_friction.tolist())) == env.num_envs
    bias = env.randomizer.encoder_bias
    assert bias.abs().max() <= 0.01 and bias.abs().max() > 0
    state = env.state_dict()
    other = make_env(env.num_envs)
    assert not torch.equal(other.randomizer.encoder_bias, bias)  # a new draw ...
    other.load_state_dict(state)  # ... until the checkpoint's is loaded
    assert torch.equal(other.randomizer.encoder_bias, bias)
    assert (other.engine.physics_variation.floor_friction == variation.floor_friction).all()


def test_the_policy_reads_biased_encoders_and_the_pd_loop_closes_on_them(shared_data):
    env = make_env(2, obs_noise={}, domain_randomization={"encoder_bias": 0.01})
    env.reset()
    bias = env.randomizer.encoder_bias
    assert bias.abs().max() > 0
    assert torch.allclose(env.observed_dof_pos(), env.engine.dof_pos + bias)
    # The engine gets the target minus the bias: what a robot's PD on biased encoders does.
    command = env.randomizer.command(env._command(torch.zeros(2, env.action_dim)))
    assert torch.allclose(command, env.default_dof_pos - bias)


def test_latency_delays_the_command_by_whole_control_steps(shared_data):
    env = make_env(2, domain_randomization={"action_latency_steps": [1, 1]})
    env.reset()
    start = env.engine.dof_pos.clone()
    first = env.randomizer.command(torch.ones(2, env.action_dim))
    assert torch.allclose(first, start)  # the pose the episode started in, held
    second = env.randomizer.command(torch.full((2, env.action_dim), 2.0))
    assert torch.allclose(second, torch.ones(2, env.action_dim))


def test_a_deepmimic_config_has_no_randomization(shared_data):
    from tests.envs.test_deepmimic_env import WALK
    from tests.envs.test_deepmimic_env import make_env as make_deepmimic

    assert make_deepmimic(WALK, 1).randomizer is None
