"""A run directory is never written over, shared, doubled or left half-written.

``--out_dir`` must be new or empty (other tools' files are refused, not replaced); one
``mjmimic train`` per directory (``train.lock``); ``--resume`` cuts log.txt back to the
checkpoint, continues to the run's own budget and refuses flags that would change the
run; a full disk during a checkpoint write keeps the previous checkpoint and is one line.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys

import pytest
import torch
import yaml

from mjmimic.cli.main import main
from mjmimic.errors import MjmimicError
from mjmimic.logging.table_log import cut_rows
from mjmimic.training import run_lock

# ----------------------------------------------------------------------- --out_dir


def test_out_dir_with_another_tools_files_is_refused(kit, tiny_agent, tmp_path, capsys):
    out = tmp_path / "other"
    out.mkdir()
    (out / "log.txt").write_text("step loss\n1 0.5\n")
    (out / "config.yaml").write_text("lr: 0.1\n")
    before = kit.snapshot(out)
    assert main(kit.train_argv(out, tiny_agent)) == 2
    captured = capsys.readouterr()
    kit.assert_one_line_error(
        captured.err, f"--out_dir {out}", "config.yaml, log.txt", "another --out_dir"
    )
    assert captured.out == ""
    assert kit.snapshot(out) == before


def test_empty_existing_out_dir_is_used(kit, tiny_agent, tmp_path, capsys):
    out = tmp_path / "empty"
    out.mkdir()
    assert main(kit.train_argv(out, tiny_agent, iterations=1)) == 0
    assert (out / "checkpoint.pt").is_file()
    assert not (out / run_lock.LOCK_FILE).exists()  # released at the end
    assert capsys.readouterr().err == ""


def test_out_dir_that_is_a_file(kit, tiny_agent, tmp_path, capsys):
    out = tmp_path / "run"
    out.write_text("not a directory")
    assert main(kit.train_argv(out, tiny_agent)) == 2
    kit.assert_one_line_error(capsys.readouterr().err, f"--out_dir {out}", "is a file")
    assert out.read_text() == "not a directory"


def test_out_dir_below_a_file(kit, tiny_agent, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "run"
    assert main(kit.train_argv(out, tiny_agent)) == 2
    kit.assert_one_line_error(
        capsys.readouterr().err, f"--out_dir {out}", "cannot be created", "is a file"
    )


def test_out_dir_without_write_permission(kit, tiny_agent, tmp_path, monkeypatch, capsys):
    # chmod does not stop root (CI may run as root): the check itself is what is tested.
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    out = tmp_path / "run"
    assert main(kit.train_argv(out, tiny_agent)) == 2
    kit.assert_one_line_error(
        capsys.readouterr().err, f"--out_dir {out}", "no write permission", "another --out_dir"
    )
    assert not out.exists()


def test_out_dir_whose_creation_fails(kit, tiny_agent, tmp_path, monkeypatch, capsys):
    """The directory looked creatable, then its mkdir fails (say, permissions changed)."""
    out = tmp_path / "run"
    real_mkdir = type(out).mkdir

    def mkdir(self, *args, **kwargs):
        if self == out:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(type(out), "mkdir", mkdir)
    assert main(kit.train_argv(out, tiny_agent)) == 2
    kit.assert_one_line_error(
        capsys.readouterr().err, f"--out_dir {out}", "cannot be created", "Permission denied"
    )


# ---------------------------------------------------------------------- the lock


def _dead_pid() -> int:
    argv = [sys.executable, "-c", "import os; print(os.getpid())"]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_stale_or_garbled_lock_is_taken_over_and_released(tmp_path):
    for stale in (f"{_dead_pid()}\n", "garbage", ""):
        (tmp_path / run_lock.LOCK_FILE).write_text(stale)
        assert run_lock.holder(tmp_path) is None
        with run_lock.RunLock(tmp_path, "--out_dir"):
            assert (tmp_path / run_lock.LOCK_FILE).read_text() == f"{os.getpid()}\n"
        assert not (tmp_path / run_lock.LOCK_FILE).exists()


def test_live_lock_is_refused_and_left_alone(tmp_path):
    parent = os.getppid()  # alive while this test runs
    (tmp_path / run_lock.LOCK_FILE).write_text(f"{parent}\n")
    with pytest.raises(MjmimicError, match=f"PID {parent}"), run_lock.RunLock(tmp_path, "--x"):
        pass
    assert (tmp_path / run_lock.LOCK_FILE).read_text() == f"{parent}\n"


def test_second_train_on_a_directory_in_use_is_refused(kit, tiny_agent, tmp_path):
    """A real first process holds the lock; real second processes (new run, resume) are
    refused with its PID; after a kill -9 its stale lock is taken over by --resume."""
    out = tmp_path / "run"
    argv = kit.train_argv(out, tiny_agent, "--max_samples", "100000000", iterations=None)
    first = kit.start_train(argv, stderr=subprocess.DEVNULL)
    try:
        kit.wait_for_iteration(first, 3)  # the checkpoint of iteration 2 is written
        assert (out / run_lock.LOCK_FILE).read_text() == f"{first.pid}\n"
        for second in (argv, ["train", "--resume", str(out), "--threads", "1"]):
            result = subprocess.run(
                [sys.executable, "-m", "mjmimic", *second],
                capture_output=True,
                text=True,
                cwd=kit.REPO,
                timeout=120,
            )
            assert result.returncode == 2, result.stderr
            kit.assert_one_line_error(result.stderr, str(out), "in use", f"PID {first.pid}")
        assert first.poll() is None  # the first run went on undisturbed
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert (out / run_lock.LOCK_FILE).read_text() == f"{first.pid}\n"  # stale now
    done = kit.samples_for(torch.load(out / "checkpoint.pt", weights_only=True)["iteration"] + 1)
    result = kit.run_cli(
        ["train", "--resume", str(out), "--threads", "1", "--max_samples", str(done)]
    )
    assert result.code == 0, result.err
    assert not (out / run_lock.LOCK_FILE).exists()


# ------------------------------------------------------------------- log.txt cut


def test_cut_rows_keeps_the_checkpoints_rows(tmp_path):
    log = tmp_path / "log.txt"
    text = "Iteration  Samples\n1  64\n2  128\n3  192\n3  192\n4  256\n5  3"  # torn last row
    log.write_text(text)
    assert cut_rows(log, 2) == 4
    assert log.read_text() == "Iteration  Samples\n1  64\n2  128\n"
    before = log.stat().st_mtime_ns
    assert cut_rows(log, 2) == 0
    assert log.stat().st_mtime_ns == before  # nothing to cut: not rewritten


# ------------------------------------------- a full disk, then a plain --resume


def _fail_second_checkpoint(monkeypatch):
    real_replace = os.replace
    calls = []

    def replace(src, dst):
        if os.path.basename(dst) == "checkpoint.pt":
            calls.append(dst)
            if len(calls) == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def test_disk_full_keeps_the_checkpoint_and_resume_has_no_duplicates(
    kit, tiny_agent, tmp_path, monkeypatch, capsys
):
    """Checkpoints at 2 and 4; the write at 4 fails: one line, exit 2, checkpoint 2 intact.
    log.txt already has rows 1-4; a plain --resume (no --max_samples) trains 3 and 4 again,
    to the run's recorded budget, and log.txt has each iteration once."""
    out = tmp_path / "run"
    _fail_second_checkpoint(monkeypatch)
    assert main(kit.train_argv(out, tiny_agent, iterations=4)) == 2
    kit.assert_one_line_error(
        capsys.readouterr().err,
        str(out / "checkpoint.pt"),
        "No space left on device (disk full)",
        f"--resume {out}",
    )
    monkeypatch.undo()
    saved = torch.load(out / "checkpoint.pt", weights_only=True)
    assert (saved["iteration"], saved["samples"]) == (2, kit.samples_for(2))
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary left
    assert kit.read_log(out / "log.txt").column("Iteration") == [1, 2, 3, 4]
    # Health events of the iterations trained again go too (0-based: 2 is the third).
    with (out / "health_events.jsonl").open("a") as f:
        for done in (1, 2):
            f.write(json.dumps({"kind": f"marker_{done}", "iteration": done}) + "\n")
    assert main(["train", "--resume", str(out), "--threads", "1"]) == 0
    assert "done: 256 samples, 4 iterations" in capsys.readouterr().out
    assert kit.read_log(out / "log.txt").column("Iteration") == [1, 2, 3, 4]
    kinds = [json.loads(line)["kind"] for line in (out / "health_events.jsonl").open()]
    assert "marker_1" in kinds and "marker_2" not in kinds
    assert torch.load(out / "checkpoint.pt", weights_only=True)["iteration"] == 4


