"""Test mode: run the deterministic policy for a number of episodes and report metrics."""

from __future__ import annotations

import math

import torch

from mjmimic.training.episodes import EpisodeTracker

TRACKING_METRICS = ("joint_rot_err", "root_pos_err", "key_pos_err")


def evaluate(env, agent, num_episodes: int, max_steps: int | None = None) -> dict[str, float]:
    """Every env finishes at least ``ceil(num_episodes / num_envs)`` episodes; only that
    many per env are counted (no bias towards short episodes). All envs are reset first.

    Returns mean return, normalized return (return / the best possible return of the same
    episode), episode length, episode length fraction (length / the steps the same episode
    lasts without failing: 1 means no episode fell), episodes, and the tracking errors
    averaged per episode: joint rotation (rad), root position (m) and key-body position (m).
    """
    quota = max(1, math.ceil(num_episodes / env.num_envs))
    tracker = EpisodeTracker(env.num_envs, TRACKING_METRICS, quota=quota)
    agent.eval_mode()
    env.compute_tracking_errors = True
    obs = env.reset()
    steps = 0
    # The agent runs its networks under inference mode itself; env state must stay
    # ordinary tensors (the engine updates some in place on reset).
    while not tracker.quota_met():
        best, full = env.best_episode_return(), env.full_episode_steps()
        action = agent.act(obs, deterministic=True)
        obs, reward, done, info = env.step(action)
        tracker.step(reward, done, info["tracking"], best_return=best, full_length=full)
        done_ids = torch.nonzero(done).flatten()
        if done_ids.numel():
            obs = env.reset(done_ids)
        steps += 1
        if max_steps is not None and steps >= max_steps:
            break
    agent.train_mode()
    env.compute_tracking_errors = False
    return tracker.summary()
