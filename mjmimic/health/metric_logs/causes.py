"""Likely causes of the first finding in another tool's log, ranked, with the evidence for
each and what to change, in the config keys of the tool the run came from.

A cause's score starts from how often that cause produces this finding and moves with the
evidence in the log (the other findings, the numbers at that step); the reason for every
move is written into its ``why``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from mjmimic.health.metric_logs.readers import MetricLog
from mjmimic.health.metric_logs.rules import Finding

Cause = dict  # {"cause", "why", "try": [...], "score"}

# What to change, by tool. mjmimic reads MimicKit's keys, so they share a column.
KNOBS: dict[str, dict[str, str]] = {
    "learning_rate": {
        "mimickit": "actor_optimizer.learning_rate (and critic_optimizer.learning_rate)",
        "rsl_rl": "algorithm.learning_rate",
    },
    "lr_schedule": {
        "mimickit": "actor_optimizer.learning_rate (MimicKit has no schedule: a fixed value)",
        "rsl_rl": "algorithm.schedule ('adaptive' raises the rate x1.5 whenever the KL is "
        "under desired_kl / 2; 'fixed' keeps it) and algorithm.desired_kl",
    },
    "grad_clip": {"mimickit": "grad_clip", "rsl_rl": "algorithm.max_grad_norm"},
    "obs_norm": {
        "mimickit": "normalizer_samples (the observation normalizer's sample budget)",
        "rsl_rl": "empirical_normalization (rsl_rl < 3) / policy.actor_obs_normalization "
        "and policy.critic_obs_normalization (rsl_rl >= 3)",
    },
    "discount": {"mimickit": "discount", "rsl_rl": "algorithm.gamma"},
    "action_std": {
        "mimickit": "model.action_std with model.actor_std_type",
        "rsl_rl": "policy.init_noise_std and policy.noise_std_type ('log' keeps it > 0)",
    },
    "entropy": {"mimickit": "action_entropy_weight", "rsl_rl": "algorithm.entropy_coef"},
    "clip": {"mimickit": "ppo_clip_ratio", "rsl_rl": "algorithm.clip_param"},
    "value_loss_weight": {
        "mimickit": "critic_optimizer.learning_rate (MimicKit's critic has its own optimizer)",
        "rsl_rl": "algorithm.value_loss_coef",
    },
    "reward_scale": {
        "mimickit": "the reward_*_w weights, and disc_reward_scale for AMP/ADD",
        "rsl_rl": "the reward terms' weights (mjlab: RewardTermCfg.weight)",
    },
    "motion_check": {
        "mimickit": "env.motion_file against env.char_file: run `mjmimic doctor --arg_file "
        "YOUR_ARGS.txt`, which checks DoF count, names, order, limits and floor before "
        "anything trains (mjmimic reads MimicKit's arg files)",
        "rsl_rl": "the motion file against the robot's joint order",
    },
}


def knob(log: MetricLog, name: str, advice: str) -> str:
    """``advice``, with the config key it means in the log's tool where that is known
    (CSV/JSONL logs come from code we cannot name keys of)."""
    tool = "mimickit" if log.tool == "mjmimic" else log.tool
    key = KNOBS[name].get(tool)
    return f"{advice}: {key}" if key else advice


def rank(first: Finding, findings: list[Finding], log: MetricLog) -> list[Cause]:
    rule = _RULES.get(first.kind, _generic)
    causes = rule(first, findings, log)
    return sorted(causes, key=lambda c: -c["score"])


def _cause(cause: str, why: str, tries: list[str], score: float) -> Cause:
    return {"cause": cause, "why": why, "try": tries, "score": round(min(score, 1.0), 2)}


def _kinds(findings: list[Finding]) -> set[str]:
    return {f.kind for f in findings}


def _first_of(findings: list[Finding], kind: str) -> Finding | None:
    return next((f for f in findings if f.kind == kind), None)


# --------------------------------------------------------------------------- rules


def _nonfinite(first: Finding, findings: list[Finding], log: MetricLog) -> list[Cause]:
    """A metric turned NaN/inf. At the first update, the inputs are to blame more often
    than the step size (nothing has been stepped yet)."""
    at_start = bool(first.numbers.get("first_logged"))
    high_critic = _first_of(findings, "value_loss_high_at_start")
    adversarial = any(c.lower().startswith("disc_") for c in log.series)
    out = []
    why_inputs = (
        "it is non-finite from the first logged update, before any step size could "
        "accumulate damage"
        if at_start
        else f"it first turned non-finite at step {first.iteration}"
    )
    value_column = log.roles.get("value_loss")
    value_then = first.numbers.get(value_column) if value_column else None
    if first.tensor != value_column and value_then is not None and math.isfinite(value_then):
        # Critic and actor read the same observations: a finite critic loss at that
        # update says the NaN did not come in with the value targets.
        why_inputs += (
            f"; {value_column} is finite there ({value_then:.3g}), so the NaN enters on "
            "the actor's side: the log-probabilities of the rollout's actions"
        )
    if high_critic is not None:
        why_inputs += (
            f"; the critic loss already was {high_critic.numbers['value']:.3g} there, far "
            "above what its returns explain"
        )
    if adversarial:
        out.append(
            _cause(
                "the motion does not fit the robot, so the reference observations the "
                "discriminator and policy see are garbage (wrong DoF count or order)",
                why_inputs + "; in an AMP/ADD run the reference motion enters the "
                "observations and the discriminator input directly",
                [knob(log, "motion_check", "check the motion against the robot")],
                0.55 + 0.2 * at_start + 0.15 * (high_critic is not None),
            )
        )
    out.append(
        _cause(
            "un-normalized or non-finite observations reach the networks (a normalizer "
            "dividing by a near-zero std at the first update, or a physics state blown up)",
            why_inputs,
            [
                knob(log, "obs_norm", "normalize the observations (running mean/std)"),
                "check the first rollout's observations for NaN/inf or huge values "
                "(mjmimic's guards name the first non-finite tensor and its env)",
            ],
            0.5 + 0.2 * at_start + 0.1 * (high_critic is not None),
        )
    )
    disc = log.series.get("Disc_Reward_Mean")
    disc_ok = disc is not None and math.isfinite(disc[0]) and disc[0] <= 18.5
    out.append(
        _cause(
            "the reward scale: returns too large for the critic and the advantages",
            (
                f"Disc_Reward_Mean {disc[0]:.3g} at the first update is finite and within "
                "its cap, so the disc reward is not itself the NaN"
                if disc_ok and disc is not None
                else "large returns inflate the critic loss and the advantages"
            ),
            [knob(log, "reward_scale", "scale the rewards down")],
            0.25 if disc_ok else 0.4 + 0.15 * (high_critic is not None),
        )
    )
    out.append(
        _cause(
            "a learning rate too high for the first steps",
            "lowering it is the common first try, but "
            + (
                "at the first update no step has been taken yet, so it cannot be the origin"
                if at_start
                else "the values before the NaN did not grow (no growth finding)"
                if "value_loss_growth" not in _kinds(findings)
                else "the critic loss grew before the NaN"
            ),
            [
                knob(log, "learning_rate", "lower the learning rate 3-10x"),
                knob(log, "grad_clip", "clip the gradient norm"),
            ],
            0.1 if at_start else 0.45,
        )
    )
    return out


def _value_loss_high(first: Finding, findings: list[Finding], log: MetricLog) -> list[Cause]:
    nan = _first_of(findings, "nonfinite_metric")
    if nan is not None:  # the same story as a NaN at the start, told from the NaN
        return _nonfinite(nan, findings, log)
    explained = first.numbers.get("advantage_square", math.nan)
    # With advantages logged, a loss far above their square is the critic's output being
    # off (its inputs); without, it is the size of the returns themselves.
    inputs_first = not math.isnan(explained)
    return [
        _cause(
            "observations on a wild scale reach the critic (not normalized, or normalized "
            "by a near-zero std), so its first outputs are far from any return",
            f"the critic loss {first.numbers['value']:.3g} is "
            + (
                f"{first.numbers['value'] / explained:.3g}x the squared advantages"
                if inputs_first
                else "large, and without advantage statistics its origin is not visible"
            ),
            [knob(log, "obs_norm", "normalize the observations")],
            0.7 if inputs_first else 0.4,
        ),
        _cause(
            "returns on a larger scale than the critic's output (rewards not scaled to ~1, "
            "or a long horizon)",
            "an untrained critic's loss is the squared size of the returns it misses; "
            f"{first.numbers['value']:.3g} means returns of ~{first.numbers['value'] ** 0.5:.3g}",
            [
                knob(log, "reward_scale", "scale the rewards down"),
                knob(log, "discount", "lower the discount") + " (horizon 1 / (1 - gamma))",
            ],
            0.3 if inputs_first else 0.6,
        ),
    ]


def _value_loss_growth(first: Finding, findings: list[Finding], log: MetricLog) -> list[Cause]:
    std_bad = _first_of(findings, "action_std_through_zero") or _first_of(
        findings, "action_std_collapse"
    )
    lr = log.role("learning_rate")
    lr_rise = bool(
        lr is not None and math.isfinite(lr[0]) and lr[0] > 0 and np.nanmax(lr) >= 3 * lr[0]
    )
    out = [
        _cause(
            "the learning rate (or a schedule raising it) steps the critic past its minimum",
            "the critic loss grows and does not come back"
            + (f"; the learning rate itself rose {np.nanmax(lr) / lr[0]:.3g}x" if lr_rise else ""),
            [
                knob(log, "learning_rate", "lower the learning rate (e.g. 1e-3 -> 1e-4)"),
                knob(log, "lr_schedule", "use a fixed learning rate"),
                knob(log, "grad_clip", "clip the gradient norm (e.g. 1.0 -> 0.5)"),
            ],
            0.55 + 0.2 * lr_rise,
        ),
        _cause(
            "returns of growing variance: a long horizon and unclipped penalty spikes",
            "a value target's variance grows with the horizon 1/(1 - gamma) and with rare "
            "large penalties; its squared error then grows with it",
            [
                knob(log, "discount", "lower the discount (0.99 -> 0.98)"),
                "clip or bound the penalty reward terms",
            ],
            0.45,
        ),
        _cause(
            "un-normalized observations",
            "a critic on raw observations sees inputs whose scale drifts with the policy",
            [knob(log, "obs_norm", "normalize the observations")],
            0.4,
        ),
    ]
    if std_bad is not None:
        out.append(
            _cause(
                "the action std parameter stepped towards or through zero (a raw std "
                "below 0 crashes the sampler: 'normal expects all elements of std >= 0.0')",
                f"{std_bad.tensor} reached {std_bad.numbers.get(std_bad.tensor):.3g} at step "
                f"{std_bad.iteration}, after the critic loss grew; a mean this small hides "
                "dimensions already below 0, and Adam moves a raw-std parameter by about the "
                "learning rate per step, whatever its size",
                [
                    knob(log, "action_std", "parameterize the std as log-std, or clamp it"),
                    knob(log, "entropy", "lower the entropy weight"),
                ],
                0.5,
            )
        )
    return out


def _std_through_zero(first: Finding, findings: list[Finding], log: MetricLog) -> list[Cause]:
    lr = log.role("learning_rate")
    last_lr = next((v for v in reversed(lr) if math.isfinite(v)), None) if lr is not None else None
    return [
        _cause(
            "a raw std parameter stepped below zero by the optimizer",
            f"the std went from {first.numbers.get('start', float('nan')):.3g} to "
            f"{first.numbers.get(first.tensor, float('nan'))}; Adam moves a parameter by "
            "about the learning rate per step"
            + (f" ({last_lr:.3g} at the end)" if last_lr is not None else "")
            + ", whatever its size",
            [
                knob(log, "action_std", "parameterize the std as log-std, or clamp it"),
                knob(log, "learning_rate", "lower the learning rate"),
            ],
            0.7,
        ),
        _cause(
            "the entropy bonus and the policy gradient pulling the std both ways",
            "an entropy term raises the std while a sharp advantage signal lowers it",
            [knob(log, "entropy", "retune the entropy weight")],
            0.3,
        ),
    ]


def _ratio_overflow(first: Finding, findings: list[Finding], log: MetricLog) -> list[Cause]:
    dims = first.numbers.get("summed_dims_estimate")
    diff = first.numbers.get("log_prob_difference")
    kl = _first_of(findings, "kl_high")
    same = kl is not None and kl.numbers.get("equals_log_prob_difference")
    out = []
    if dims:
        per_dim = abs(diff) / dims if diff is not None else math.nan
        out.append(
            _cause(
                "the ratio is computed from log-probabilities summed over all action "
                "dimensions (not normalized per dimension or per step)",
                f"|log-prob| ~{dims * 1.42:.3g} nats is a sum over ~{dims:.2g} dimensions; "
                f"a change of only {per_dim:.2g} nats per dimension adds up to "
                f"{abs(diff):.3g} nats, and exp() of that overflows however small the "
                "learning rate"
                + (
                    "; the KL penalty is this same difference, not an independent problem"
                    if same
                    else ""
                ),
                [
                    "compute the ratio per dimension (mean log-prob over the action/latent "
                    "dimensions) or per step (one ratio per denoising step, as DDPO does), "
                    "then clip it",
                    "clamp the log-ratio before exp() only as a guard: clamping hides the "
                    "mismatch, it does not fix the scale",
                    "normalize the KL penalty the same way, or its coefficient means nothing",
                ],
                0.9,
            )
        )
    out.append(
        _cause(
            "the policy moved far from the reference/old policy (a too large step)",
            (
                "possible, but a per-dimension change this small is an ordinary step"
                if dims
                else f"a log-ratio of {diff:.3g} nats per sample"
                if diff is not None
                else "the ratio left the trust region"
            ),
            [
                knob(log, "learning_rate", "lower the learning rate"),
                knob(log, "clip", "tighten the ratio clip"),
            ],
            0.3 if dims else 0.7,
        )
    )
    out.append(
        _cause(
            "the reference log-probabilities come from a different model or different "
            "inputs (a stale or wrongly loaded reference)",
            "a wrong reference makes the ratio large from the first step on",
            [
                "check that the reference model is the frozen starting policy, evaluated on "
                "the same samples, conditioning and noise"
            ],
            0.25,
        )
    )
    return out


def _kl_high(first: Finding, findings: list[Finding], log: MetricLog) -> list[Cause]:
    lr_kl = _first_of(findings, "lr_drives_kl")
    return [
        _cause(
            "the learning-rate schedule drives the KL",
            lr_kl.message if lr_kl else "no rise of the learning rate before it was logged",
            [knob(log, "lr_schedule", "use a fixed, lower learning rate")],
            0.8 if lr_kl else 0.2,
        ),
        _cause(
            "too large a policy step",
            f"KL {first.numbers['kl']:.3g} per update",
            [
                knob(log, "learning_rate", "lower the learning rate"),
                knob(log, "clip", "tighten the ratio clip"),
            ],
            0.5,
        ),
    ]


def _advantage_zero(first: Finding, findings: list[Finding], log: MetricLog) -> list[Cause]:
    return [
        _cause(
            "no reward variance within the groups: every sample of a group scored the same",
            first.message,
            [
                "raise the sampling temperature/noise, or the group size, so samples differ",
                "make the reward graded (a binary or saturated reward ties whole groups)",
                "drop groups whose rewards are all equal from the update",
            ],
            0.8,
        )
    ]


def _generic(first: Finding, findings: list[Finding], log: MetricLog) -> list[Cause]:
    return [
        _cause(
            f"{first.kind}",
            first.message,
            [knob(log, "learning_rate", "lower the learning rate")],
            0.3,
        )
    ]


_RULES: dict[str, Callable[[Finding, list[Finding], MetricLog], list[Cause]]] = {
    "nonfinite_metric": _nonfinite,
    "value_loss_high_at_start": _value_loss_high,
    "value_loss_growth": _value_loss_growth,
    "action_std_through_zero": _std_through_zero,
    "action_std_collapse": _std_through_zero,
    "ratio_overflow": _ratio_overflow,
    "loss_explosion": _ratio_overflow,
    "kl_high": _kl_high,
    "advantage_zero": _advantage_zero,
}