# ------------------------------------------------------- --resume of a finished run


def test_resume_of_a_finished_run_says_so(kit, run_copy, capsys):
    """Without --max_samples the run's own budget holds: nothing to train, one line."""
    before = kit.snapshot(run_copy)
    assert main(["train", "--resume", str(run_copy), "--threads", "1"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 1, captured.out
    assert "reached its budget" in lines[0] and "pass a larger --max_samples" in lines[0]
    assert kit.snapshot(run_copy) == before


def test_resume_with_a_larger_budget_records_it(kit, run_copy, capsys):
    five = kit.samples_for(5)
    argv = ["train", "--resume", str(run_copy), "--threads", "1", "--max_samples", str(five)]
    assert main(argv) == 0
    config = yaml.safe_load((run_copy / "config.yaml").read_text())
    assert config["budget"] == {"max_samples": five, "max_time": None}
    assert kit.read_log(run_copy / "log.txt").column("Iteration") == [1, 2, 3, 4, 5]


def test_resume_of_a_run_without_a_recorded_budget(kit, run_copy, capsys):
    config = yaml.safe_load((run_copy / "config.yaml").read_text())
    del config["budget"]  # as an older mjmimic wrote it
    (run_copy / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    assert main(["train", "--resume", str(run_copy), "--threads", "1"]) == 2
    kit.assert_one_line_error(capsys.readouterr().err, "config.yaml", "no budget", "--max_samples")


# --------------------------------------------- --resume with flags that change the run


def _changed_files(kit, tmp_path) -> dict[str, list[str]]:
    agent = kit.write_agent_yaml(
        tmp_path / "agent.yaml", actor_optimizer={"type": "Adam", "learning_rate": 1.23e-4}
    )
    env = kit.write_env_yaml(tmp_path / "env.yaml", {"episode_length: 10.0": "episode_length: 5.0"})
    engine = tmp_path / "engine.yaml"
    engine.write_text(kit.ENGINE.read_text().replace("iterations: 100", "iterations: 7"))
    return {
        "num_envs": (["--num_envs", "16"], ["--num_envs 16", "num_envs 8"]),
        "rand_seed": (["--rand_seed", "99"], ["--rand_seed 99", "rand_seed 7"]),
        "agent_config": (
            ["--agent_config", str(agent)],
            ["--agent_config", "agent.actor_optimizer.learning_rate", "0.000123"],
        ),
        "env_config": (["--env_config", str(env)], ["--env_config", "env.episode_length", "5.0"]),
        "engine_config": (
            ["--engine_config", str(engine)],
            ["--engine_config", "engine.iterations", "7", "100"],
        ),
        "model_file": (["--model_file", str(tmp_path / "m.pt")], ["--model_file", "--resume"]),
    }


@pytest.mark.parametrize(
    "flag", ["num_envs", "rand_seed", "agent_config", "env_config", "engine_config", "model_file"]
)
def test_resume_refuses_flags_that_change_the_run(flag, kit, run_copy, tmp_path, capsys):
    extra, needles = _changed_files(kit, tmp_path)[flag]
    before = kit.snapshot(run_copy)
    argv = ["train", "--resume", str(run_copy), "--threads", "1", *extra]
    assert main([*argv, "--max_samples", str(kit.samples_for(6))]) == 2
    kit.assert_one_line_error(capsys.readouterr().err, *needles, f"drop --{flag}")
    assert kit.snapshot(run_copy) == before


def test_resume_with_the_runs_own_files_is_accepted(kit, tiny_agent, run_copy, capsys):
    """The argv that started the run (an arg file, say) resumes it: same content, no word."""
    argv = kit.train_argv(run_copy, tiny_agent, "--resume", str(run_copy))
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "reached its budget" in captured.out
