"""``mjmimic doctor RUN_DIR``: a diagnosis of a finished or crashed run from its files.

Reads what a run leaves behind: ``config.yaml`` (the resolved settings), ``log.txt`` (one
row per iteration), ``health_events.jsonl`` (what the guards found while it ran; else the
first problem of an earlier ``diagnosis.json``) and ``checkpoint.pt``/``model.pt`` (the
last weights and normalizer). The log is re-checked
with the guards' thresholds, so runs trained without guards (or stopped by a kill) get
the same report; the result is written as diagnosis.md/json beside them.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import torch

from mjmimic.config.schema import load_config
from mjmimic.config.yaml_source import load_yaml
from mjmimic.errors import MjmimicError
from mjmimic.health import diagnosis
from mjmimic.health.adversarial import GRAD_PENALTY
from mjmimic.health.checks import RunningMedian
from mjmimic.health.config import HealthConfig
from mjmimic.health.events import HealthEvent
from mjmimic.health.monitor import EVENTS_FILE
from mjmimic.logging.table_log import read_table
from mjmimic.training.model_file import torch_file_problem, unpickling_refusal


def diagnose_run(run_dir: Path) -> dict[str, Any]:
    """Build and write the report for ``run_dir``; returns it."""
    config_file = run_dir / "config.yaml"
    if not config_file.is_file():
        raise MjmimicError(f"{run_dir}: no config.yaml there; give the --out_dir of a run")
    # load_yaml: random bytes, a YAML error or a list at the top are one-line errors.
    config, _ = load_yaml(config_file)
    thresholds = _thresholds(config, str(config_file))
    events = read_events(run_dir / EVENTS_FILE)
    earlier = run_dir / diagnosis.JSON_FILE
    if not events and earlier.is_file():
        # A report written before health_events.jsonl existed (or after it was deleted).
        events = _earlier_first_problem(earlier)
    events += _log_events(run_dir / "log.txt", thresholds, {(e.kind, e.iteration) for e in events})
    events += _checkpoint_events(run_dir)
    events.sort(key=lambda e: (e.iteration, e.step if e.step is not None else math.inf))
    serious = [e for e in events if e.family in ("nonfinite", "crash")]
    trigger = serious[0] if serious else None
    context = {"source": "mjmimic doctor (from the files the run left)"}
    stats = _last_stats(run_dir / "log.txt")
    if stats:
        context["last_stats"] = stats
    history = run_dir / "physics_history.npz"
    if history.is_file():
        context["physics_history"] = str(history)
    report = diagnosis.build(run_dir, config, events, trigger, context)
    if trigger is None:
        report["status"] = "no fatal problem found" + (
            f" ({len(events)} warning(s))" if events else ""
        )
    diagnosis.write(run_dir, report)
    return report


def _earlier_first_problem(path: Path) -> list[HealthEvent]:
    """The first problem of an earlier diagnosis.json; a damaged one is left out (it is
    this command's own output, rewritten below)."""
    try:
        first = json.loads(path.read_text()).get("first_problem")
        return [HealthEvent.from_dict(first)] if first else []
    except (OSError, UnicodeDecodeError, ValueError, TypeError, AttributeError):
        print(f"mjmimic: note: {path} is damaged; it is rewritten", file=sys.stderr)
        return []


def read_events(path: Path) -> list[HealthEvent]:
    """The events in a health_events.jsonl, one JSON object a line.

    A run killed while appending leaves its last line cut off: the complete lines before
    it are kept, with a note on stderr. Any other line that is not an event is an error.

    Raises:
        MjmimicError: a line (other than a cut-off last one) is not a health event.
    """
    if not path.is_file():
        return []
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    # Only a last line without its newline can have been cut by a crash.
    cut = lines.pop() if lines[-1] else None
    events = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            events.append(_event(line, f"{path}:{number}"))
    if cut is not None:
        try:
            events.append(_event(cut, f"{path}:{len(lines) + 1}"))
        except MjmimicError:
            print(
                f"mjmimic: note: {path}: the last line is cut off (the run stopped while "
                f"writing it); read the {len(events)} complete event(s) before it",
                file=sys.stderr,
            )
    return events


def _event(line: bytes, where: str) -> HealthEvent:
    try:
        data = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, nested too deeply
        raise MjmimicError(
            f"{where}: not a JSON health event ({exc}); health_events.jsonl holds one JSON "
            "object a line, as the training guards write it"
        ) from None
    # load_config checks every field's type: an event with a text iteration would
    # otherwise break the sorting of the report much later.
    return load_config(HealthEvent, data, where)


def _thresholds(config: dict[str, Any], source: str) -> HealthConfig:
    agent = config.get("agent")
    saved = agent.get("health") if isinstance(agent, dict) else None
    if not isinstance(saved, dict):
        return HealthConfig()
    known = {k: v for k, v in saved.items() if k in HealthConfig.__dataclass_fields__}
    return load_config(HealthConfig, known, source, section="agent.health")


# log.txt columns checked for NaN, in the order an (adversarial) update computes them:
# the discriminator reward comes before the returns, its own update after the actor's.
NONFINITE_COLUMNS = (
    "Disc_Reward_Mean",
    "Disc_Reward_Std",
    "Critic_Loss",
    "Actor_Loss",
    "Disc_Loss",
    "Disc_Grad_Penalty",
    "Grad_Norm_Disc",
    "Disc_Agent_Logit",
    "Disc_Demo_Logit",
)
# Columns judged against their running median, and the finding each spike is.
SPIKE_COLUMNS = {
    "Critic_Loss": "critic_loss_spike",
    "Disc_Grad_Penalty": "disc_grad_penalty_spike",
    "Grad_Norm_Disc": "grad_norm_disc_spike",
}


def _log_events(path: Path, cfg: HealthConfig, seen: set[tuple[str, int]]) -> list[HealthEvent]:
    """The guards' per-iteration checks replayed on log.txt (iteration = row's Iteration - 1,
    the number of updates completed before it, as the guards count)."""
    if not path.is_file():
        return []
    table = read_table(path)
    rows = [dict(zip(table, values, strict=True)) for values in zip(*table.values(), strict=True)]
    events: list[HealthEvent] = []
    scales = {column: RunningMedian() for column in SPIKE_COLUMNS}
    # Discriminator accuracy columns (Disc_Agent_Acc, Disc_Demo_Acc): AMP/ADD runs only.
    accuracies = [k for k in table if k.lower().startswith("disc_") and k.endswith("_Acc")]
    streak = 0
    reported: set[str] = set()

    def add(
        kind: str,
        family: str,
        row: dict[str, float],
        message: str,
        numbers: dict[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        """One finding (``fields``: tensor, labels); ``numbers`` adds to the row's."""
        iteration = int(row.get("Iteration", 0)) - 1
        if kind in reported or (kind, iteration) in seen:
            return  # the first occurrence is the informative one
        reported.add(kind)
        # Lower-cased, the log's columns are the update statistics the rules read.
        stats = {k.lower(): v for k, v in row.items() if not k.startswith("Env_Reward_")}
        events.append(
            HealthEvent(
                kind,
                family,  # type: ignore[arg-type]
                f"log.txt: {message}",
                iteration,
                numbers={**stats, **(numbers or {})},
                **fields,
            )
        )

    for row in rows:
        bad = [k for k in NONFINITE_COLUMNS if k in row and not math.isfinite(row[k])]
        if bad:
            add(
                "nonfinite_update",
                "nonfinite",
                row,
                f"{', '.join(bad)} = nan",
                tensor=bad[0].lower(),
            )
        if row.get("Imp_Ratio", 1.0) > cfg.max_importance_ratio:
            add("ratio_explosion", "learner", row, f"Imp_Ratio {row['Imp_Ratio']:.3g}")
        elif row.get("Approx_Kl", 0.0) > cfg.max_kl:
            add("kl_explosion", "learner", row, f"Approx_Kl {row['Approx_Kl']:.3g}")
        if row.get("Adv_Std", 1.0) < cfg.min_adv_std:
            add("adv_zero_spread", "learner", row, f"Adv_Std {row['Adv_Std']:.3g}")
        for column, kind in SPIKE_COLUMNS.items():
            value, scale = row.get(column, math.nan), scales[column]
            if len(scale) >= cfg.spike_warmup and value > cfg.spike_factor * max(
                scale.median(), 1e-12
            ):
                add(
                    kind,
                    "learner",
                    row,
                    f"{column} {value:.3g} vs median {scale.median():.3g}",
                    numbers={"median": scale.median()},
                )
            scale.add(value)
        penalty = row.get("Disc_Grad_Penalty", math.nan)
        if cfg.max_disc_grad_penalty and penalty > cfg.max_disc_grad_penalty:
            add(
                "disc_grad_penalty_explosion",
                "learner",
                row,
                f"Disc_Grad_Penalty {penalty:.3g} (> {cfg.max_disc_grad_penalty:g})",
                tensor=GRAD_PENALTY,
            )
        if accuracies and cfg.disc_acc_iterations:
            pinned = all(row[k] >= cfg.disc_acc_threshold for k in accuracies)
            streak = streak + 1 if pinned else 0
            if streak == cfg.disc_acc_iterations:
                shown = ", ".join(f"{k} {row[k]:.3f}" for k in accuracies)
                add(
                    "disc_accuracy_saturated",
                    "learner",
                    row,
                    f"the discriminator separates agent from demo perfectly: the style reward "
                    f"has collapsed ({shown} >= {cfg.disc_acc_threshold:g} for {streak} "
                    "iterations in a row)",
                    labels=[k.lower() for k in accuracies],
                    numbers={"iterations_in_a_row": streak},
                )
    return events


def _last_stats(path: Path) -> dict[str, float]:
    tail = diagnosis.log_tail(path, rows=1)
    return {k: v[-1] for k, v in tail.items()}


def _checkpoint_events(run_dir: Path) -> list[HealthEvent]:
    """Non-finite weights or a negative normalizer variance in the saved model."""
    for name in ("checkpoint.pt", "model.pt"):
        path = run_dir / name
        if not path.is_file():
            continue
        problem = torch_file_problem(path)
        if problem is None:
            try:
                saved = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as exc:  # a bad file is a finding, not a crash of doctor
                problem = unpickling_refusal(exc) or f"unreadable ({type(exc).__name__})"
        if problem is not None:
            return [HealthEvent("crash", "crash", f"{name}: {problem}", 0)]
        model = saved.get("model") if isinstance(saved, dict) else None
        if not isinstance(model, dict):
            message = f"{name}: not a mjmimic checkpoint (no 'model' dict of weights in it)"
            return [HealthEvent("crash", "crash", message, 0)]
        bad = [
            f"{key}: {int((~torch.isfinite(t)).sum())} of {t.numel()} values non-finite"
            for key, t in model.items()
            if isinstance(t, torch.Tensor) and t.is_floating_point() and not torch.isfinite(t).all()
        ]
        var = model.get("obs_norm.var")
        if isinstance(var, torch.Tensor) and (var < 0).any():
            bad.append(f"obs_norm.var: {int((var < 0).sum())} negative entries")
        if not bad:
            return []
        return [
            HealthEvent(
                "nonfinite_param",
                "nonfinite",
                f"{name} (iteration {saved.get('iteration')}) holds non-finite weights",
                int(saved.get("iteration", 0)),
                tensor=bad[0].split(":")[0],
                upstream=bad,
            )
        ]
    return []
