"""Anomaly rules over a ``MetricLog``: each a pure function returning findings.

A finding is a ``HealthEvent`` whose ``iteration`` is the logged step, ``tensor`` the
column it was read from and ``numbers`` the evidence (the value, what is normal for it).
``find_all`` runs every rule and orders the findings as the run met them: by step, and
within a step by the order an update computes its metrics (``roles.ROLES``), so the
first finding is the first thing that went wrong.

Thresholds are judgements, stated here once with their reasons.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from mjmimic.health.events import HealthEvent
from mjmimic.health.metric_logs.readers import MetricLog
from mjmimic.health.metric_logs.roles import BY_NAME, ROLE_NAMES

# The critic's first loss regresses the returns with an untrained critic (V ~ 0), so it is
# about E[A^2] = Adv_Mean^2 + Adv_Std^2 where the log has those (mjmimic's healthy runs:
# 0.6-0.9x; the ADD humanoid starts at 71 with E[A^2] 107). Above this many times that,
# the critic's own output is off (inputs on a wild scale); without advantage statistics,
# above VALUE_LOSS_START_MAX (returns of >= 10 per sample: rewards not scaled to ~1).
VALUE_LOSS_START_FACTOR = 10.0
VALUE_LOSS_START_MAX = 100.0
ALARMING_VALUE_LOSS = 20.0  # a first loss users read as broken (seed 000: "normal < 5")
# Growth "without bound": above this many times the median of the loss so far, and never
# back under a tenth of that until the log ends. (Healthy runs grow too, as returns grow
# with episode length: mjmimic's ADD humanoid 500x its minimum, 50x its running median.)
VALUE_LOSS_GROWTH = 1e3
# exp(log pi - log pi_ref) this far from 1 is not a trust-region step any more.
RATIO_MAX = 100.0
LOG_RATIO_MAX = math.log(RATIO_MAX)  # 4.6 nats per sample
# A per-sample log-probability this large is a sum over many action dimensions (a unit
# Gaussian contributes 0.5 log(2 pi e) = 1.42 nats per dimension).
SUMMED_LOG_PROB = 1e3
NATS_PER_GAUSSIAN_DIM = 0.5 * math.log(2 * math.pi * math.e)
KL_MAX = 0.1  # PPO targets ~0.01 per update; 10x that is a broken trust region
LOSS_MAX = 1e4  # a policy/total loss of this size is not a loss of order 1 any more
STD_COLLAPSE = 100.0  # action std down by this factor from its start
LR_RISE = 2.0  # the learning rate this many times higher just before a KL spike
LR_WINDOW = 10  # logged steps looked back for that rise

Finding = HealthEvent


def find_all(log: MetricLog) -> list[Finding]:
    findings = [f for rule in RULES for f in rule(log)]
    findings.sort(key=lambda f: (f.iteration, _compute_order(log, f.tensor)))
    return findings


def _compute_order(log: MetricLog, column: str | None) -> int:
    role = log.role_of(column) if column else None
    return ROLE_NAMES.index(role) if role else len(ROLE_NAMES)


def _finding(
    log: MetricLog,
    kind: str,
    family: str,
    step: float,
    column: str,
    message: str,
    **numbers,
) -> Finding:
    role = log.role_of(column)
    normal = BY_NAME[role].normal if role else None
    shown = f"{column} ({BY_NAME[role].meaning})" if role else column
    return HealthEvent(
        kind,
        family,  # type: ignore[arg-type]
        f"{shown}: {message}" + (f"; normal: {normal}" if normal else ""),
        int(step),
        tensor=column,
        labels=[role] if role else [],
        numbers={"step": step, **_row(log, step), **numbers},
    )


def _row(log: MetricLog, step: float) -> dict[str, float]:
    """The role columns' values logged at ``step`` (the evidence around a finding)."""
    i = int(np.searchsorted(log.steps, step))
    return {
        column: float(log.series[column][i])
        for column in log.roles.values()
        if i < len(log) and log.logged[column][i]
    }


def _role_values(log: MetricLog, role: str) -> tuple[str, np.ndarray, np.ndarray] | None:
    column = log.roles.get(role)
    if column is None:
        return None
    steps, values = log.values(column)
    return (column, steps, values) if len(values) else None


def _fmt(value: float) -> str:
    return f"{value:.4g}"


# --------------------------------------------------------------------------- rules


