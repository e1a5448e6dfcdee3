"""The AMP env: discriminator observations and history, demonstrations, episodes that
outlast their clip, the capabilities it answers, MimicKit's files, export and sim2sim."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import yaml

from mjmimic.agents.ppo import PPOAgent
from mjmimic.cli.main import main
from mjmimic.config import load_config, load_yaml
from mjmimic.engines import EngineConfig
from mjmimic.envs.amp.config import AMPEnvConfig
from mjmimic.envs.amp.env import AMPEnv
from mjmimic.envs.capabilities import (
    Deployable,
    DiscriminatorDemos,
    EpisodeBounds,
    ReferenceMotions,
    ReturnBounds,
    TrackingMetrics,
    capability,
)
from mjmimic.envs.deepmimic.config import DeepMimicEnvConfig
from mjmimic.envs.deepmimic.env import DeepMimicEnv
from mjmimic.envs.done import DoneFlag
from mjmimic.errors import ConfigError
from mjmimic.export.onnx_export import export_policy
from mjmimic.export.sim2sim import Sim2Sim
from mjmimic.paths import ASSETS_DIR, REPO_DIR
from mjmimic.training import checkpoint
from mjmimic.training.setup import EnvFile, RunConfig, build_env

AMP = "configs/envs/amp_humanoid.yaml"
ENGINE = REPO_DIR / "configs/engines/mujoco_cpu.yaml"
HUMANOID = ASSETS_DIR / "robots" / "humanoid" / "humanoid.xml"


def make_env(env_file: str, num_envs: int, cls=AMPEnv, config_cls=AMPEnvConfig, **overrides):
    """An env of a flat (MimicKit-layout) env YAML, with keys overridden."""
    data, _ = load_yaml(REPO_DIR / env_file)
    known = {f.name for f in dataclasses.fields(config_cls)}
    data = {k: v for k, v in data.items() if k in known}  # DeepMimic: no num_disc_obs_steps
    env_cfg = load_config(config_cls, {**data, **overrides}, env_file, section="env")
    engine_cfg = load_config(EngineConfig, load_yaml(ENGINE)[0], str(ENGINE), section="engine")
    engine_cfg.num_threads = 1
    return cls(env_cfg, engine_cfg, num_envs, config_dir=(REPO_DIR / env_file).parent)


def direct_reference(env, clips, t0, n):
    """Reference states at t0-(n-1)dt ... t0, one motion-library query per frame."""
    return [env.motion_lib.get_state(clips, t0 - (n - 1 - k) * env.dt) for k in range(n)]


@pytest.fixture(scope="module")
def amp_env():
    env = make_env(AMP, 3)
    yield env
    env.close()


def test_sizes_info_and_zero_reward(amp_env):
    env, robot = amp_env, amp_env.robot
    b, d, k, n = robot.num_bodies, robot.num_dofs, len(env.cfg.key_bodies), 10
    assert (b, d, k) == (15, 28, 5)
    per_frame = 3 + 6 + 6 * (b - 1) + 3 * k + 3 + 3 + d
    assert env.disc_obs_dim == n * per_frame == 1420
    assert env.obs_dim == 1 + 6 + 3 + 3 + 6 * (b - 1) + d + 3 * k  # no phase, no targets
    assert env.info_spec.extras == {"disc_obs": (1420,)}
    assert env.info_spec.reward_terms == ()
    assert len(env.disc_obs_labels()) == 1420
    env.reset()
    obs, reward, _, info = env.step(torch.zeros(3, env.action_dim))
    assert obs.shape == (3, env.obs_dim)
    assert torch.equal(reward, torch.zeros(3))
    assert info["reward_terms"] == {}
    assert info["disc_obs"].shape == (3, 1420) and torch.isfinite(info["disc_obs"]).all()
    assert torch.equal(info["disc_obs"], env.current_disc_obs())


def test_history_is_prefilled_from_the_reference_then_follows_the_simulation(amp_env):
    env, n = amp_env, 10
    env.reset()
    t0, clips = env.motion_start.clone(), env.motion_ids.clone()
    window = env.disc_history.window()
    for k, ref in enumerate(direct_reference(env, clips, t0, n)):
        assert torch.allclose(window.root_pos[:, k], ref.root_pos, atol=1e-5), k
        assert torch.allclose(window.root_rot[:, k], ref.root_rot, atol=1e-5), k
        assert torch.allclose(window.dof_vel[:, k], ref.dof_vel, atol=1e-4), k
        assert torch.allclose(window.body_pos[:, k], ref.body_pos, atol=1e-5), k
    prefill = window
    simulated = []
    for _ in range(3):
        env.step(torch.zeros(3, env.action_dim))
        simulated.append(env.char_state())
    window = env.disc_history.window()
    for j, char in enumerate(simulated):  # the newest three frames, oldest first
        for name in ("root_pos", "root_rot", "root_vel", "joint_rot", "dof_vel", "body_pos"):
            assert torch.equal(getattr(window, name)[:, n - 3 + j], getattr(char, name)), name
        assert torch.equal(window.key_pos[:, n - 3 + j], char.key_pos)
    assert torch.equal(window.body_pos[:, : n - 3], prefill.body_pos[:, 3:])  # shifted
    # A reset of env 1 refills its window only.
    env.reset(torch.tensor([1]))
    again = env.disc_history.window()
    refs = direct_reference(env, env.motion_ids[1:2], env.motion_start[1:2], n)
    assert torch.allclose(again.root_pos[1], torch.cat([r.root_pos for r in refs]), atol=1e-5)
    assert torch.equal(again.root_pos[[0, 2]], window.root_pos[[0, 2]])


@pytest.mark.parametrize("rand_reset, atol", [(False, 1e-4), (True, 5e-3)])
def test_demo_encoding_is_the_envs_encoding_of_the_same_state(rand_reset, atol):
    """The simulated character set exactly to the reference at (clip, t0) and the demo
    window ending at (clip, t0) give the same discriminator observation: same frames,
    same units. At frame times (t0 = 0) up to float rounding; between frames the clip's
    body positions are interpolated while FK of the interpolated pose bends the limbs
    slightly differently (about a millimetre)."""
    env = make_env(AMP, 4, num_disc_obs_steps=1, rand_reset=rand_reset)
    env.reset()
    env.disc_history.push(env.char_state())  # the simulated state right after the reset
    demo = env.demo_disc_obs(env.motion_ids, env.motion_start)
    assert torch.allclose(env.current_disc_obs(), demo, atol=atol)
    # A different time is a different observation.
    other = env.demo_disc_obs(env.motion_ids, env.motion_start + 0.3)
    assert (other - demo).abs().max() > 10 * atol
    env.close()


def test_demo_samples_draw_clips_and_times_and_use_the_env_encoding(amp_env):
    env = amp_env
    assert capability(env, DiscriminatorDemos) is env
    torch.manual_seed(3)
    demos = env.sample_demo_disc_obs(6)
    torch.manual_seed(3)
    clips = env.motion_lib.sample_clips(6)
    times = env.motion_lib.sample_times(clips)
    assert demos.shape == (6, env.disc_obs_dim)
    assert torch.equal(demos, env.demo_disc_obs(clips, times))
    assert len(set(times.tolist())) == 6  # random times, not one window six times
    # The demo of the window an env was reset into is that env's first observation.
    env.reset()
    assert torch.allclose(
        env.current_disc_obs(), env.demo_disc_obs(env.motion_ids, env.motion_start), atol=1e-6
    )


def test_an_episode_goes_on_past_the_end_of_a_non_looping_clip(shared_data):
    kick = str(shared_data / "motions/deepmimic/humanoid3d_kick.txt")  # loop "none", 1.53 s
    keys = dict(motion_file=kick, rand_reset=False, episode_length=1.75)
    keys.update(enable_early_termination=False)
    amp = make_env(AMP, 2, **keys)
    rewards = {
        f"reward_{t}_{k}": 1.0
        for t in ("pose", "vel", "root_pose", "root_vel", "key_pos")
        for k in ("w", "scale")
    }
    deepmimic = make_env(AMP, 2, DeepMimicEnv, DeepMimicEnvConfig, **keys, **rewards)
    steps = math.ceil(1.75 / amp.dt)  # 53
    assert torch.equal(amp.full_episode_steps(), torch.full((2,), float(steps)))
    clip_end = math.ceil(1.5333 / amp.dt)
    for env in (amp, deepmimic):
        env.reset()
        flags = []
        for _ in range(steps):
            flags.append(env.step(torch.zeros(2, env.action_dim))[2])
        flags = torch.stack(flags)
        if env is amp:
            assert (flags[:-1] == DoneFlag.NULL).all()
            assert (flags[-1] == DoneFlag.TIME).all()
        else:  # the same config as DeepMimic succeeds where the clip ends
            first = (flags == DoneFlag.SUCC).float().argmax(0)
            assert (flags[first, [0, 1]] == DoneFlag.SUCC).all()
            assert ((first - (clip_end - 1)).abs() <= 1).all()
        env.close()


def test_capabilities_withhold_tracking_and_best_return_but_keep_episode_length(shared_data):
    kick = str(shared_data / "motions/deepmimic/humanoid3d_kick.txt")
    env = make_env(AMP, 16, motion_file=kick)  # random starts in a clip shorter than 10 s
    env.reset()
    assert capability(env, TrackingMetrics) is None
    assert capability(env, ReturnBounds) is None
    assert hasattr(env, "set_tracking") and hasattr(env, "best_episode_return")  # inherited
    bounds = capability(env, EpisodeBounds)
    assert bounds is env
    assert torch.equal(bounds.full_episode_steps(), torch.full((16,), 300.0))
    assert capability(env, ReferenceMotions) is env
    assert capability(env, Deployable) is env
    env.close()


# ---------------------------------------------------------------------------------------
# MimicKit's files

MIMICKIT_AMP = """\
env_name: "amp"

