"""``kill -9`` a real ``mjmimic train`` at random moments and ``--resume`` it each time:
nothing may be lost or doubled.

    python bench/kill_resume.py [--kills 20] [--seed 0] [--out /tmp/kill_resume]

Trains a tiny run of the bundled squat example (8 envs, nets [64, 64], 1 s episodes, a
checkpoint every 2 iterations, 300 iterations), kills it ``--kills`` times (SIGKILL, no
chance to clean up) at moments drawn from a seeded RNG, every fifth kill in the middle of
a checkpoint write (the ``MJMIMIC_TEST_WRITE_DELAY`` hook of ``mjmimic/paths.py`` holds the
write open), resumes it with a plain ``mjmimic train --resume`` each time and lets the last
session finish. Then it checks, and prints one line per problem (exit status 1 if any):

* after every kill ``checkpoint.pt`` loads, and it is the last complete one (a kill during
  a write leaves the previous checkpoint);
* the finished run's log.txt has iterations 1..N once each, one header;
* its log rows, weights and optimizer states equal those of the same run trained without
  interruption (the counters, optimizer moments and RNG streams came back every time).

Run by hand (about 3 minutes on 2 cores); CI runs a few kills of the same driver
(``tests/training/test_kill_resume.py``).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
SQUAT_ENV = REPO / "configs" / "envs" / "deepmimic_humanoid_squat.yaml"
ENGINE = REPO / "configs" / "engines" / "mujoco_cpu.yaml"
BASE_AGENT = REPO / "configs" / "agents" / "deepmimic_ppo_cpu.yaml"
WRITE_DELAY_ENV = "MJMIMIC_TEST_WRITE_DELAY"  # mjmimic.paths.TEST_WRITE_DELAY_ENV
# Columns that measure the machine, not the training: they differ run to run.
TIMING = {"Wall_Time", "Samples_Per_Sec", "Collect_Fraction"}
_TIMEOUT_S = 120.0


@dataclass
class Kill:
    cycle: int
    during_write: bool
    moment_s: float  # after the session's first logged iteration (its first checkpoint)
    checkpoint_iteration: int | None  # None: checkpoint.pt did not load
    checkpoint_samples: int | None
    log_rows: int  # complete rows in log.txt at the kill (later ones are trained again)


def write_tiny_agent(path: Path, **overrides) -> Path:
    """The shipped CPU agent with tiny nets and iterations (as in tests/training)."""
    data = yaml.safe_load(BASE_AGENT.read_text())
    data["model"].update({"actor_net": [64, 64], "critic_net": [64, 64]})
    data.update(
        steps_per_iter=8, iters_per_output=2, test_episodes=2, actor_epochs=2, critic_epochs=2
    )
    data.update(overrides)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def write_short_env(path: Path) -> Path:
    """The squat example with 1 s episodes: test episodes, run at every checkpoint, are
    then as quick as an iteration, so the kills spread over many checkpoints."""
    text = SQUAT_ENV.read_text()
    assert text.count("episode_length: 10.0") == 1
    path.write_text(text.replace("episode_length: 10.0", "episode_length: 1.0"))
    return path


def train_argv(
    out_dir: Path, env: Path, agent: Path, iterations: int, num_envs: int = 8
) -> list[str]:
    steps = yaml.safe_load(agent.read_text())["steps_per_iter"]
    return [
        "train",
        *("--engine_config", str(ENGINE), "--env_config", str(env)),
        *("--agent_config", str(agent), "--num_envs", str(num_envs)),
        *("--out_dir", str(out_dir), "--rand_seed", "3", "--threads", "1"),
        *("--max_samples", str(iterations * num_envs * steps)),
    ]


class _Session:
    """One ``python -m mjmimic`` process; its output drained by a thread (a full pipe
    would stall it) and watched for the first progress line."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mjmimic", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO,
            env=env,
        )
        self.lines: list[str] = []
        self.iterated = threading.Event()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith("iter "):
                self.iterated.set()

    def wait_until(self, condition, what: str) -> bool:
        """True once ``condition()`` holds; False if the process ended first."""
        deadline = time.monotonic() + _TIMEOUT_S
        while not condition():
            if self.proc.poll() is not None:
                return False
            if time.monotonic() > deadline:
                self.proc.kill()
                raise TimeoutError(f"no {what} after {_TIMEOUT_S:.0f} s:\n{self.output()}")
            time.sleep(0.005)
        return True

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL
        self.proc.wait()
        self._reader.join()

    def finish(self) -> int:
        code = self.proc.wait(timeout=_TIMEOUT_S * 5)
        self._reader.join()
        return code

    def output(self) -> str:
        return "".join(self.lines)


def kill_and_resume(
    out_dir: Path,
    first_argv: list[str],
    kills: int,
    rng: random.Random,
    write_kills: set[int],
    max_moment_s: float = 1.5,
) -> tuple[list[Kill], int, str]:
    """Start ``first_argv``, kill it ``kills`` times (the cycles in ``write_kills`` while
    a checkpoint is being written), resume after each kill; the last resume runs to the
    end. Returns the kills, that last session's exit status and its output."""
    resume_argv = ["train", "--resume", str(out_dir), "--threads", "1"]
    done: list[Kill] = []
    for cycle in range(kills):
        during_write = cycle in write_kills
        env = dict(os.environ)
        if during_write:
            env[WRITE_DELAY_ENV] = "0.4"
        session = _Session(first_argv if cycle == 0 else resume_argv, env)
        # A fresh run has nothing to resume before its first checkpoint.
        started = (
            (lambda: (out_dir / "checkpoint.pt").is_file())
            if cycle == 0
            else session.iterated.is_set
        )
        if not session.wait_until(started, "first iteration"):
            raise RuntimeError(f"cycle {cycle} ended before a kill:\n{session.output()}")
        begin = time.monotonic()
        if during_write:
            temporary = out_dir / f".checkpoint.{session.proc.pid}.tmp.pt"
            if not session.wait_until(temporary.exists, "checkpoint write"):
                raise RuntimeError(f"cycle {cycle} ended before a kill:\n{session.output()}")
        else:
            time.sleep(rng.uniform(0.0, max_moment_s))
        if session.proc.poll() is not None:
            raise RuntimeError(f"cycle {cycle} ended before its kill:\n{session.output()}")
        session.kill()
        done.append(_after_kill(out_dir, cycle, during_write, time.monotonic() - begin))
    last = _Session(resume_argv if kills else first_argv, dict(os.environ))
    return done, last.finish(), last.output()