def _update_columns(log: MetricLog) -> list[str]:
    """The columns an update computes: those with a role, and any named a loss. Others
    (test returns, tracking errors) may be NaN by design where not measured, as in
    mjmimic's and MimicKit's logs."""
    roles = set(log.roles.values())
    return [c for c in log.series if c in roles or "loss" in c.lower()]


def nonfinite(log: MetricLog) -> list[Finding]:
    """Each column non-finite at the earliest such step, one finding per column; the
    columns that follow at later steps, one finding per step (the spreading NaN)."""
    first_bad: dict[str, tuple[float, int, int]] = {}  # column -> (step, index, count)
    for column in _update_columns(log):
        steps, values = log.values(column)
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            first_bad[column] = (float(steps[bad[0]]), int(bad[0]), len(bad))
    if not first_bad:
        return []
    earliest = min(step for step, _, _ in first_bad.values())
    out = []
    for column, (step, index, count) in first_bad.items():
        if step != earliest:
            continue
        first = step == log.steps[0]
        value = log.values(column)[1][index]
        out.append(
            _finding(
                log,
                "nonfinite_metric",
                "nonfinite",
                step,
                column,
                f"{value} at step {int(step)}"
                + (" (the first logged update)" if first else "")
                + f"; non-finite in {count} of {int(log.logged[column].sum())} logged steps",
                first_logged=bool(first),
            )
        )
    later: dict[float, list[str]] = {}
    for column, (step, _, _) in first_bad.items():
        if step != earliest:
            later.setdefault(step, []).append(column)
    for step, columns in sorted(later.items()):
        out.append(
            HealthEvent(
                "nonfinite_spread",
                "nonfinite",
                f"non-finite from step {int(step)} on too: {', '.join(columns)}",
                int(step),
                numbers={"step": step, "columns": columns},
            )
        )
    return out


def value_loss_high_at_start(log: MetricLog) -> list[Finding]:
    found = _role_values(log, "value_loss")
    if found is None:
        return []
    column, steps, values = found
    first, explained = float(values[0]), _advantage_square(log, 0)
    if not math.isfinite(first):
        return []
    if math.isnan(explained):
        if first <= VALUE_LOSS_START_MAX:
            return []
        why = f"> {VALUE_LOSS_START_MAX:g}: returns of 10 or more per sample"
    else:
        if first <= VALUE_LOSS_START_FACTOR * explained:
            return []
        why = (
            f"{first / explained:.3g}x the squared size of its advantages "
            f"(Adv_Mean^2 + Adv_Std^2 = {_fmt(explained)}), which an untrained critic's loss "
            "is about: the critic's own output is far off"
        )
    return [
        _finding(
            log,
            "value_loss_high_at_start",
            "learner",
            steps[0],
            column,
            f"{_fmt(first)} at the first logged update ({why})",
            value=first,
            advantage_square=explained,
        )
    ]


def _advantage_square(log: MetricLog, i: int) -> float:
    """Adv_Mean^2 + Adv_Std^2 at row ``i`` (nan unless both are logged there)."""
    return _at(log, "advantage_mean", i) ** 2 + _at(log, "advantage_std", i) ** 2


def value_loss_growth(log: MetricLog) -> list[Finding]:
    found = _role_values(log, "value_loss")
    if found is None:
        return []
    column, steps, values = found
    finite = np.isfinite(values)
    values, steps = values[finite], steps[finite]
    for i in range(3, len(values)):
        typical = float(np.median(values[:i]))
        if typical <= 0 or values[i] <= VALUE_LOSS_GROWTH * typical:
            continue
        if not np.all(values[i:] > 0.1 * VALUE_LOSS_GROWTH * typical):
            continue
        return [
            _finding(
                log,
                "value_loss_growth",
                "learner",
                steps[i],
                column,
                f"{_fmt(values[i])} at step {int(steps[i])}, {values[i] / typical:.3g}x its "
                f"median so far ({_fmt(typical)}), and it stays up to the last logged step "
                f"(last {_fmt(values[-1])}, max {_fmt(values[i:].max())})",
                median_before=typical,
                last=float(values[-1]),
                max=float(values[i:].max()),
            )
        ]
    return []


