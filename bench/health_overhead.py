"""Cost of the training health guards, measured inside one run.

    python bench/health_overhead.py [--num_envs 256] [--iterations 3]

Trains the bundled squat example with the shipped CPU agent (one thread) and times every
health hook (``start_iteration``, ``after_act``, ``after_step``, ``before_update``,
``after_update``). Reported: seconds in the hooks and their share of the whole training
time. Timing the hooks inside the same run, instead of comparing two runs, keeps the
number meaningful on a busy machine.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import torch

from mjmimic.health.monitor import HealthMonitor
from mjmimic.training.setup import RunConfig, build_env_and_agent
from mjmimic.training.trainer import RunSettings, Trainer

REPO = Path(__file__).resolve().parents[1]
HOOKS = ("start_iteration", "after_act", "after_step", "before_update", "after_update")


def _time_hooks(spent: dict[str, float]) -> None:
    for name in HOOKS:
        hook = getattr(HealthMonitor, name)

        def timed(self, *args, _hook=hook, _name=name):
            start = time.perf_counter()
            result = _hook(self, *args)
            spent[_name] = spent.get(_name, 0.0) + time.perf_counter() - start
            return result

        setattr(HealthMonitor, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_envs", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    spent: dict[str, float] = {}
    _time_hooks(spent)
    run = RunConfig.from_files(
        REPO / "configs/engines/mujoco_cpu.yaml",
        REPO / "configs/envs/deepmimic_humanoid_squat.yaml",
        REPO / "configs/agents/deepmimic_ppo_cpu.yaml",
        args.num_envs,
        1,
        "cpu",
    )
    run.engine.num_threads = 1
    env, agent = build_env_and_agent(run)
    out = Path(tempfile.mkdtemp())
    samples = args.iterations * args.num_envs * run.agent.steps_per_iter
    settings = RunSettings(out, samples, None, 10**9, 4, "txt", progress=False)
    trainer = Trainer(env, agent, settings, run.to_dict())
    start = time.perf_counter()
    trainer.train()
    total = time.perf_counter() - start
    shutil.rmtree(out)
    hooks = sum(spent.values())
    detail = ", ".join(f"{k} {v:.3f}s" for k, v in spent.items())
    print(
        f"{args.num_envs} envs, {args.iterations} iterations: training {total:.2f} s, "
        f"health hooks {hooks:.3f} s = {100 * hooks / total:.2f} % ({detail})"
    )


if __name__ == "__main__":
    main()
