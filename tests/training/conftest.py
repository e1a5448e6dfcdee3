"""Shared helpers for the training-CLI tests: tiny configs, CLI calls, log and run readers.

Test modules reach these through the ``kit`` fixture (this module), not by importing
``conftest`` (several conftest.py files share that module name).

Every run here uses the bundled squat clip on mjmimic's humanoid, one thread, few envs
and a tiny agent (nets [64, 64], 8 steps per iteration), so a training iteration takes
well under a second on a 2-core CI machine.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.cli_runner import CliResult, run_cli

REPO = Path(__file__).resolve().parents[2]
SQUAT_ENV = REPO / "configs" / "envs" / "deepmimic_humanoid_squat.yaml"
ENGINE = REPO / "configs" / "engines" / "mujoco_cpu.yaml"
BASE_AGENT = REPO / "configs" / "agents" / "deepmimic_ppo_cpu.yaml"

# The tiny agent: the shipped CPU agent config with smaller nets and iterations.
TINY_AGENT = {
    "model": {"actor_net": [64, 64], "critic_net": [64, 64]},
    "steps_per_iter": 8,
    "iters_per_output": 2,
    "test_episodes": 4,
    "actor_epochs": 2,
    "critic_epochs": 2,
}
TINY_ENVS = 8
TINY_STEPS = TINY_AGENT["steps_per_iter"]


def samples_for(iterations: int, num_envs: int = TINY_ENVS, steps: int = TINY_STEPS) -> int:
    """``--max_samples`` that stops training after exactly ``iterations`` iterations."""
    return iterations * num_envs * steps


def _merge(base: dict, overrides: dict) -> dict:
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def write_agent_yaml(path: Path, **overrides) -> Path:
    """An agent YAML: the shipped CPU PPO config, the tiny overrides, then ``overrides``
    (nested dicts merge). It stays a complete, valid MimicKit-style PPO agent file."""
    base = yaml.safe_load(BASE_AGENT.read_text())
    data = _merge(_merge(base, TINY_AGENT), overrides)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def write_env_yaml(path: Path, replace: dict[str, str] | None = None) -> Path:
    """The squat env YAML, with ``old -> new`` text replacements (each must occur once)."""
    text = SQUAT_ENV.read_text()
    for old, new in (replace or {}).items():
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {SQUAT_ENV}"
        text = text.replace(old, new)
    path.write_text(text)
    return path


def start_train(argv: list[str], stderr: int = subprocess.PIPE) -> subprocess.Popen:
    """A real ``mjmimic train`` process, stdout piped as text (its progress lines)."""
    return subprocess.Popen(
        [sys.executable, "-m", "mjmimic", *argv],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        cwd=REPO,
    )


def wait_for_iteration(proc: subprocess.Popen, iteration: int) -> None:
    """Read ``proc``'s progress lines until the one of ``iteration``."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(f"iter {iteration:6d} |"):
            return


def train_argv(
    out_dir: Path,
    agent: Path,
    *extra: str,
    env: Path = SQUAT_ENV,
    num_envs: int = TINY_ENVS,
    iterations: int | None = 4,
    seed: int = 7,
    steps: int = TINY_STEPS,
) -> list[str]:
    """``train`` argv for a tiny run: ``iterations`` iterations of ``steps`` steps per env
    (the agent's steps_per_iter), or no --max_samples when ``iterations`` is None."""
    argv = [
        "train",
        "--engine_config",
        str(ENGINE),
        "--env_config",
        str(env),
        "--agent_config",
        str(agent),
        "--num_envs",
        str(num_envs),
        "--out_dir",
        str(out_dir),
        "--rand_seed",
        str(seed),
        "--threads",
        "1",
    ]
    if iterations is not None:
        argv += ["--max_samples", str(samples_for(iterations, num_envs, steps))]
    return [*argv, *extra]


def assert_one_line_error(err: str, *needles: str) -> str:
    """stderr is exactly one line ``mjmimic: error: ...`` that contains every needle."""
    assert err.endswith("\n"), f"stderr not newline-terminated: {err!r}"
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    line = lines[0]
    assert line.startswith("mjmimic: error: "), line
    for needle in needles:
        assert needle in line, f"{needle!r} not in: {line}"
    return line


@dataclass
class Log:
    header: list[str]
    rows: list[dict[str, float]]

    def column(self, key: str) -> list[float]:
        return [row[key] for row in self.rows]


def read_log(path: Path) -> Log:
    """Parse log.txt strictly: newline-terminated, every row as wide as the header."""
    text = path.read_text()
    assert text.endswith("\n"), f"{path} does not end with a newline"
    assert "\r" not in text
    lines = text.splitlines()
    header = lines[0].split()
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        values = line.split()
        assert len(values) == len(header), f"{path}:{number}: {len(values)} values"
        rows.append({k: float(v) for k, v in zip(header, values, strict=True)})
    return Log(header, rows)


def finite(x: float) -> bool:
    return math.isfinite(x)


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` (relative path -> bytes)."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


# Taken at import: several conftest.py files share the module name "conftest", so
# sys.modules["conftest"] may be another directory's by the time a fixture runs.
_THIS_MODULE = sys.modules[__name__]


@pytest.fixture(scope="session")
def kit():
    """This module: ``kit.train_argv(...)``, ``kit.read_log(...)``, ``kit.SQUAT_ENV``..."""
    return _THIS_MODULE


@pytest.fixture(scope="session")
def tiny_agent(tmp_path_factory) -> Path:
    return write_agent_yaml(tmp_path_factory.mktemp("agent") / "tiny_agent.yaml")


@dataclass
class Run:
    out_dir: Path
    result: CliResult
    iterations: int


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, tiny_agent) -> Run:
    """One tiny training run with ``--logger tb``, shared by the read-only tests
    (log, files, TensorBoard, test mode, plot). Copy it before changing anything."""
    out_dir = tmp_path_factory.mktemp("smoke") / "run"
    iterations = 4
    result = run_cli(train_argv(out_dir, tiny_agent, "--logger", "tb", iterations=iterations))
    assert result.code == 0, result.err
    return Run(out_dir, result, iterations)


@pytest.fixture
def run_copy(smoke_run, tmp_path) -> Path:
    """A private copy of the smoke run's output directory."""
    dest = tmp_path / "run_copy"
    shutil.copytree(smoke_run.out_dir, dest)
    return dest