char_file: "data/assets/humanoid/humanoid.xml"
camera_mode: "track"

episode_length: 10.0
global_obs: True
root_height_obs: True
pose_termination: False
enable_phase_obs: False
enable_tar_obs: False
num_disc_obs_steps: 10
rand_reset: True

ref_char_offset: [2.0, 0.0, 0.0]
init_pose: [0, 0, 0.88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1.57, 0, 0, 0, -1.57, 0, 0, 0, 0, 0]

enable_early_termination: True
key_bodies: ["head", "right_hand", "left_hand", "right_foot", "left_foot"]
contact_bodies: ["right_foot", "left_foot"]

motion_file: "data/motions/humanoid/humanoid_spinkick.pkl"

reward_pose_w: 0.5
reward_vel_w: 0.1
reward_root_pose_w: 0.15
reward_root_vel_w: 0.1
reward_key_pos_w: 0.15
reward_pose_scale: 0.25
reward_vel_scale: 0.01
reward_root_pose_scale: 5.0
reward_root_vel_scale: 1.0
reward_key_pos_scale: 10.0
"""


def test_mimickits_flat_amp_env_file_loads_as_it_is(tmp_path):
    path = tmp_path / "amp_humanoid_env.yaml"
    path.write_text(MIMICKIT_AMP)
    loaded = EnvFile.load(path)
    assert loaded.env_name == "amp" and isinstance(loaded.env, AMPEnvConfig)
    env = loaded.env
    assert env.num_disc_obs_steps == 10 and env.disc_dof_vel_obs
    assert env.camera_mode == "track" and env.ref_char_offset == [2.0, 0.0, 0.0]
    assert env.init_pose[2] == 0.88 and env.reward_key_pos_scale == 10.0
    # The reward keys AMP ignores may be left out.
    lines = [ln for ln in MIMICKIT_AMP.splitlines() if not ln.startswith("reward_")]
    path.write_text("\n".join(lines))
    assert EnvFile.load(path).env.reward_pose_w == 0.5


@pytest.mark.parametrize(
    "change, needle",
    [
        (("num_disc_obs_steps: 10", ""), "num_disc_obs_steps"),
        (("num_disc_obs_steps: 10", "num_disc_obs_steps: 0"), "num_disc_obs_steps"),
        (("rand_reset: True", "rand_reset: True\nadaptive_sampling: {}"), "adaptive_sampling"),
    ],
)
def test_bad_amp_keys_are_one_line_errors(tmp_path, change, needle):
    path = tmp_path / "amp.yaml"
    path.write_text(MIMICKIT_AMP.replace(*change))
    with pytest.raises(ConfigError, match=needle) as exc:
        EnvFile.load(path)
    assert "\n" not in str(exc.value)


# ---------------------------------------------------------------------------------------
# Export and sim2sim of a policy trained on the AMP env


def test_export_and_sim2sim_of_an_amp_policy_embed_and_need_no_clip(tmp_path, capsys):
    agent = yaml.safe_load((REPO_DIR / "configs/agents/deepmimic_ppo_cpu.yaml").read_text())
    agent["model"].update(actor_net=[32, 32], critic_net=[32, 32])
    (tmp_path / "agent.yaml").write_text(yaml.safe_dump(agent))
    run = RunConfig.from_files(
        ENGINE, REPO_DIR / AMP, tmp_path / "agent.yaml", num_envs=2, seed=0, device="cpu"
    )
    run.engine.num_threads = 1
    env = build_env(run)
    policy = PPOAgent.from_env(run.agent, env)
    env.close()
    model = tmp_path / "model.pt"
    checkpoint.atomic_save(
        {
            "format": checkpoint.MODEL_FORMAT,
            "format_version": checkpoint.FORMAT_VERSION,
            "model": policy.model_state_dict(),
            "config": run.to_dict(),
        },
        model,
    )
    onnx_file = tmp_path / "amp.onnx"
    meta, err = export_policy(model, onnx_file)
    assert err < 1e-5
    assert meta.reference_motions == []
    assert not meta.observation.enable_tar_obs and not meta.observation.enable_phase_obs
    assert [t.name for t in meta.observation.terms][-1] == "key_pos"
    assert meta.observation.size == 140

    sim = Sim2Sim(onnx_file, HUMANOID)
    assert sim.reference is None
    report = sim.run(0.2)
    assert report.steps == 6 and report.root_pos_err == []
    assert "tracking errors:     none" in report.summary()
    capsys.readouterr()
    code = main(["sim2sim", str(onnx_file), "--robot", str(HUMANOID), "--seconds", "0.1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "reference:           none" in out and "(3 control steps)" in out
    # A clip can still be given for the start pose (and errors against it).
    step_clip = ASSETS_DIR / "motions" / "humanoid_step.npz"
    report = Sim2Sim(onnx_file, HUMANOID, str(step_clip)).run(0.1)
    assert len(report.root_pos_err) == 3


def test_doctor_on_the_amp_example_says_the_learner_supplies_the_reward(shared_data, capsys):
    arg_file = str(REPO_DIR / "args/amp_humanoid.txt")
    code = main(["doctor", "--arg_file", arg_file, "--num_envs", "2", "--threads", "1"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0 and out[-1].startswith("pre-flight: no problems")
    (reward,) = [line for line in out if " reward:" in line]
    assert (
        reward
        == "[ok   ] reward: the task gives none (no reward terms): the learner supplies it (AMP)"
    )
