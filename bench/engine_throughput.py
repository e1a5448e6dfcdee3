"""Env throughput next to raw MuJoCo physics, measured in the same run.

    python bench/engine_throughput.py [--seconds 10] [--json bench/results/engine_throughput.json]

For each robot (mjmimic's humanoid on the DeepMimic walk, the G1 on an ASAP walk), each N
in (64, 256) and each thread count in (1, 2), the DeepMimic env is stepped with the
reference pose as PD target (a realistic upright contact mix; envs that fall are reset).
Reported per configuration:

* ``env``: env control steps/s, everything the env does included (action clipping,
  physics, FK, reference lookup, observation, reward, done flags, resets); the harness's
  own lookup of the PD targets (the stand-in for a policy) is not timed;
* ``raw``: the same ``mujoco.rollout`` calls on the same states timed alone: what MuJoCo
  itself needs for those steps, the physical limit;
* ``ratio`` = env / raw. Target: >= 0.85 for the humanoid at N = 256.

"threads" are MuJoCo's rollout threads; torch runs on one, as training steps its envs
(``--torch-threads 2`` measures the alternative).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from mjmimic.config import load_config, load_yaml
from mjmimic.engines import EngineConfig
from mjmimic.envs.deepmimic.config import DeepMimicEnvConfig
from mjmimic.envs.deepmimic.env import DeepMimicEnv

REPO = Path(__file__).resolve().parent.parent
ROBOTS = {
    "humanoid": "configs/envs/deepmimic_humanoid_walk.yaml",
    "g1": "configs/envs/deepmimic_g1_walk.yaml",
}


def build_env(env_file: str, num_envs: int, threads: int) -> DeepMimicEnv:
    data, _ = load_yaml(REPO / env_file)
    env_cfg = load_config(DeepMimicEnvConfig, data["env"], env_file, section="env")
    engine_data = {
        **load_yaml(REPO / "configs/engines/mujoco_cpu.yaml")[0],
        **data.get("engine", {}),
    }
    engine_data["num_threads"] = threads
    engine_cfg = load_config(EngineConfig, engine_data, env_file, section="engine")
    return DeepMimicEnv(env_cfg, engine_cfg, num_envs, config_dir=(REPO / env_file).parent)


def measure(env: DeepMimicEnv, seconds: float) -> tuple[float, float]:
    """(env steps/s, raw rollout steps/s) over the same steps."""
    engine = env.engine
    pool = engine._rollout
    rollout_time = 0.0
    original = pool.rollout

    def timed_rollout(*args, **kwargs):
        nonlocal rollout_time
        start = time.perf_counter()
        result = original(*args, **kwargs)
        rollout_time += time.perf_counter() - start
        return result

    pool.rollout = timed_rollout
    env.reset()
    for _ in range(10):  # warm up
        _step(env)
    rollout_time, env_time, steps = 0.0, 0.0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        env_time += _step(env)
        steps += 1
    pool.rollout = original
    n = env.num_envs * steps
    return n / env_time, n / rollout_time


def _step(env: DeepMimicEnv) -> float:
    """One step with the reference pose of the next step as PD target; returns the time
    spent in the env (step and resets), not in looking up that target."""
    target = env.motion_lib.get_state(env.motion_ids, env.motion_start + env.time + env.dt)
    start = time.perf_counter()
    _, _, done, _ = env.step(target.dof_pos)
    ids = torch.nonzero(done).flatten()
    if ids.numel():
        env.reset(ids)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--torch-threads", type=int, default=1, help="torch threads (training collects with 1)"
    )
    args = parser.parse_args()
    # Torch as training steps its envs (--collect_threads 1): "threads" are MuJoCo's.
    torch.set_num_threads(args.torch_threads)
    rows = []
    print(
        f"{'robot':<9} {'N':>4} {'threads':>7} {'env steps/s':>12} {'raw steps/s':>12} {'ratio':>6}"
    )
    for robot, env_file in ROBOTS.items():
        for n in (64, 256):
            for threads in (1, 2):
                env = build_env(env_file, n, threads)
                env_rate, raw_rate = measure(env, args.seconds)
                env.engine.close()
                row = {
                    "robot": robot,
                    "num_envs": n,
                    "threads": threads,
                    "env_steps_per_s": env_rate,
                    "raw_steps_per_s": raw_rate,
                    "ratio": env_rate / raw_rate,
                }
                rows.append(row)
                print(
                    f"{robot:<9} {n:>4} {threads:>7} {env_rate:>12,.0f} {raw_rate:>12,.0f} "
                    f"{env_rate / raw_rate:>6.2f}",
                    flush=True,
                )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
