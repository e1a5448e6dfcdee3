"""AMP's style reward under one fixed judge: the final discriminator scores an untrained
policy, the final policy, and the dataset itself.

    python bench/amp_fixed_judge.py bench/results/learn_amp_humanoid_walk

The logged ``Disc_Reward_Mean`` is each iteration's policy scored by that iteration's
discriminator, which learns as fast as the policy does: it can stay flat or fall while
the motion improves. Scoring every policy with the *same* (final) discriminator removes
that moving target. Writes ``fixed_judge.json`` into the run directory and prints it.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
import torch

from mjmimic.training import checkpoint
from mjmimic.training.setup import RunConfig, build_env_and_agent

REPO = Path(__file__).resolve().parent.parent


def judged_reward(env, policy, judge, steps: int) -> float:
    """Mean reward the judge gives ``policy``'s disc observations over ``steps`` steps of
    every env (deterministic actions; finished episodes restart)."""
    rewards = []
    obs = env.reset()
    with torch.no_grad():
        for _ in range(steps):
            obs, _, done, info = env.step(policy.act(obs, deterministic=True))
            rewards.append(_score(judge, info["disc_obs"]))
            finished = torch.nonzero(done).flatten()
            if finished.numel():
                obs = env.reset(finished)
    return float(torch.cat(rewards).mean())


def _score(judge, disc_obs: torch.Tensor) -> torch.Tensor:
    return judge.style_reward(disc_obs.to(torch.float32))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    # The run's own config files (args/amp_humanoid.txt's).
    parser.add_argument(
        "--engine_config", type=Path, default=REPO / "configs/engines/mujoco_cpu.yaml"
    )
    parser.add_argument("--env_config", type=Path, default=REPO / "configs/envs/amp_humanoid.yaml")
    parser.add_argument(
        "--agent_config", type=Path, default=REPO / "configs/agents/amp_humanoid_cpu.yaml"
    )
    parser.add_argument("--num_envs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=300, help="per env (300 = 10 s)")
    args = parser.parse_args()
    run = RunConfig.from_files(
        args.engine_config, args.env_config, args.agent_config, args.num_envs, 0, "cpu"
    )
    for seed_fn in (random.seed, np.random.seed, torch.manual_seed):
        seed_fn(0)
    env, untrained = build_env_and_agent(run)
    _, final = build_env_and_agent(run, num_envs=1)
    saved = checkpoint.load(args.run_dir / "model.pt", checkpoint.MODEL_FORMAT)
    final.load_model_state_dict(saved["model"])
    for agent in (untrained, final):
        agent.eval_mode()
    demo = torch.as_tensor(env.sample_demo_disc_obs(args.num_envs * args.steps))
    with torch.no_grad():
        result = {
            "judge": f"the discriminator of {args.run_dir / 'model.pt'} "
            f"(iteration {saved['iteration']})",
            "untrained_policy": judged_reward(env, untrained, final, args.steps),
            "final_policy": judged_reward(env, final, final, args.steps),
            "dataset": float(_score(final, demo).mean()),
            "envs": args.num_envs,
            "steps_per_env": args.steps,
        }
    (args.run_dir / "fixed_judge.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
