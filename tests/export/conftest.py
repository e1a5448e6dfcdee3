"""A tiny trained squat policy and a tiny trained G1 tracking policy, each exported once
per test session.

Squat: four PPO iterations of 8 envs x 8 steps with [64, 64] nets on the bundled squat
clip (a few seconds on one thread). Tracking: two iterations of 4 envs x 8 steps with
[64, 64] nets on the shipped G1 tracking config (its three clips). Enough for normalizer
statistics and weights that are not the initial ones, which is what export, parity and
sim2sim need to be tested on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml

from mjmimic.paths import ASSETS_DIR
from mjmimic.training import checkpoint
from mjmimic.training.setup import RunConfig, build_env_and_agent
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


def _train_and_export(
    root: Path, engine: str, env: str, num_envs: int, samples: int, test_episodes: int
) -> Exported:
    """Train a tiny-net PPO run of the given configs (under configs/) and export it."""
    agent = yaml.safe_load((REPO / "configs" / "agents" / "deepmimic_ppo_cpu.yaml").read_text())
    agent["model"].update(actor_net=[64, 64], critic_net=[64, 64])
    agent.update(steps_per_iter=8, iters_per_output=2, test_episodes=test_episodes)
    agent.update(actor_epochs=2, critic_epochs=2)
    (root / "agent.yaml").write_text(yaml.safe_dump(agent))
    run_dir = root / "run"
    train = run_cli(
        [
            "train",
            "--engine_config",
            str(REPO / "configs" / "engines" / engine),
            "--env_config",
            str(REPO / "configs" / "envs" / env),
            "--agent_config",
            str(root / "agent.yaml"),
            "--num_envs",
            str(num_envs),
            "--max_samples",
            str(samples),
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


@pytest.fixture(scope="session")
def exported(tmp_path_factory) -> Exported:
    root = tmp_path_factory.mktemp("export")
    return _train_and_export(root, "mujoco_cpu.yaml", "deepmimic_humanoid_squat.yaml", 8, 256, 4)


@pytest.fixture(scope="session")
def tracking_exported(tmp_path_factory, shared_data) -> Exported:
    """The G1 tracking policy, exported with the default clip (the config's first)."""
    root = tmp_path_factory.mktemp("tracking")
    return _train_and_export(root, "tracking_g1_engine.yaml", "tracking_g1.yaml", 4, 64, 2)


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


@pytest.fixture(scope="session")
def tracking_env(tracking_exported):
    """One env of the tracking run with its trained agent: observation noise and domain
    randomization off (so the observation is a function of the state, and the command
    the policy's) and episodes starting at clip time 0 (so control step k is the graph's
    time_step k)."""
    saved = checkpoint.load(tracking_exported.run_dir / "model.pt", checkpoint.MODEL_FORMAT)
    run = RunConfig.from_dict(saved["config"], "model.pt")
    run.engine.num_threads = 1
    run.env.obs_noise = {}
    run.env.domain_randomization = None  # commands and encoders as the policy gives them
    run.env.rand_reset = False
    env, agent = build_env_and_agent(run, num_envs=1)
    agent.load_model_state_dict(saved["model"])
    agent.eval_mode()
    yield env, agent
    env.engine.close()


def reset_on_clip(env, clip: int) -> torch.Tensor:
    """``env.reset()`` until its one env follows clip ``clip`` (the env draws clips by
    weight); the observation. Seeded, so the same draws every run."""
    for seed in range(100):
        torch.manual_seed(seed)
        obs = env.reset()
        if int(env.motion_ids[0]) == clip:
            return obs
    raise AssertionError(f"clip {clip} never drawn")


@pytest.fixture(scope="session")
def on_clip():
    return reset_on_clip
