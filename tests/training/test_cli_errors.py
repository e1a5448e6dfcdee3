"""User errors: exit code 2, one line ``mjmimic: error: ...`` naming what is wrong, and
nothing written (no output directory, an existing run untouched)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mjmimic.cli.main import main
from mjmimic.motion.formats import write_motion
from mjmimic.motion.motion import Motion


def _g1_clip(shared_data) -> str:
    clips = sorted((shared_data / "motions" / "g1_asap" / "npz").glob("*.npz"))
    assert clips, "no G1 clips in the shared data"
    return f"${{MJMIMIC_DATA}}/motions/g1_asap/npz/{clips[0].name}"


def _five_dof_clip(path) -> str:
    frames = 10
    motion = Motion(
        fps=30.0,
        loop_mode="clamp",
        root_pos=np.tile([0.0, 0.0, 1.0], (frames, 1)),
        root_rot=np.tile([1.0, 0.0, 0.0, 0.0], (frames, 1)),
        dof_pos=np.zeros((frames, 5)),
        joint_names=None,
        name="five_dofs",
    )
    write_motion(motion, path)
    return str(path)


# name -> (env: None = the squat YAML, a dict = it with text replacements, a str = that
# (missing) file in tmp_path; extra argv; substrings the error line must contain)
CASES = {
    "unknown_env_key": (
        {"reward_pose_w:": "rewad_pose_w:"},
        [],
        ["env.yaml:", "rewad_pose_w", "did you mean 'reward_pose_w'"],
    ),
    "wrong_type": (
        {"episode_length: 10.0": "episode_length: abc"},
        [],
        ["env.yaml:", "episode_length", "'abc'", "float"],
    ),
    "unknown_key_body": (
        {'"head", ': '"hed", '},
        [],
        ["env.yaml:", "env.key_bodies", "'hed'", "humanoid.xml", "head"],
    ),
    "unknown_env_name": (
        {'env_name: "deepmimic"': 'env_name: "deepmimik"'},
        [],
        ["env.yaml:", "env_name", "deepmimik"],
    ),
    "missing_env_config": ("nope.yaml", [], ["nope.yaml", "not found"]),
    "unknown_flag": (None, ["--num_env", "8"], ["--num_env", "did you mean --num_envs?"]),
    "bad_int_flag": (None, ["--test_episodes", "eight"], ["--test_episodes", "'eight'", "int"]),
    "bad_choice": (None, ["--logger", "tensorbord"], ["--logger", "'tensorbord'", "txt, tb"]),
    "two_devices": (None, ["--devices", "cpu", "cuda:0"], ["--devices cpu cuda:0", "multi"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_config_error_is_one_line_and_writes_nothing(case, kit, tiny_agent, tmp_path, capsys):
    env_spec, extra, needles = CASES[case]
    env = kit.SQUAT_ENV
    if isinstance(env_spec, dict):
        env = kit.write_env_yaml(tmp_path / "env.yaml", env_spec)
    elif isinstance(env_spec, str):
        env = tmp_path / env_spec
    out_dir = tmp_path / "run"
    code = main(kit.train_argv(out_dir, tiny_agent, *extra, env=env))
    captured = capsys.readouterr()
    assert code == 2
    kit.assert_one_line_error(captured.err, *needles)
    assert captured.out == ""
    assert not out_dir.exists()


def test_motion_of_another_robot_is_refused(kit, tiny_agent, shared_data, tmp_path, capsys):
    """A G1 clip on our humanoid: the DoF names do not match the robot."""
    env = kit.write_env_yaml(
        tmp_path / "env.yaml",
        {'"${MJMIMIC_ASSETS}/motions/humanoid_squat.npz"': f'"{_g1_clip(shared_data)}"'},
    )
    out_dir = tmp_path / "run"
    assert main(kit.train_argv(out_dir, tiny_agent, env=env)) == 2
    captured = capsys.readouterr()
    kit.assert_one_line_error(
        captured.err, "g1_asap", "humanoid.xml", "left_knee_joint", "do not match"
    )
    assert not out_dir.exists()


def test_motion_with_wrong_dof_count_is_refused(kit, tiny_agent, tmp_path, capsys):
    clip = _five_dof_clip(tmp_path / "five.npz")
    env = kit.write_env_yaml(
        tmp_path / "env.yaml", {'"${MJMIMIC_ASSETS}/motions/humanoid_squat.npz"': f'"{clip}"'}
    )
    out_dir = tmp_path / "run"
    assert main(kit.train_argv(out_dir, tiny_agent, env=env)) == 2
    kit.assert_one_line_error(capsys.readouterr().err, "five.npz", "5 DoFs", "28")
    assert not out_dir.exists()


def test_invalid_agent_config_is_refused(kit, tmp_path, capsys):
    agent = kit.write_agent_yaml(tmp_path / "agent.yaml", model={"actor_net": [64, 0]})
    out_dir = tmp_path / "run"
    assert main(kit.train_argv(out_dir, agent)) == 2
    kit.assert_one_line_error(capsys.readouterr().err, "actor_net")
    assert not out_dir.exists()


def test_existing_run_is_refused_and_untouched(kit, tiny_agent, run_copy, capsys):
    before = kit.snapshot(run_copy)
    assert main(kit.train_argv(run_copy, tiny_agent)) == 2
    captured = capsys.readouterr()
    kit.assert_one_line_error(captured.err, str(run_copy), "already holds a run", "--resume")
    assert captured.out == ""
    assert kit.snapshot(run_copy) == before


def test_resume_without_a_run(kit, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["train", "--resume", str(empty), "--threads", "1"]) == 2
    kit.assert_one_line_error(capsys.readouterr().err, str(empty), "no checkpoint.pt")
    assert list(empty.iterdir()) == []


def test_corrupted_checkpoint_is_one_line_and_run_untouched(kit, run_copy, capsys):
    ckpt = run_copy / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])  # cut off, as by a full disk
    before = kit.snapshot(run_copy)
    argv = ["train", "--resume", str(run_copy), "--max_samples", "100000", "--threads", "1"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    kit.assert_one_line_error(captured.err, "checkpoint.pt", "not a readable mjmimic file")
    assert kit.snapshot(run_copy) == before


def test_corrupted_model_file_in_test_mode(kit, tmp_path, capsys):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"this is not a torch file")
    assert main(["test", "--model_file", str(bad), "--threads", "1"]) == 2
    kit.assert_one_line_error(capsys.readouterr().err, "model.pt", "not a readable mjmimic file")


def test_file_of_the_wrong_kind(kit, smoke_run, capsys):
    """A checkpoint.pt given where a model.pt is expected is named as such."""
    ckpt = smoke_run.out_dir / "checkpoint.pt"
    assert main(["test", "--model_file", str(ckpt), "--threads", "1"]) == 2
    kit.assert_one_line_error(
        capsys.readouterr().err, "checkpoint.pt", "expected a mjmimic.model file"
    )


class _Evil:
    """Unpickling this calls ``open(marker, 'w')``: a stand-in for arbitrary code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_checkpoint_files_are_loaded_without_executing_code(kit, tmp_path, capsys):
    """``torch.load(weights_only=True)``: a pickle that would run code is refused."""
    marker = tmp_path / "code_ran"
    evil = tmp_path / "model.pt"
    torch.save({"format": "mjmimic.model", "payload": _Evil(marker)}, evil)
    assert main(["test", "--model_file", str(evil), "--threads", "1"]) == 2
    kit.assert_one_line_error(capsys.readouterr().err, "model.pt", "not a readable")
    assert not marker.exists()
