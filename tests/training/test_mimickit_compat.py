"""The rules that let MimicKit's files run unchanged (issue 11), one by one: env YAML
layouts, relative paths, MimicKit engine names, one arg file for train and test,
``--devices``, and the autocast rename. ``test_mimickit_tree.py`` runs them together."""

from __future__ import annotations

import math
import re
import textwrap
from pathlib import Path

import pytest
import torch
import yaml

from mjmimic.cli.main import main
from mjmimic.config import ArgFlag, ArgSpec, get_origin, resolve_args
from mjmimic.engines.config import adapt_mimickit_engine
from mjmimic.errors import ConfigError
from mjmimic.paths import resolve_input_path
from mjmimic.training import checkpoint
from mjmimic.training.setup import EnvFile, RunConfig, check_devices

# The env's keys, written at the top level (MimicKit) or in an env: block (mjmimic).
ENV_KEYS = """\
char_file: "${MJMIMIC_ASSETS}/robots/humanoid/humanoid.xml"
motion_file: "${MJMIMIC_ASSETS}/motions/humanoid_squat.npz"
episode_length: 2.0
global_obs: True
enable_early_termination: True
key_bodies: ["head", "right_hand"]
contact_bodies: ["right_foot", "left_foot"]
joint_err_w:
  neck: 0.6
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
HEAD = 'env_name: "deepmimic"\n'


def _flat(keys: str = ENV_KEYS) -> str:
    return HEAD + keys


def _nested(keys: str = ENV_KEYS) -> str:
    return HEAD + "env:\n" + textwrap.indent(keys, "  ")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------------------
# Env YAML layouts


def test_flat_and_nested_env_files_load_the_same_config_with_their_lines(tmp_path):
    flat = EnvFile.load(_write(tmp_path / "flat.yaml", _flat()))
    nested = EnvFile.load(_write(tmp_path / "nested.yaml", _nested()))
    assert flat.env_name == nested.env_name == "deepmimic"
    assert flat.env == nested.env
    assert flat.env.joint_err_w == {"neck": 0.6} and flat.env.episode_length == 2.0
    # Provenance follows each file's own lines (the nested keys sit one line lower).
    assert get_origin(flat.env, "episode_length") == f"{tmp_path / 'flat.yaml'}:4"
    assert get_origin(nested.env, "episode_length") == f"{tmp_path / 'nested.yaml'}:5"
    assert get_origin(flat.env, "joint_err_w.neck") == f"{tmp_path / 'flat.yaml'}:10"
    assert get_origin(flat.env, "pose_termination") == "default"


@pytest.mark.parametrize("layout", [_flat, _nested])
def test_a_bad_env_key_names_file_and_line_in_either_layout(layout, tmp_path):
    path = _write(tmp_path / "env.yaml", layout(ENV_KEYS.replace("reward_vel_w", "rewad_vel_w")))
    with pytest.raises(ConfigError) as exc:
        EnvFile.load(path)
    line = _line_of(path, "rewad_vel_w")
    assert _one_line(exc) == (
        f"{path}:{line}: unknown key 'rewad_vel_w' in env (did you mean 'reward_vel_w'?)"
    )


@pytest.mark.parametrize("layout", [_flat, _nested])
def test_a_bad_env_value_names_file_and_line_in_either_layout(layout, tmp_path):
    path = _write(tmp_path / "env.yaml", layout(ENV_KEYS.replace("2.0", "two")))
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}:\d+: env.episode_length"):
        EnvFile.load(path)


def test_an_env_block_and_top_level_env_keys_together_is_one_line_error(tmp_path):
    path = _write(tmp_path / "env.yaml", _nested() + "global_obs: False\n")
    with pytest.raises(ConfigError) as exc:
        EnvFile.load(path)
    message = _one_line(exc)
    assert message.startswith(f"{path}:{_line_of(path, 'global_obs: False')}: env key ")
    assert "'global_obs' is at the top level next to an 'env:' block" in message
    assert f"({path}:2)" in message  # where the env: block is
    assert "not both" in message


def test_a_stray_top_level_key_beside_an_env_block_lists_the_valid_ones(tmp_path):
    path = _write(tmp_path / "env.yaml", _nested() + "engin:\n  sim_freq: 240\n")
    with pytest.raises(ConfigError) as exc:
        EnvFile.load(path)
    assert "unknown key 'engin' (valid keys: env_name, env, engine;" in _one_line(exc)


def test_env_name_is_looked_up_in_the_registry(tmp_path):
    path = _write(tmp_path / "env.yaml", _flat().replace('"deepmimic"', '"deepmimik"'))
    with pytest.raises(ConfigError) as exc:
        EnvFile.load(path)
    message = _one_line(exc)
    assert message.startswith(f"{path}:1: unknown env_name 'deepmimik'")
    assert "did you mean 'deepmimic'?" in message
    missing = _write(tmp_path / "no_name.yaml", ENV_KEYS)
    with pytest.raises(ConfigError, match="missing required key 'env_name'"):
        EnvFile.load(missing)


def test_engine_block_overrides_are_kept_with_their_lines(tmp_path):
    path = _write(tmp_path / "env.yaml", _flat() + "engine:\n  sim_freq: 240\n")
    env_file = EnvFile.load(path)
    assert env_file.engine == {"sim_freq": 240}
    assert env_file.engine_origins["sim_freq"] == f"{path}:{_line_of(path, 'sim_freq')}"


# ---------------------------------------------------------------------------------------
# Relative paths: next to the config file first, then the current directory (MimicKit)


def test_relative_paths_try_the_config_dir_then_the_current_dir(tmp_path, monkeypatch):
    repo, config_dir = tmp_path / "repo", tmp_path / "repo" / "data" / "envs"
    config_dir.mkdir(parents=True)
    monkeypatch.chdir(repo)
    name = "data/assets/robot.xml"
    cwd_file = repo / name
    cwd_file.parent.mkdir(parents=True)
    cwd_file.write_text("<mujoco/>")
    # MimicKit's layout: only the current directory has it.
    assert resolve_input_path(name, config_dir, "robot model", "k") == cwd_file
    # A file next to the config wins over one in the current directory.
    beside = config_dir / name
    beside.parent.mkdir(parents=True)
    beside.write_text("<mujoco/>")
    assert resolve_input_path(name, config_dir, "robot model", "k") == beside
    with pytest.raises(ConfigError) as exc:
        resolve_input_path("nope.xml", config_dir, "robot model", "env.yaml: env.char_file")
    assert _one_line(exc) == (
        f"env.yaml: env.char_file: robot model 'nope.xml' not found "
        f"(tried {config_dir / 'nope.xml'}, {repo / 'nope.xml'})"
    )


# ---------------------------------------------------------------------------------------
# MimicKit engine names and keys


def _engine_yaml(path: Path, name: str, extra: str = "") -> Path:
    text = f'engine_name: "{name}"\ncontrol_mode: "pos"\ncontrol_freq: 30\nsim_freq: 120\n'
    return _write(path, text + "env_spacing: 5\n" + extra)


@pytest.mark.parametrize("name", ["isaac_gym", "isaac_lab", "newton"])
def test_a_mimickit_engine_file_runs_on_mujoco_with_one_notice(
    name, kit, tiny_agent, tmp_path, capsys
):
    extra = "ground_contact_height: 0.3\nmax_gpu_contact_pairs: 8388608\n"
    engine = _engine_yaml(tmp_path / "engine.yaml", name, extra)
    run = RunConfig.from_files(engine, kit.SQUAT_ENV, tiny_agent, 2, 0, "cpu")
    assert capsys.readouterr().err == (
        f"mjmimic: note: engine_name '{name}' ({engine}:1) runs on MuJoCo (CPU); "
        "ignored here: ground_contact_height, max_gpu_contact_pairs\n"
    )
    assert run.engine.engine_name == "mujoco" and run.engine.sim_freq == 120
    saved = run.to_dict()
    assert saved["engine"]["engine_name"] == "mujoco"
    assert "ground_contact_height" not in saved["engine"]
    # The saved run (config.yaml, model.pt) is plain mujoco: reading it says nothing.
    again = RunConfig.from_dict(yaml.safe_load(yaml.safe_dump(saved)), "config.yaml")
    assert again.engine == run.engine
    assert capsys.readouterr().err == ""


def test_mimickit_only_keys_from_an_env_engine_block_are_noted_where_they_are(tmp_path):
    data = {"engine_name": "mujoco", "sim_freq": 240, "ground_contact_height": 0.15}
    origins = {"engine_name": "e.yaml:1", "sim_freq": "e.yaml:2", "ground_contact_height": "v:41"}
    out, note = adapt_mimickit_engine(data, origins, "e.yaml")
    assert out == {"engine_name": "mujoco", "sim_freq": 240}
    assert note == (
        "MimicKit engine keys with no meaning for MuJoCo, ignored here: "
        "ground_contact_height (v:41)"
    )
    assert adapt_mimickit_engine({"engine_name": "mujoco"}, {}, "e.yaml") == (
        {"engine_name": "mujoco"},
        None,
    )


def test_an_engine_key_no_mimickit_engine_has_is_still_an_error(kit, tiny_agent, tmp_path):
    engine = _engine_yaml(tmp_path / "engine.yaml", "isaac_gym", "sim_frq: 240\n")
    with pytest.raises(ConfigError) as exc:
        RunConfig.from_files(engine, kit.SQUAT_ENV, tiny_agent, 2, 0, "cpu")
    assert _one_line(exc) == (
        f"{engine}:6: unknown key 'sim_frq' in engine (did you mean 'sim_freq'?)"
    )


def test_an_unknown_engine_name_is_an_error_with_the_known_ones(kit, tiny_agent, tmp_path):
    engine = _engine_yaml(tmp_path / "engine.yaml", "isaac_gim")
    with pytest.raises(ConfigError) as exc:
        RunConfig.from_files(engine, kit.SQUAT_ENV, tiny_agent, 2, 0, "cpu")
    message = _one_line(exc)
    assert message.startswith(f"{engine}:1: unknown engine_name 'isaac_gim'")
    assert "did you mean 'isaac_gym'?" in message and "mujoco" in message


# ---------------------------------------------------------------------------------------
# One arg file for train and test

COMMON = [ArgFlag("num_envs", int, 1)]
TRAIN = ArgSpec([*COMMON, ArgFlag("max_samples", int)], prog="mjmimic train")
TEST = ArgSpec([*COMMON, ArgFlag("test_only", int)], prog="mjmimic test")


def test_flags_of_the_other_mode_in_an_arg_file_are_ignored(tmp_path):
    args_file = _write(tmp_path / "args.txt", "--num_envs 4\n--max_samples 100\n--test_only 3\n")
    test = resolve_args(["--arg_file", str(args_file)], TEST, TRAIN)
    assert test.num_envs == 4 and test.test_only == 3
    assert test.ignored == {"max_samples": f"{args_file}:2"}
    assert not hasattr(test, "max_samples")
    train = resolve_args(["--arg_file", str(args_file)], TRAIN, TEST)
    assert train.max_samples == 100 and train.ignored == {"test_only": f"{args_file}:3"}


def test_a_flag_of_the_other_mode_on_the_command_line_is_refused():
    with pytest.raises(ConfigError) as exc:
        resolve_args(["--max_samples", "100"], TEST, TRAIN)
    assert _one_line(exc) == (
        "command line: --max_samples is a flag of 'mjmimic train', not of 'mjmimic test' "
        "(in an --arg_file it is ignored, so one file serves both)"
    )


@pytest.mark.parametrize("from_file", [True, False])
@pytest.mark.parametrize("spec,other", [(TRAIN, TEST), (TEST, TRAIN)])
def test_a_flag_neither_mode_knows_is_an_error_everywhere(from_file, spec, other, tmp_path):
    tokens = ["--num_envs", "2", "--max_sample", "5"]
    if from_file:
        tokens = ["--arg_file", str(_write(tmp_path / "a.txt", " ".join(tokens)))]
    with pytest.raises(ConfigError, match="unknown flag --max_sample"):
        resolve_args(tokens, spec, other)


def test_mjmimic_test_refuses_a_train_flag_on_the_command_line(kit, smoke_run, capsys):
    model = str(smoke_run.out_dir / "model.pt")
    assert main(["test", "--model_file", model, "--max_samples", "10", "--threads", "1"]) == 2
    kit.assert_one_line_error(capsys.readouterr().err, "--max_samples", "'mjmimic train'")


def test_mjmimic_test_with_the_training_arg_file(kit, smoke_run, tiny_agent, tmp_path, capsys):
    """The arg file of a training run (out_dir, max_samples, logger...) drives test mode;
    the env and agent configs it names are the ones tested."""
    args_file = tmp_path / "train_args.txt"
    train_argv = kit.train_argv(smoke_run.out_dir, tiny_agent, "--logger", "txt")[1:]
    args_file.write_text("--mode train\n" + " ".join(train_argv) + "\n")
    model = str(smoke_run.out_dir / "model.pt")
    argv = ["--mode", "test", "--arg_file", str(args_file), "--model_file", model]
    assert main([*argv, "--test_episodes", "2", "--num_envs", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        f"mjmimic: note: {args_file}: flags of 'mjmimic train' ignored here: "
        "--max_samples, --logger\n"
    )
    match = re.search(r"mean return: +(\S+)", captured.out)
    assert match and math.isfinite(float(match.group(1)))


# ---------------------------------------------------------------------------------------
# --devices


def test_cuda_without_cuda_is_one_clear_line(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError) as exc:
        check_devices(["cuda:0"])
    assert _one_line(exc) == (
        "--devices cuda:0: CUDA is not available on this machine "
        "(torch.cuda.is_available() is False); use --devices cpu"
    )


def test_several_devices_and_unknown_devices_are_refused():
    with pytest.raises(ConfigError, match="multi-process training is not implemented yet"):
        check_devices(["cuda:0", "cuda:1"])
    for name in ("mps", "gpu0"):
        with pytest.raises(ConfigError, match=f"--devices {name}: not a device"):
            check_devices([name])
    assert check_devices(["cpu"]) == "cpu"


def test_cuda_devices_are_checked_against_the_machine(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert check_devices(["cuda"]) == "cuda:0"
    assert check_devices(["cuda:0"]) == "cuda:0"
    with pytest.raises(ConfigError, match=r"has 1 CUDA device\(s\), cuda:0 to cuda:0"):
        check_devices(["cuda:1"])


def _as_if_trained_on_cuda(run_dir: Path) -> None:
    """The run's model.pt and config.yaml as a run with --devices cuda:0 writes them."""
    model = torch.load(run_dir / "model.pt", weights_only=True)
    model["config"]["device"] = "cuda:0"
    checkpoint.atomic_save(model, run_dir / "model.pt")
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    config["device"] = "cuda:0"
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def test_a_model_trained_on_a_gpu_is_tested_where_devices_says(run_copy, capsys):
    _as_if_trained_on_cuda(run_copy)
    model = str(run_copy / "model.pt")
    argv = ["test", "--model_file", model, "--test_episodes", "2", "--num_envs", "2"]
    assert main([*argv, "--threads", "1"]) == 0  # default --devices cpu
    match = re.search(r"mean return: +(\S+)", capsys.readouterr().out)
    assert match and math.isfinite(float(match.group(1)))


