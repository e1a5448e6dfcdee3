"""A tiny trained squat policy, exported once per test session.

Four PPO iterations of 8 envs x 8 steps with [64, 64] nets on the bundled squat clip (a
few seconds on one thread): enough for normalizer statistics and weights that are not
the initial ones, which is what export, parity and sim2sim need to be tested on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from mjmimic.paths import ASSETS_DIR
from tests.cli_runner import CliResult, run_cli

REPO = Path(__file__).resolve().parents[2]
HUMANOID = ASSETS_DIR / "robots" / "humanoid" / "humanoid.xml"


@dataclass
class Exported:
    run_dir: Path
    policy: Path


@pytest.fixture(scope="session")
def cli():
    return run_cli


@pytest.fixture(scope="session")
def exported(tmp_path_factory) -> Exported:
    root = tmp_path_factory.mktemp("export")
    agent = yaml.safe_load((REPO / "configs" / "agents" / "deepmimic_ppo_cpu.yaml").read_text())
    agent["model"].update(actor_net=[64, 64], critic_net=[64, 64])
    agent.update(steps_per_iter=8, iters_per_output=2, test_episodes=4)
    agent.update(actor_epochs=2, critic_epochs=2)
    (root / "agent.yaml").write_text(yaml.safe_dump(agent))
    run_dir = root / "run"
    train = run_cli(
        [
            "train",
            "--engine_config",
            str(REPO / "configs" / "engines" / "mujoco_cpu.yaml"),
            "--env_config",
            str(REPO / "configs" / "envs" / "deepmimic_humanoid_squat.yaml"),
            "--agent_config",
            str(root / "agent.yaml"),
            "--num_envs",
            "8",
            "--max_samples",
            "256",
            "--out_dir",
            str(run_dir),
            "--rand_seed",
            "7",
            "--threads",
            "1",
        ]
    )
    assert train.code == 0, train.err
    policy = root / "policy.onnx"
    result = run_cli(["export", str(run_dir), "-o", str(policy)])
    assert result.code == 0, result.err
    assert result.err == ""
    return Exported(run_dir, policy)


def assert_one_line_error(result: CliResult, *needles: str) -> str:
    """Exit code 2, nothing on stdout, stderr one line ``mjmimic: error: ...`` with every
    needle in it."""
    assert result.code == 2, result
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1 and result.err.endswith("\n"), result.err
    assert lines[0].startswith("mjmimic: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in: {lines[0]}"
    return lines[0]


@pytest.fixture(scope="session")
def one_line_error():
    return assert_one_line_error
