"""Guards for an adversarial learner (AMP, ADD): what the discriminator's statistics say.

The monitor runs these after every update, after the generic checks (a non-finite
discriminator loss, logit or reward is already caught there: those statistics are in the
agent's ``update_stat_order``, the discriminator reward first, as it is computed before
the returns). Three findings, all learner warnings (``on_learner``):

* ``disc_grad_penalty_explosion``: the gradient penalty above ``max_disc_grad_penalty``
  (its sudden growth against its running median, ``disc_grad_penalty_spike``, is the
  monitor's generic spike check: the agent lists it in ``spike_stats``);
* ``disc_accuracy_saturated``: every statistic in ``agent.accuracy_stats`` at or above
  ``disc_acc_threshold`` for ``disc_acc_iterations`` updates in a row: the discriminator
  tells every agent sample from every demo, so the style reward is the same everywhere
  and the policy gets nothing to climb;
* ``disc_obs_mismatch``: every ``disc_obs_check_every`` iterations (not at the first
  update) and when the accuracies are found pinned, the raw agent and demo discriminator inputs
  (``agent.adversarial_inputs()``) compared per dimension; dims whose means are many
  pooled stds apart, or whose demo std is many times the agent's, are named
  (``env.disc_obs_labels()`` when the task has it). A demo joint in a range the robot
  never reaches is how a motion file that does not fit the robot shows up here. Not at
  the first update: an untrained policy drifts from the reference toward its default
  pose, which moves means by many pooled stds for any clip (measured on the K1 with ADD
  and the retargeted walk, which fits: 4.6 with 4 envs, 26.6 with 16, at the elbows);
  hence also the default threshold of 6 and the std ratio off by default. The pre-flight
  (``preflight.py``) is the decisive check of a clip; this one says why a discriminator
  that has won could tell the two apart.

A learner without a discriminator has no ``accuracy_stats`` and no adversarial inputs:
nothing here runs for it.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from mjmimic.health.checks import input_scale_gaps
from mjmimic.health.config import HealthConfig
from mjmimic.health.events import HealthEvent

GRAD_PENALTY = "disc_grad_penalty"
_MAX_IDS = 8
_LISTED = 3


def is_disc_stat(name: str) -> bool:
    """An update statistic of the discriminator (``disc_loss``, ``grad_norm_disc``...)."""
    return name.startswith("disc_") or name.endswith("_disc")


def disc_context(stats: dict[str, Any]) -> dict[str, Any]:
    """The discriminator's statistics of an update, copied into every adversarial finding
    (whichever the learner reports: the names are its own)."""
    return {k: v for k, v in stats.items() if is_disc_stat(k)}


class AdversarialGuards:
    def __init__(self, cfg: HealthConfig, agent: Any, env: Any):
        self.cfg = cfg
        self.agent = agent
        self.env = env
        self.acc_streak = 0
        self._inputs_checked_at: int | None = None
        self._reported_dims: set[int] = set()

    def events(self, stats: dict[str, float], iteration: int) -> list[HealthEvent]:
        pinned = self._accuracy(stats, iteration)
        # When D has won, which inputs it tells agent and demo apart by is the question.
        return [
            *self._grad_penalty(stats, iteration),
            *pinned,
            *self._input_scales(stats, iteration, now=bool(pinned)),
        ]

    # ------------------------------------------------------------------ checks

    def _grad_penalty(self, stats: dict[str, float], iteration: int) -> list[HealthEvent]:
        limit = self.cfg.max_disc_grad_penalty
        value = stats.get(GRAD_PENALTY)
        if not limit or value is None or not value > limit:
            return []
        return [
            HealthEvent(
                kind="disc_grad_penalty_explosion",
                family="learner",
                message=f"discriminator gradient penalty exploded: {GRAD_PENALTY} {value:.3g} "
                f"(> {limit:g}): D's output changes steeply between nearby inputs, it is "
                "sharpening into a step between agent and demo",
                iteration=iteration,
                tensor=GRAD_PENALTY,
                numbers={**disc_context(stats), "limit": limit},
            )
        ]

    def _accuracy(self, stats: dict[str, float], iteration: int) -> list[HealthEvent]:
        names = tuple(getattr(self.agent, "accuracy_stats", ()))
        need = self.cfg.disc_acc_iterations
        if not names or need == 0 or any(k not in stats for k in names):
            return []
        values = {k: float(stats[k]) for k in names}
        if all(math.isfinite(v) and v >= self.cfg.disc_acc_threshold for v in values.values()):
            self.acc_streak += 1
        else:
            self.acc_streak = 0
            return []
        if self.acc_streak % need != 0:
            return []
        shown = ", ".join(f"{k} {v:.3f}" for k, v in values.items())
        reward = stats.get("disc_reward_mean")
        return [
            HealthEvent(
                kind="disc_accuracy_saturated",
                family="learner",
                message="the discriminator separates agent from demo perfectly: the style "
                f"reward has collapsed ({shown}, all >= {self.cfg.disc_acc_threshold:g}, for "
                f"{self.acc_streak} iterations in a row"
                + (f"; disc_reward_mean {reward:.3g}" if reward is not None else "")
                + ")",
                iteration=iteration,
                tensor=names[0],
                labels=list(names),
                numbers={**disc_context(stats), **values, "iterations_in_a_row": self.acc_streak},
            )
        ]

    def _input_scales(
        self, stats: dict[str, float], iteration: int, now: bool = False
    ) -> list[HealthEvent]:
        cfg = self.cfg
        if not cfg.disc_obs_mean_gap and not cfg.disc_obs_std_ratio:
            return []
        every = cfg.disc_obs_check_every
        due = bool(every) and iteration - (self._inputs_checked_at or 0) >= every
        if not (due or now):
            return []
        pair = self.agent.adversarial_inputs()
        if pair is None:
            return []
        self._inputs_checked_at = iteration
        agent_x, demo_x = (x.detach().reshape(x.shape[0], -1) for x in pair)
        if agent_x.shape[0] < 2 or demo_x.shape[0] < 2 or agent_x.shape[1] != demo_x.shape[1]:
            return []
        if not bool(torch.isfinite(agent_x).all() & torch.isfinite(demo_x).all()):
            return []  # the non-finite guards report that
        g = {k: v.cpu() for k, v in input_scale_gaps(agent_x, demo_x).items()}
        if float(g["demo_std"].max()) == 0.0 and float(g["demo_mean"].abs().max()) == 0.0:
            return []  # a zero target (ADD's positive), not a distribution to compare
        score = torch.zeros_like(g["gap"])
        if cfg.disc_obs_mean_gap:
            score = torch.maximum(score, g["gap"] / cfg.disc_obs_mean_gap)
        if cfg.disc_obs_std_ratio:
            score = torch.maximum(score, g["std_ratio"] / cfg.disc_obs_std_ratio)
        flagged = [
            d
            for d in torch.argsort(score, descending=True).tolist()
            if score[d] > 1.0 and d not in self._reported_dims
        ]
        if not flagged:
            return []
        self._reported_dims.update(flagged)
        labels = self._labels(agent_x.shape[1])
        names = [labels[d] for d in flagged]
        return [
            HealthEvent(
                kind="disc_obs_mismatch",
                family="learner",
                message=f"discriminator inputs: {len(flagged)} of {agent_x.shape[1]} dims differ "
                "between agent and demo beyond health.disc_obs_mean_gap/disc_obs_std_ratio, "
                f"worst {'; '.join(_describe(labels[d], g, d) for d in flagged[:_LISTED])}: "
                "D tells them apart by these alone (a demo joint outside what the robot "
                "reaches means the motion does not fit the robot)",
                iteration=iteration,
                tensor="disc_obs",
                dims=flagged,
                labels=names,
                numbers={
                    **{
                        labels[d]: {k: round(float(v[d]), 6) for k, v in g.items()}
                        for d in flagged[:_MAX_IDS]
                    },
                    "dims_flagged": len(flagged),
                    "dims_total": int(agent_x.shape[1]),
                    "agent_samples": int(agent_x.shape[0]),
                    "demo_samples": int(demo_x.shape[0]),
                    **disc_context(stats),
                },
            )
        ]

    def _labels(self, dim: int) -> list[str]:
        get = getattr(self.env, "disc_obs_labels", None)
        labels = list(get()) if callable(get) else []
        if len(labels) != dim:
            labels = [f"disc[{i}]" for i in range(dim)]
        return labels


def _describe(label: str, g: dict[str, torch.Tensor], d: int) -> str:
    return (
        f"{label}: demo {float(g['demo_mean'][d]):.3g} +- {float(g['demo_std'][d]):.3g} vs "
        f"agent {float(g['agent_mean'][d]):.3g} +- {float(g['agent_std'][d]):.3g} "
        f"({float(g['gap'][d]):.1f} pooled std apart, demo/agent std "
        f"{float(g['std_ratio'][d]):.1f})"
    )
