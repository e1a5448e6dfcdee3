"""Test mode: run the deterministic policy for a number of episodes and report metrics."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from mjmimic.agents.base import Agent
from mjmimic.envs.base import Env
from mjmimic.envs.capabilities import EpisodeBounds, ReturnBounds, TrackingMetrics, capability
from mjmimic.training.episodes import EpisodeTracker
from mjmimic.training.evaluation_config import EvaluationConfig
from mjmimic.training.tracking_report import TrackingRecorder, TrackingReport

TRACKING_METRICS = ("joint_rot_err", "root_pos_err", "key_pos_err")


@dataclass
class Evaluation:
    summary: dict[str, float]  # what ``evaluate`` returns (log columns, printed summary)
    # Per body, per clip time, with names (``mjmimic test --report``); None for a task
    # without TrackingMetrics.
    report: TrackingReport | None


def evaluate(
    env: Env,
    agent: Agent,
    num_episodes: int,
    max_steps: int | None = None,
    criteria: EvaluationConfig | None = None,
) -> dict[str, float]:
    """Every env finishes at least ``ceil(num_episodes / num_envs)`` episodes; only that
    many per env are counted (no bias towards short episodes). All envs are reset first.

    Returns mean return, normalized return (return / the best possible return of the same
    episode), episode length, episode length fraction (length / the steps the same episode
    lasts without failing: 1 means no episode fell), episodes, the tracking errors
    averaged per episode: joint rotation (rad), root position (m) and key-body position (m),
    and, judged on the worst body (``training/tracking_report.py``, thresholds from
    ``criteria``, the agent's ``evaluation:`` section): ``success_rate`` (episodes that did
    not fall and kept every key body and the root within the thresholds in every frame),
    ``worst_body_err`` (m, the largest per-frame error of any key body) and
    ``frames_over_threshold`` (the fraction of that body's frames above the threshold).
    """
    return run_evaluation(env, agent, num_episodes, max_steps, criteria).summary


def run_evaluation(
    env: Env,
    agent: Agent,
    num_episodes: int,
    max_steps: int | None = None,
    criteria: EvaluationConfig | None = None,
) -> Evaluation:
    """``evaluate``, with the per-body report (names, per-clip-time errors) beside it.

    What is measured depends on the task's capabilities: normalized return needs
    ``ReturnBounds``, length fraction ``EpisodeBounds``, tracking errors and success need
    ``TrackingMetrics`` (without it ``report`` is None and only returns and lengths are
    measured)."""
    quota = max(1, math.ceil(num_episodes / env.num_envs))
    bounds = capability(env, EpisodeBounds)
    best_returns = capability(env, ReturnBounds)
    tracking_env = capability(env, TrackingMetrics)
    metrics = TRACKING_METRICS if tracking_env is not None else ()
    tracker = EpisodeTracker(env.num_envs, metrics, quota=quota)
    recorder = None
    if tracking_env is not None:
        recorder = TrackingRecorder(
            env.num_envs,
            tracking_env.tracked_body_names,
            tracking_env.tracked_joint_names,
            tracking_env.clip_names(),
            tracking_env.clip_durations(),
            env.dt,
            criteria,
            quota=quota,
        )
        tracking_env.set_tracking(True)
    agent.eval_mode()
    try:
        obs = env.reset()
        steps = 0
        # The agent runs its networks under inference mode itself; env state must stay
        # ordinary tensors (the engine updates some in place on reset).
        while not tracker.quota_met():
            best = best_returns.best_episode_return() if best_returns else None
            full = bounds.full_episode_steps() if bounds else None
            # Observations to the agent's device, actions back (both the CPU by default).
            action = agent.act(obs.to(agent.device), deterministic=True).to(env.device)
            obs, reward, done, info = env.step(action)
            tracking = info.get("tracking")
            tracker.step(reward, done, tracking, best_return=best, full_length=full)
            if recorder is not None:
                recorder.step(tracking, done)
            done_ids = torch.nonzero(done).flatten()
            if done_ids.numel():
                obs = env.reset(done_ids)
            steps += 1
            if max_steps is not None and steps >= max_steps:
                break
    finally:
        agent.train_mode()
        if tracking_env is not None:
            tracking_env.set_tracking(False)
    summary = tracker.summary()
    report = recorder.report() if recorder is not None else None
    if summary and report is not None:
        summary.update(report.summary())
    return Evaluation(summary, report)