def test_resuming_a_gpu_run_without_cuda_says_so(kit, run_copy, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _as_if_trained_on_cuda(run_copy)
    before = kit.snapshot(run_copy)
    assert main(["train", "--resume", str(run_copy), "--threads", "1"]) == 2
    kit.assert_one_line_error(capsys.readouterr().err, "cuda:0", "CUDA is not available")
    assert kit.snapshot(run_copy) == before


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_training_on_cuda_keeps_the_engine_on_the_cpu(kit, tiny_agent, tmp_path, capsys):
    out_dir = tmp_path / "run"
    assert main(kit.train_argv(out_dir, tiny_agent, "--devices", "cuda:0", iterations=2)) == 0
    assert yaml.safe_load((out_dir / "config.yaml").read_text())["device"] == "cuda:0"
    model = str(out_dir / "model.pt")
    for device in ("cuda:0", "cpu"):
        argv = ["test", "--model_file", model, "--test_episodes", "2", "--devices", device]
        assert main([*argv, "--threads", "1"]) == 0
        match = re.search(r"mean return: +(\S+)", capsys.readouterr().out)
        assert match and math.isfinite(float(match.group(1)))


# ---------------------------------------------------------------------------------------
# Autocast keys renamed (AMP will mean Adversarial Motion Priors)


@pytest.mark.parametrize("old", ["use_amp: true", 'amp_type: "bf16"'])
def test_old_autocast_keys_get_a_rename_hint(old, kit, tmp_path):
    agent = kit.write_agent_yaml(tmp_path / "agent.yaml")
    text = agent.read_text().replace("actor_optimizer:\n", f"actor_optimizer:\n  {old}\n", 1)
    agent.write_text(text)
    with pytest.raises(ConfigError) as exc:
        RunConfig.from_files(kit.ENGINE, kit.SQUAT_ENV, agent, 2, 0, "cpu")
    key = old.split(":")[0]
    assert _one_line(exc) == (
        f"{agent}:{_line_of(agent, old)}: agent.actor_optimizer.{key} was renamed: "
        "use autocast_dtype: bf16 (or null for off)"
    )


def test_autocast_dtype_loads_and_old_saved_runs_still_load(kit, tmp_path):
    agent = kit.write_agent_yaml(
        tmp_path / "agent.yaml", critic_optimizer={"autocast_dtype": "bf16"}
    )
    run = RunConfig.from_files(kit.ENGINE, kit.SQUAT_ENV, agent, 2, 0, "cpu")
    assert run.agent.critic_optimizer.autocast_dtype == "bf16"
    assert run.agent.actor_optimizer.autocast_dtype is None
    saved = run.to_dict()
    for name, on in (("actor_optimizer", False), ("critic_optimizer", True)):
        section = saved["agent"][name]
        del section["autocast_dtype"]
        section.update(use_amp=on, amp_type="bf16")  # how model.pt files before the rename say it
    old = RunConfig.from_dict(saved, "model.pt (saved config)")
    assert old.agent == run.agent
