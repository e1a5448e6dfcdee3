"""Test mode: run the deterministic policy for a number of episodes and report metrics.

A step whose action is not finite (it is not sent to the engine), or after which the
physics is not (the engine reset an env: MuJoCo puts a NaN/huge state back to its rest
pose, zeroes a NaN/huge command and carries on; or qpos, qvel, the observation or the
reward is NaN/inf), ends that episode
as a failure: ``FAIL`` with the return of the steps before it, no tracking errors and no
success. Without this a policy whose every action is NaN scores well: MuJoCo holds the
character on PD targets of 0 and the reward of standing is counted. Such episodes are
counted by reason (``FAILURE_KEYS``) and ``failure_line`` words them for the report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from mjmimic.agents.base import Agent
from mjmimic.envs.base import Env
from mjmimic.envs.capabilities import EpisodeBounds, ReturnBounds, TrackingMetrics, capability
from mjmimic.envs.done import DoneFlag
from mjmimic.training.episodes import EpisodeTracker
from mjmimic.training.evaluation_config import EvaluationConfig
from mjmimic.training.tracking_report import TrackingRecorder, TrackingReport

TRACKING_METRICS = ("joint_rot_err", "root_pos_err", "key_pos_err")
# Summary keys: counted episodes that ended on each kind of failed step, and how to say it.
FAILURE_KEYS = {
    "nonfinite_action_episodes": "on a non-finite action",
    "unstable_physics_episodes": "on unstable physics (the engine reset the simulation, or "
    "its state, observation or reward was non-finite)",
}


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
    ``frames_over_threshold`` (the fraction of that body's frames above the threshold);
    ``FAILURE_KEYS``: the episodes that ended on a failed step (module docstring), which
    count as falls and add no tracking errors (all nan when every episode did).
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
    failures = {key: 0 for key in FAILURE_KEYS}
    finished = torch.zeros(env.num_envs, dtype=torch.long)  # as the tracker's quota counts
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
            bad_action = ~torch.isfinite(action).all(dim=1)
            if bool(bad_action.any()):
                # Not sent: MuJoCo would zero the controls, warn and step on; the episode
                # ends below whatever the env makes of the zeros.
                action = torch.where(bad_action[:, None], torch.zeros_like(action), action)
            obs, reward, done, info = env.step(action)
            tracking = info.get("tracking")
            bad_physics = unstable_steps(env, obs, reward) & ~bad_action
            failed = bad_action | bad_physics
            if bool(failed.any()):
                # The step's reward, errors and end flag are of a state the policy did not
                # reach (MuJoCo's reset pose, or NaN): the episode ends here, as a fall.
                reward = torch.where(failed, torch.zeros_like(reward), reward)
                done = torch.where(failed, torch.full_like(done, int(DoneFlag.FAIL)), done)
                if tracking is not None:
                    tracking = _without(tracking, failed, metrics)
            ended = (done != int(DoneFlag.NULL)).cpu()
            counted = ended & (finished < quota)
            failures["nonfinite_action_episodes"] += int((bad_action.cpu() & counted).sum())
            failures["unstable_physics_episodes"] += int((bad_physics.cpu() & counted).sum())
            finished += ended.long()
            tracker.step(reward, done, tracking, best_return=best, full_length=full)
            if recorder is not None:
                recorder.step(tracking, done, valid=~failed)
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
    if summary and metrics:
        # Episodes that ended on a failed step have nan errors: average the others.
        means = torch.cat(tracker.metrics).nanmean(dim=0)
        summary.update({k: means[i].item() for i, k in enumerate(metrics)})
    if summary:
        summary.update({k: float(n) for k, n in failures.items()})
    report = recorder.report() if recorder is not None else None
    if summary and report is not None:
        summary.update(report.summary())
    return Evaluation(summary, report)


def unstable_steps(env: Env, obs: torch.Tensor, reward: torch.Tensor) -> torch.Tensor:
    """(N,) bool: envs whose last step left the physics unusable: the engine reset them
    (``physics_resets``), or qpos, qvel, the observation or the reward is not finite. An
    env without an engine (a test double) has only its outputs checked."""
    bad = ~torch.isfinite(obs).reshape(obs.shape[0], -1).all(dim=1) | ~torch.isfinite(reward)
    engine = getattr(env, "engine", None)
    if engine is not None:
        qpos, qvel = engine.physics_state()
        state_ok = torch.isfinite(qpos).all(dim=1) & torch.isfinite(qvel).all(dim=1)
        bad = bad | engine.physics_resets().to(bad.device) | ~state_ok.to(bad.device)
    return bad


def _without(
    tracking: dict[str, torch.Tensor], failed: torch.Tensor, metrics: tuple[str, ...]
) -> dict[str, torch.Tensor]:
    """``tracking`` with nan per-step errors for the ``failed`` envs: no error of theirs
    enters an episode mean (``run_evaluation`` averages over finite ones)."""
    out = dict(tracking)
    for key in metrics:
        value = tracking[key]
        out[key] = torch.where(failed.to(value.device), torch.full_like(value, math.nan), value)
    return out


def failure_line(summary: dict[str, float]) -> str | None:
    """``3 of 32 episodes ended on a non-finite action`` (each reason that occurred), or
    None when no episode ended on a failed step."""
    episodes = int(summary.get("episodes", 0))
    parts = [
        f"{int(summary[k])} of {episodes} episodes ended {reason}"
        for k, reason in FAILURE_KEYS.items()
        if summary.get(k, 0) > 0
    ]
    if not parts:
        return None
    return "; ".join(parts) + " (counted as falls, with the return before that step)"
