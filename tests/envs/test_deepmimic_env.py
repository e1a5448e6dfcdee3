"""The DeepMimic env class: reference bookkeeping, reference replay, resets, bounds."""

from __future__ import annotations

import pytest
import torch

from mjmimic.config import load_config, load_yaml
from mjmimic.engines import EngineConfig
from mjmimic.envs.deepmimic.config import DeepMimicEnvConfig
from mjmimic.envs.deepmimic.env import DeepMimicEnv
from mjmimic.envs.done import DoneFlag
from mjmimic.paths import REPO_DIR


def make_env(env_file: str, num_envs: int, **env_overrides) -> DeepMimicEnv:
    data, _ = load_yaml(REPO_DIR / env_file)
    env_cfg = load_config(
        DeepMimicEnvConfig, {**data["env"], **env_overrides}, env_file, section="env"
    )
    engine_data = {**load_yaml(REPO_DIR / "configs/engines/mujoco_cpu.yaml")[0]}
    engine_data.update(data.get("engine", {}))
    engine_cfg = load_config(EngineConfig, engine_data, env_file, section="engine")
    return DeepMimicEnv(env_cfg, engine_cfg, num_envs, config_dir=(REPO_DIR / env_file).parent)


SQUAT = "configs/envs/deepmimic_humanoid_squat.yaml"
WALK = "configs/envs/deepmimic_humanoid_walk.yaml"


def replay_step(env: DeepMimicEnv):
    """Step with the reference pose of the next step as PD target (zero policy residual)."""
    ref = env.motion_lib.get_state(env.motion_ids, env.motion_start + env.time + env.dt)
    return env.step(ref.dof_pos)


def test_observation_size_of_the_shipped_humanoid_config():
    env = make_env(SQUAT, 2)
    # MimicKit's layout for a 15-body, 28-DoF humanoid with 5 key bodies, root height,
    # global obs and target steps [1, 2, 3]: 140 proprioceptive + 3 x 108 targets.
    assert env.obs_dim == 464
    assert env.reset().shape == (2, 464)


def test_reference_window_equals_direct_motion_lookups():
    env = make_env(WALK, 6)
    env.reset()
    for step in range(12):
        replay_step(env)
        if step == 5:  # some envs restart mid-way
            env.reset(torch.tensor([1, 4]))
        now = env.motion_start + env.time
        for offset in (0, 1, 2, 3):
            expected = env.motion_lib.get_state(env.motion_ids, now + offset * env.dt)
            for name in ("root_pos", "root_rot", "joint_rot", "body_pos", "dof_vel"):
                got = env.reference.get(name, [offset])[:, 0]
                # float32 time sums differ by ~1e-7 s between the two paths
                assert torch.allclose(got, getattr(expected, name), atol=1e-4), (name, offset)


def test_zero_residual_replay_tracks_the_squat_with_near_perfect_reward():
    env = make_env(SQUAT, 8)
    env.reset()
    rewards = []
    for _ in range(60):
        _, reward, done, _ = replay_step(env)
        rewards.append(reward)
        assert not (done == DoneFlag.FAIL).any()
    assert torch.stack(rewards).mean() > 0.97


def test_reference_replay_of_the_imported_walk_tracks_and_does_not_fall_for_a_second():
    """Zero policy residual from a reference start proves units, axes and gains: for the
    first 0.2 s joints and root track the clip closely, and for 1 s
    nothing but the feet touches the ground and the pelvis stays above 0.55 m. Open-loop PD
    cannot balance a walk for long: measured, the body starts tipping at ~0.5 s and falls
    at ~1.15 s; balancing is what the policy learns."""
    env = make_env(WALK, 4, rand_reset=False)
    env.compute_tracking_errors = True
    env.reset()
    for step in range(30):  # 1 s at 30 Hz
        _, _, done, info = replay_step(env)
        assert not (done == DoneFlag.FAIL).any(), step
        assert (env.engine.root_pos[:, 2] > 0.55).all(), step
        if step < 6:  # the first 0.2 s: the open-loop drift has not built up yet
            assert (info["tracking"]["joint_rot_err"] < 0.15).all(), step
            assert (info["tracking"]["root_pos_err"] < 0.05).all(), step


