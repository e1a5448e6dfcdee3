"""A few training iterations end to end: files, log.txt, progress line, TensorBoard."""

from __future__ import annotations

import io
import math
import re

import torch
import yaml

from mjmimic.logging.progress import ProgressLine

PROGRESS = re.compile(
    r"^iter +(\d+) \| samples +([\d,]+) \| +(\d+) samples/s \| elapsed +[\d:]+ \| "
    r"ETA +([\d:-]+) \| test return +(\S+) *$"
)


def test_outputs_exist_and_load(smoke_run):
    out = smoke_run.out_dir
    for name in ("log.txt", "model.pt", "checkpoint.pt", "config.yaml"):
        assert (out / name).is_file(), name
    assert not list(out.glob(".*.tmp*")), "an atomic save left its temporary file"
    model = torch.load(out / "model.pt", map_location="cpu", weights_only=True)
    assert model["format"] == "mjmimic.model"
    assert model["iteration"] == smoke_run.iterations
    assert model["samples"] == smoke_run.iterations * 8 * 8
    ckpt = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert ckpt["format"] == "mjmimic.checkpoint"
    assert {"training", "rng", "wall_time"} <= set(ckpt)
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config == model["config"]
    assert config["num_envs"] == 8 and config["rand_seed"] == 7
    assert config["agent"]["model"]["actor_net"] == [64, 64]


def test_log_has_header_and_one_finite_row_per_iteration(smoke_run, kit):
    log = kit.read_log(smoke_run.out_dir / "log.txt")
    for key in ("Iteration", "Samples", "Wall_Time", "Test_Return", "Critic_Loss", "Actor_Loss"):
        assert key in log.header
    assert len(log.rows) == smoke_run.iterations
    assert log.column("Iteration") == [1.0, 2.0, 3.0, 4.0]
    assert log.column("Samples") == [64.0, 128.0, 192.0, 256.0]
    for row in log.rows:
        assert math.isfinite(row["Critic_Loss"]) and math.isfinite(row["Actor_Loss"])
        assert row["Critic_Loss"] >= 0.0
        assert row["Samples_Per_Sec"] > 0.0
    # iters_per_output 2: tested at iterations 2 and 4 only (nan in the other rows).
    tests = log.column("Test_Return")
    assert math.isnan(tests[0]) and math.isnan(tests[2])
    assert math.isfinite(tests[1]) and math.isfinite(tests[3]) and tests[3] > 0.0
    assert 0.0 < log.rows[3]["Test_Normalized_Return"] <= 1.0
    # 4 requested: a 4-env evaluation env beside the 8 training envs, one episode each.
    assert log.rows[3]["Test_Episodes"] == 4


def test_progress_and_summary_lines(smoke_run):
    result = smoke_run.result
    assert result.err == ""
    lines = result.out.splitlines()
    assert lines[0].startswith("mjmimic train: ") and "| 8 envs |" in lines[0]
    progress = [m for m in map(PROGRESS.match, lines) if m]
    assert [int(m.group(1)) for m in progress] == [1, 2, 3, 4]
    assert [int(m.group(2).replace(",", "")) for m in progress] == [64, 128, 192, 256]
    assert all(int(m.group(3)) > 0 for m in progress)
    assert progress[-1].group(4).strip() == "0:00:00"  # budget used up
    assert progress[0].group(5) == "-" and float(progress[1].group(5)) > 0.0
    assert lines[-1].startswith("done: 256 samples, 4 iterations; test return ")


def test_tensorboard_scalars(smoke_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tb_dir = smoke_run.out_dir / "tb"
    assert list(tb_dir.glob("events.out.tfevents.*"))
    acc = EventAccumulator(str(tb_dir))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"0_Main/Test_Return", "1_Info/Critic_Loss", "1_Info/Actor_Loss"} <= tags
    losses = acc.Scalars("1_Info/Critic_Loss")
    assert [e.step for e in losses] == [64, 128, 192, 256]  # x axis: samples
    assert all(math.isfinite(e.value) for e in losses)
    test_return = [e for e in acc.Scalars("0_Main/Test_Return") if math.isfinite(e.value)]
    assert [e.step for e in test_return] == [128, 256]


def test_eta_uses_the_sooner_budget():
    """``--max_samples`` defaults to 2**62: with ``--max_time`` the ETA is the time left."""
    now = [100.0]
    stream = io.StringIO()
    line = ProgressLine(2**62, stream=stream, max_seconds=600.0, clock=lambda: now[0])
    now[0] += 60.0
    assert line.eta(1000, 1000.0) == 540.0
    line.update(1, 1000, 1000.0, 60.0, None)
    assert "ETA    0:09:00" in stream.getvalue()
    # A sample budget that runs out first wins.
    line = ProgressLine(31_000, stream=io.StringIO(), max_seconds=600.0, clock=lambda: now[0])
    assert line.eta(1000, 1000.0) == 30.0
    # No time budget and the default sample budget: no meaningful estimate.
    stream = io.StringIO()
    ProgressLine(2**62, stream=stream).update(1, 1000, 1000.0, 1.0, None)
    assert "ETA   --:--:--" in stream.getvalue()


def test_progress_line_follows_redirected_stdout(capsys):
    """The default stream is sys.stdout when the line is made, not when the module was
    imported (so ``main`` called in-process can be captured)."""
    ProgressLine(10).update(1, 5, 1.0, 1.0, 2.5)
    assert "test return    2.500" in capsys.readouterr().out


def test_max_time_stops_training(kit, tiny_agent, tmp_path, capsys):
    """A tiny --max_time (minutes) ends the run after one iteration, with outputs written."""
    from mjmimic.cli.main import main

    out_dir = tmp_path / "run"
    argv = kit.train_argv(out_dir, tiny_agent, "--max_time", "0.00001", iterations=None)
    assert main(argv) == 0
    assert "done: 64 samples, 1 iterations" in capsys.readouterr().out
    assert (out_dir / "model.pt").is_file()
    assert len(kit.read_log(out_dir / "log.txt").rows) == 1