def ratio_overflow(log: MetricLog) -> list[Finding]:
    """The importance ratio far from 1, or the log-probabilities it comes from far apart."""
    cur, ref = log.role("log_prob_current"), log.role("log_prob_ref")
    for i in range(len(log)):
        step = log.steps[i]
        r = _at(log, "ratio", i)
        diff = _at(log, "log_prob_current", i) - _at(log, "log_prob_ref", i)
        ratio_bad = not math.isnan(r) and not (1 / RATIO_MAX <= r <= RATIO_MAX)
        diff_bad = not math.isnan(diff) and abs(diff) > LOG_RATIO_MAX
        if not (ratio_bad or diff_bad):
            continue
        column = log.roles["ratio"] if ratio_bad else log.roles["log_prob_current"]
        numbers: dict[str, float] = {}
        parts = []
        if not math.isnan(r):
            parts.append(f"ratio {_fmt(r)}")
        if not math.isnan(diff):
            numbers["log_prob_difference"] = float(diff)
            parts.append(f"log_prob_current - log_prob_ref = {_fmt(diff)} nats")
        if cur is not None and ref is not None:
            size = max(abs(_at(log, "log_prob_current", i)), abs(_at(log, "log_prob_ref", i)))
            if size > SUMMED_LOG_PROB:
                dims = size / NATS_PER_GAUSSIAN_DIM
                numbers["summed_dims_estimate"] = float(dims)
                parts.append(
                    f"|log-prob| {_fmt(size)}: a sum over ~{dims:.2g} action dimensions "
                    f"(~{NATS_PER_GAUSSIAN_DIM:.2f} nats each), so the difference is "
                    f"{abs(diff) / dims:.2g} nats per dimension"
                )
        return [
            _finding(
                log,
                "ratio_overflow",
                "learner",
                step,
                column,
                f"{'; '.join(parts)} at step {int(step)} (exp of a log-ratio above "
                f"{LOG_RATIO_MAX:.2g} nats is beyond {RATIO_MAX:g}x)",
                **numbers,
            )
        ]
    return []


def kl_high(log: MetricLog) -> list[Finding]:
    found = _role_values(log, "kl")
    if found is None:
        return []
    column, steps, values = found
    over = np.flatnonzero(np.isfinite(values) & (values > KL_MAX))
    if not len(over):
        return []
    i = int(over[0])
    step = steps[i]
    row = int(np.searchsorted(log.steps, step))
    diff = _at(log, "log_prob_current", row) - _at(log, "log_prob_ref", row)
    numbers = {"kl": float(values[i])}
    note = ""
    if not math.isnan(diff) and math.isclose(values[i], abs(diff), rel_tol=0.02):
        numbers["equals_log_prob_difference"] = 1.0
        note = (
            f"; it equals |log_prob_current - log_prob_ref| ({_fmt(abs(diff))}): the same "
            "log-ratio as the policy ratio, not a separate divergence to penalize harder"
        )
    return [
        _finding(
            log,
            "kl_high",
            "learner",
            step,
            column,
            f"{_fmt(values[i])} at step {int(step)} (> {KL_MAX:g}){note}",
            **numbers,
        )
    ]


def loss_explosion(log: MetricLog) -> list[Finding]:
    out = []
    for role in ("policy_loss", "loss"):
        found = _role_values(log, role)
        if found is None:
            continue
        column, steps, values = found
        over = np.flatnonzero(np.isfinite(values) & (np.abs(values) > LOSS_MAX))
        if len(over):
            i = int(over[0])
            out.append(
                _finding(
                    log,
                    "loss_explosion",
                    "learner",
                    steps[i],
                    column,
                    f"{_fmt(values[i])} at step {int(steps[i])} (|loss| > {LOSS_MAX:g})",
                    value=float(values[i]),
                )
            )
    return out


def advantage_zero(log: MetricLog) -> list[Finding]:
    """Advantages that are all exactly zero: nothing to learn from. Their *mean* being 0 is
    not evidence (normalization makes it so); their spread, the reward spread or a policy
    loss of exactly 0 is."""
    for i in range(len(log)):
        adv_std = _at(log, "advantage_std", i)
        reward_std = _at(log, "reward_std", i)
        adv_mean = _at(log, "advantage_mean", i)
        policy_loss = _at(log, "policy_loss", i)
        if adv_std == 0.0:
            column, why = log.roles["advantage_std"], "exactly 0"
        elif reward_std == 0.0:
            column, why = log.roles["reward_std"], "exactly 0: every sample got the same reward"
        elif adv_mean == 0.0 and policy_loss == 0.0:
            column = log.roles["advantage_mean"]
            why = "exactly 0 with a policy loss of exactly 0: every advantage is 0"
        else:
            continue
        return [
            _finding(
                log,
                "advantage_zero",
                "learner",
                log.steps[i],
                column,
                f"{why} at step {int(log.steps[i])} (no reward variance within the groups "
                "or batch: the policy gradient is zero)",
            )
        ]
    return []