def test_full_episode_steps_stop_where_a_non_looping_clip_ends(shared_data):
    kick = str(shared_data / "motions/deepmimic/humanoid3d_kick.txt")
    env = make_env(WALK, 64, motion_file=kick)  # kick: loop "none" -> clamp
    env.reset()
    duration = env.motion_lib.clip_duration(env.motion_ids)
    remaining = torch.ceil((duration - env.motion_start) / env.dt - 1e-6).clamp_min(1.0)
    assert torch.equal(env.full_episode_steps(), remaining)
    assert float(env.full_episode_steps().max()) < env.cfg.episode_length / env.dt
    assert torch.allclose(env.best_episode_return(), env.max_reward * remaining)
    walk = make_env(WALK, 4)  # a wrap clip runs to the time limit
    walk.reset()
    assert walk.full_episode_steps().tolist() == [300.0] * 4


def test_a_fall_ends_the_episode_with_fail_and_time_ends_the_rest():
    env = make_env(SQUAT, 4, episode_length=1.0)
    env.reset()
    # Every joint driven to its lower limit: the character folds up and falls over.
    crumple = torch.tensor(env.robot.dof_low, dtype=torch.float32).expand(4, -1)
    first = None
    for step in range(60):
        _, _, done, _ = env.step(crumple)
        if (done == DoneFlag.FAIL).any():
            first = step
            fallen = torch.nonzero(done == DoneFlag.FAIL).flatten()
            touching = env.engine.ground_contact[fallen] & ~env.contact_body_mask
            assert touching.any(dim=-1).all()  # a body that may not touch the ground did
            break
    assert first is not None and first > 0
    env = make_env(SQUAT, 2, episode_length=1.0)
    env.reset()
    flags = [replay_step(env)[2] for _ in range(30)]
    assert (flags[-1] == DoneFlag.TIME).all() and all((f == 0).all() for f in flags[:-1])


def test_reset_of_some_envs_leaves_the_others_observation_alone():
    env = make_env(SQUAT, 4)
    obs = env.reset().clone()
    for _ in range(3):
        obs, *_ = replay_step(env)
    before = obs.clone()
    after = env.reset(torch.tensor([0, 2]))
    assert torch.equal(after[[1, 3]], before[[1, 3]])
    assert (env.time[[0, 2]] == 0).all() and (env.time[[1, 3]] > 0).all()


def test_action_bounds_follow_the_pd_target_rule():
    env = make_env(SQUAT, 1)  # zero_center_action: True
    low, high = env.action_bounds()
    knee = env.robot.dof_names.index("right_knee")  # range [0, 2.8]
    assert low[knee] == pytest.approx(-1.4 * 2.8) and high[knee] == pytest.approx(1.4 * 2.8)
    env = make_env(SQUAT, 1, zero_center_action=False)
    low, high = env.action_bounds()
    assert low[knee] == pytest.approx(1.4 - 1.4 * 1.4) and high[knee] == pytest.approx(
        1.4 + 1.4 * 1.4
    )


def test_unknown_key_body_lists_the_robots_bodies():
    from mjmimic.errors import ConfigError

    with pytest.raises(ConfigError, match=r"unknown body .hed..*bodies are: pelvis, torso, head"):
        make_env(SQUAT, 1, key_bodies=["hed"])


def test_adaptive_sampling_starts_training_where_the_worst_body_is_off():
    """Training steps score the clip's bins by the worst key body's error; training resets
    then start in the bins scored worst, test-mode resets (tracking on) uniformly."""
    env = make_env(SQUAT, 32, adaptive_sampling={"bin_seconds": 0.25, "floor": 0.1})
    sampler = env.start_sampler
    env.reset()
    standing = env.engine.dof_pos.clone()
    for _ in range(60):
        _, _, done, _ = env.step(standing)
        ids = torch.nonzero(done).flatten()
        if ids.numel():
            env.reset(ids)
    assert bool(sampler.visited.all()) and float(sampler.score.min()) > 0.01
    # A clip whose 1.25-1.5 s bin the policy misses: most training starts go there.
    sampler.score[:] = 0.02
    sampler.score[5] = 0.9

    def share_in_bin5() -> float:
        starts = []
        for _ in range(8):
            env.reset()
            starts.append(env.motion_start.clone())
        starts = torch.cat(starts)
        return float(((starts >= 1.25) & (starts < 1.5)).float().mean())

    torch.manual_seed(0)
    assert share_in_bin5() > 0.6
    env.set_tracking(True)
    assert share_in_bin5() < 0.3  # uniform: 1/8
    env.set_tracking(False)
    # What a resumed run gets back from the checkpoint.
    other = make_env(SQUAT, 2, adaptive_sampling={"bin_seconds": 0.25, "floor": 0.1})
    other.load_state_dict(env.state_dict())
    torch.testing.assert_close(other.start_sampler.probabilities(0), sampler.probabilities(0))
