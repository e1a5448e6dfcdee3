"""``kill -9`` of a real ``mjmimic train`` at random moments, then ``--resume``: nothing
is lost or doubled.

Four kills (seeded), one of them in the middle of a checkpoint write, each followed by
a plain ``mjmimic train --resume``; the last resume runs to the run's budget. The run
must end exactly as the same run trained in one go: log rows, weights, optimizer states,
counters. The driver is ``bench/kill_resume.py``, which does the same with 20 kills by
hand.
"""

from __future__ import annotations

import importlib.util
import random
import sys

import pytest

from mjmimic.paths import TEST_WRITE_DELAY_ENV


@pytest.fixture(scope="module")
def driver(kit):
    path = kit.REPO / "bench" / "kill_resume.py"
    spec = importlib.util.spec_from_file_location("bench_kill_resume", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    assert module.WRITE_DELAY_ENV == TEST_WRITE_DELAY_ENV
    return module


def test_kill_9_and_resume_lose_and_double_nothing(driver, kit, tiny_agent, tmp_path):
    # More iterations than 4 kills at most 1 s apart can reach: every kill finds it running.
    iterations = 40
    env = driver.write_short_env(tmp_path / "env.yaml")
    reference, out = tmp_path / "one_go", tmp_path / "killed"
    one_go = kit.run_cli(kit.train_argv(reference, tiny_agent, env=env, iterations=iterations))
    assert one_go.code == 0, one_go.err
    first = kit.train_argv(out, tiny_agent, env=env, iterations=iterations)
    kills, code, output = driver.kill_and_resume(
        out, first, kills=4, rng=random.Random(0), write_kills={2}, max_moment_s=1.0
    )
    assert code == 0, output
    assert f"done: {kit.samples_for(iterations):,} samples" in output
    assert len(kills) == 4
    mid_write = [k for k in kills if k.during_write]
    assert len(mid_write) == 1
    # Killed while the next checkpoint was written: checkpoint.pt is still the last one.
    assert mid_write[0].checkpoint_iteration < mid_write[0].log_rows
    # The kills found rows past the checkpoint (the duplicates a resume must not make).
    assert any(k.log_rows > k.checkpoint_iteration for k in kills)
    problems = driver.problems(out, reference, kills, samples_per_iter=kit.samples_for(1))
    assert problems == []
    assert kit.read_log(out / "log.txt").column("Iteration") == list(range(1, iterations + 1))