def action_std_collapse(log: MetricLog) -> list[Finding]:
    found = _role_values(log, "action_std")
    if found is None:
        return []
    column, steps, values = found
    through = np.flatnonzero(~np.isfinite(values) | (values <= 0))
    if len(through):
        i = int(through[0])
        return [
            _finding(
                log,
                "action_std_through_zero",
                "nonfinite",
                steps[i],
                column,
                f"{_fmt(values[i])} at step {int(steps[i])} (from {_fmt(values[0])} at the "
                "start): a Gaussian with std <= 0 cannot be sampled (torch: 'normal expects "
                "all elements of std >= 0.0')",
                start=float(values[0]),
            )
        ]
    start = float(values[0])
    small = np.flatnonzero(values < start / STD_COLLAPSE)
    if start > 0 and len(small):
        i = int(small[0])
        return [
            _finding(
                log,
                "action_std_collapse",
                "learner",
                steps[i],
                column,
                f"{_fmt(values[i])} at step {int(steps[i])}, {start / values[i]:.3g}x below its "
                f"start {_fmt(start)}: exploration has stopped",
                start=start,
            )
        ]
    return []


def lr_drives_kl(log: MetricLog) -> list[Finding]:
    """A KL spike right after the learning rate went up (an adaptive or warm-up schedule
    raising the step until the trust region breaks)."""
    if "learning_rate" not in log.roles or "kl" not in log.roles:
        return []
    kl, lr = log.role("kl"), log.role("learning_rate")
    assert kl is not None and lr is not None
    for i in range(1, len(log)):
        if not (math.isfinite(kl[i]) and kl[i] > KL_MAX) or not math.isfinite(lr[i]):
            continue
        window = lr[max(0, i - LR_WINDOW) : i]
        window = window[np.isfinite(window)]
        if not len(window) or lr[i] < LR_RISE * window.min():
            return []
        j = max(0, i - LR_WINDOW) + int(np.nanargmin(lr[max(0, i - LR_WINDOW) : i]))
        return [
            _finding(
                log,
                "lr_drives_kl",
                "learner",
                log.steps[i],
                log.roles["learning_rate"],
                f"rose from {_fmt(lr[j])} at step {int(log.steps[j])} to {_fmt(lr[i])} at step "
                f"{int(log.steps[i])}, where {log.roles['kl']} reached {_fmt(kl[i])}",
                lr_before=float(lr[j]),
                lr_at_spike=float(lr[i]),
                kl=float(kl[i]),
            )
        ]
    return []


def _at(log: MetricLog, role: str, i: int) -> float:
    """The value of ``role`` at row ``i``; nan when the role is absent or not logged."""
    column = log.roles.get(role)
    if column is None or not log.logged[column][i]:
        return math.nan
    return float(log.series[column][i])


RULES: tuple[Callable[[MetricLog], list[Finding]], ...] = (
    nonfinite,
    value_loss_high_at_start,
    value_loss_growth,
    ratio_overflow,
    kl_high,
    loss_explosion,
    advantage_zero,
    action_std_collapse,
    lr_drives_kl,
)


def notes(log: MetricLog) -> list[str]:
    """Readings that look alarming but are not, said so the user stops chasing them."""
    out = []
    value = _role_values(log, "value_loss")
    explained = _advantage_square(log, 0)
    if value is not None and math.isfinite(value[2][0]) and not math.isnan(explained):
        first = float(value[2][0])
        if ALARMING_VALUE_LOSS < first <= VALUE_LOSS_START_FACTOR * explained:
            out.append(
                f"{value[0]} {_fmt(first)} at the first update is the size of the returns "
                f"the untrained critic misses ({log.roles['advantage_mean']}^2 + "
                f"{log.roles['advantage_std']}^2 = {_fmt(explained)}): large rewards, not a "
                "broken critic."
            )
    adv = _role_values(log, "advantage_mean")
    if adv is not None and np.all(adv[2] == 0.0):
        policy = _role_values(log, "policy_loss")
        spread = (
            f"; {policy[0]} is not 0, so the advantages are not all 0"
            if policy is not None and np.any(np.isfinite(policy[2]) & (policy[2] != 0))
            else ""
        )
        out.append(
            f"{adv[0]} is exactly 0 at every step: group- or batch-normalized advantages "
            f"have mean 0 by construction, so this alone says nothing{spread}."
        )
    return out
