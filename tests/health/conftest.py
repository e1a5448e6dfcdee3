"""Tiny training runs with a hand on every part, for injecting failures.

``make_trainer`` builds the bundled squat env and a small PPO agent straight from the
shipped configs (no CLI), so a test can break one thing (a parameter, an observation
term, the physics state) and check what the health guards say about it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from mjmimic.training.setup import RunConfig, build_env_and_agent
from mjmimic.training.trainer import RunSettings, Trainer

REPO = Path(__file__).resolve().parents[2]
ENGINE = REPO / "configs" / "engines" / "mujoco_cpu.yaml"
SQUAT_ENV = REPO / "configs" / "envs" / "deepmimic_humanoid_squat.yaml"
BASE_AGENT = REPO / "configs" / "agents" / "deepmimic_ppo_cpu.yaml"
NUM_ENVS = 4
STEPS = 8


def write_agent(path: Path, **overrides) -> Path:
    data = yaml.safe_load(BASE_AGENT.read_text())
    data["model"].update({"actor_net": [32, 32], "critic_net": [32, 32]})
    data.update(steps_per_iter=STEPS, iters_per_output=100, test_episodes=2)
    data.update(actor_epochs=1, critic_epochs=1)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def make_trainer(
    out_dir: Path, iterations: int = 2, seed: int = 3, iters_per_output: int = 100, **agent
) -> Trainer:
    """A trainer for ``iterations`` iterations of a 4-env squat run writing to ``out_dir``
    (test episodes and checkpoint every ``iters_per_output`` iterations and at the end)."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    agent_file = write_agent(out_dir.parent / f"{out_dir.name}_agent.yaml", **agent)
    run = RunConfig.from_files(ENGINE, SQUAT_ENV, agent_file, NUM_ENVS, seed, "cpu")
    run.engine.num_threads = 1
    env, ppo = build_env_and_agent(run)
    settings = RunSettings(
        out_dir=out_dir,
        max_samples=iterations * NUM_ENVS * STEPS,
        max_minutes=None,
        iters_per_output=iters_per_output,
        test_episodes=2,
        logger="txt",
        progress=False,
    )
    (out_dir / "config.yaml").write_text(yaml.safe_dump(run.to_dict(), sort_keys=False))
    return Trainer(env, ppo, settings, run.to_dict())


@pytest.fixture
def trainer_factory(tmp_path):
    made = []

    def factory(name: str = "run", **kwargs) -> Trainer:
        trainer = make_trainer(tmp_path / name, **kwargs)
        made.append(trainer)
        return trainer

    yield factory
    for trainer in made:
        trainer.env.engine.close()


# Taken at import: several conftest.py files share the module name "conftest", so
# sys.modules["conftest"] may be another directory's by the time a fixture runs.
_THIS_MODULE = sys.modules[__name__]


@pytest.fixture(scope="session")
def health_kit():
    """This module (``health_kit.make_trainer``, ``health_kit.ENGINE``...): test modules do
    not import ``conftest``."""
    return _THIS_MODULE