def _after_kill(out_dir: Path, cycle: int, during_write: bool, moment: float) -> Kill:
    try:
        saved = torch.load(out_dir / "checkpoint.pt", weights_only=True)
        iteration, samples = saved["iteration"], saved["samples"]
    except Exception:  # a torn or missing checkpoint: the problem this driver looks for
        iteration = samples = None
    return Kill(cycle, during_write, moment, iteration, samples, len(complete_rows(out_dir)))


def complete_rows(out_dir: Path) -> list[dict[str, float]]:
    lines = (out_dir / "log.txt").read_text().splitlines(keepends=True)
    header = lines[0].split()
    return [
        dict(zip(header, map(float, line.split()), strict=True))
        for line in lines[1:]
        if line.endswith("\n") and len(line.split()) == len(header)
    ]


def problems(out_dir: Path, reference: Path, kills: list[Kill], samples_per_iter: int) -> list[str]:
    """Everything wrong with a killed-and-resumed run, compared with ``reference`` (the
    same run trained in one go); empty when nothing was lost or doubled."""
    found = []
    for k in kills:
        if k.checkpoint_iteration is None:
            found.append(f"kill {k.cycle}: checkpoint.pt did not load")
            continue
        if k.checkpoint_samples != k.checkpoint_iteration * samples_per_iter:
            found.append(f"kill {k.cycle}: checkpoint counters disagree: {k}")
        if k.during_write and k.checkpoint_iteration >= k.log_rows:
            found.append(f"kill {k.cycle}: killed mid-write, yet checkpoint.pt is the new one")
    log_text = (out_dir / "log.txt").read_text()
    if log_text.count("Iteration") != 1:
        found.append(f"log.txt has {log_text.count('Iteration')} header rows")
    rows, ref_rows = complete_rows(out_dir), complete_rows(reference)
    iterations = [int(r["Iteration"]) for r in rows]
    if iterations != list(range(1, len(ref_rows) + 1)):
        found.append(f"log.txt iterations {iterations}, expected 1..{len(ref_rows)} once each")
    for row, ref in zip(rows, ref_rows, strict=False):
        differ = [k for k in ref if k not in TIMING and not _same(row.get(k, float("nan")), ref[k])]
        if differ:
            found.append(f"iteration {int(ref['Iteration'])}: {differ} differ from one go")
            break
    found += _compare_checkpoints(out_dir / "checkpoint.pt", reference / "checkpoint.pt")
    leftovers = [p.name for p in out_dir.iterdir() if p.name.startswith(".") or "lock" in p.name]
    if leftovers:
        found.append(f"left in the run directory: {leftovers}")
    return found


def _compare_checkpoints(path: Path, reference: Path) -> list[str]:
    """Every entry of the two checkpoints but the clock: weights, optimizer moments and
    step counts, counters, env and RNG states."""
    a = torch.load(path, weights_only=True)
    b = torch.load(reference, weights_only=True)
    a.pop("wall_time"), b.pop("wall_time")
    return [f"checkpoint {key} differs from one go" for key in _differing(a, b, "")[:3]]


def _differing(a, b, key: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{key} (keys)"]
        return [d for k in a for d in _differing(a[k], b[k], f"{key}.{k}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{key} (length)"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _differing(x, y, f"{key}[{i}]")
        ]
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return [] if a.shape == b.shape and torch.equal(a, b) else [key]
    return [] if a == b or (a != a and b != b) else [key]


def _same(x: float, y: float) -> bool:
    return x == y or (x != x and y != y)  # nan == nan here


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--out", type=Path, help="keep the runs here (default: a temp dir)")
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="kill_resume_"))
    root.mkdir(parents=True, exist_ok=True)
    agent = write_tiny_agent(root / "agent.yaml")
    env = write_short_env(root / "env.yaml")
    reference, run = root / "one_go", root / "killed"
    start = time.perf_counter()
    ref = subprocess.run(
        [sys.executable, "-m", "mjmimic", *train_argv(reference, env, agent, args.iterations)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if ref.returncode != 0:
        print(ref.stdout + ref.stderr)
        return 1
    rng = random.Random(args.seed)
    write_kills = set(range(2, args.kills, 5))
    kills, code, output = kill_and_resume(
        run, train_argv(run, env, agent, args.iterations), args.kills, rng, write_kills
    )
    for k in kills:
        where = "mid-checkpoint-write" if k.during_write else f"at +{k.moment_s:.2f} s"
        print(
            f"kill {k.cycle:2d} {where:>20}: checkpoint iteration {k.checkpoint_iteration}, "
            f"log rows {k.log_rows}"
        )
    found = [] if code == 0 else [f"the last resume exited with {code}:\n{output}"]
    found += problems(run, reference, kills, samples_per_iter=8 * 8)
    for line in found:
        print(f"PROBLEM: {line}")
    print(
        f"{len(kills)} kills, {len(found)} problems, {time.perf_counter() - start:.0f} s "
        f"(runs in {root})"
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
