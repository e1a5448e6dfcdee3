"""``diagnosis.json`` and ``diagnosis.md``: what went wrong first, the evidence, the likely
causes ranked, and what to change, for one run directory.

``build`` gathers the report as plain data (the JSON); ``render`` turns it into Markdown.
Both the training guards (on stop or crash) and ``mjmimic doctor`` (from the files a run
left) use them, so a report looks the same whoever wrote it.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from mjmimic.health import causes
from mjmimic.health.events import HealthEvent
from mjmimic.paths import atomic_write_bytes

JSON_FILE = "diagnosis.json"
MD_FILE = "diagnosis.md"
LOG_TAIL_ROWS = 5
# log.txt columns worth showing in a post-mortem, in this order (absent ones are skipped).
LOG_COLUMNS = (
    "Iteration",
    "Samples",
    "Train_Return",
    "Train_Episode_Length",
    "Test_Return",
    "Critic_Loss",
    "Actor_Loss",
    "Imp_Ratio",
    "Approx_Kl",
    "Clip_Frac",
    "Adv_Std",
    "Grad_Norm_Critic",
    "Grad_Norm_Actor",
    "Disc_Reward_Mean",
    "Disc_Loss",
    "Disc_Grad_Penalty",
    "Grad_Norm_Disc",
    "Disc_Agent_Acc",
    "Disc_Demo_Acc",
    "Action_Std_Mean",
    "Obs_Norm_Std",
)


def build(
    run_dir: Path,
    config: dict[str, Any],
    events: list[HealthEvent],
    trigger: HealthEvent | None,
    context: dict[str, Any],
) -> dict[str, Any]:
    """The report. ``trigger``: the finding that ended the run (None: it ended cleanly)."""
    serious = [e for e in events if e.family in ("nonfinite", "crash")]
    earliest = events[0] if events else None
    headline = trigger or (serious[0] if serious else earliest)
    report: dict[str, Any] = {
        "run_dir": str(run_dir),
        "status": _status(trigger),
        "first_problem": headline.to_dict() if headline else None,
        "earliest_finding": earliest.to_dict()
        if earliest is not None and earliest is not headline
        else None,
        "finding_counts": dict(Counter(e.kind for e in events)),
        "causes": causes.rank(headline, config, events) if headline else [],
        "evidence": {
            "last_update_stats": context.get("last_stats", {}),
            "reward_terms_at_last_step": context.get("reward_terms", {}),
            "log_tail": log_tail(run_dir / "log.txt"),
        },
        "files": {
            name: str(run_dir / name)
            for name in ("log.txt", "config.yaml", "checkpoint.pt", "health_events.jsonl")
            if (run_dir / name).is_file()
        },
    }
    if context.get("physics_history"):
        report["files"]["physics_history"] = context["physics_history"]
    report["extra"] = {k: v for k, v in context.items() if k not in _CONTEXT_KEYS}
    return report


_CONTEXT_KEYS = {"last_stats", "reward_terms", "physics_history"}


def _status(trigger: HealthEvent | None) -> str:
    if trigger is None:
        return "ran to the end"
    return "crashed" if trigger.family == "crash" else "stopped by a health guard"


def log_tail(path: Path, rows: int = LOG_TAIL_ROWS) -> dict[str, list[float]]:
    """The last ``rows`` rows of the key columns of a log.txt (empty if there is none)."""
    if not path.is_file():
        return {}
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return {}  # doctor's read_table has said what is wrong with the file
    if len(lines) < 2:
        return {}
    header = lines[0].split()
    body = [line.split() for line in lines[1:][-rows:]]
    keep = [k for k in LOG_COLUMNS if k in header] + [
        k for k in header if k.startswith("Env_Reward_")
    ]
    out: dict[str, list[float]] = {}
    for key in keep:
        i = header.index(key)
        out[key] = [_number(r[i]) if i < len(r) else math.nan for r in body]
    return out


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan  # shown as nan; the damaged cell is reported by the log's reader


def write(run_dir: Path, report: dict[str, Any]) -> Path:
    """Write diagnosis.json and diagnosis.md into ``run_dir``; returns the .md path."""
    run_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, default=str) + "\n"
    atomic_write_bytes(run_dir / JSON_FILE, text.encode())
    md = run_dir / MD_FILE
    atomic_write_bytes(md, render(report).encode())
    return md


def render(report: dict[str, Any]) -> str:
    unit = "step" if report.get("tool") else "iteration"
    lines = [f"# Diagnosis of {report['run_dir']}", ""]
    if report.get("tool"):
        lines += [f"Read as a {report['tool']} log.", ""]
    lines += [f"**Status:** {report['status']}.", ""]
    first = report.get("first_problem")
    if first is None:
        lines += ["No problem was recorded.", ""]
    else:
        lines += ["## What went wrong first", "", _event_line(first, unit), ""]
        if first.get("labels"):
            lines.append(f"- names: {', '.join(map(str, first['labels'][:8]))}")
        if first.get("env_ids"):
            lines.append(f"- envs: {first['env_ids']}")
        for item in first.get("upstream", [])[:8]:
            lines.append(f"- found: {item}")
        for key, value in list(first.get("numbers", {}).items())[:12]:
            lines.append(f"- {key}: {_fmt(value)}")
        lines.append("")
    if report.get("chain"):
        lines += ["## What followed", ""]
        lines += [f"- {_event_line(event, unit)}" for event in report["chain"]]
        lines.append("")
    earliest = report.get("earliest_finding")
    if earliest:
        lines += ["Earlier warning: " + _event_line(earliest, unit), ""]
    if report.get("finding_counts"):
        counts = ", ".join(f"{k} x{v}" for k, v in report["finding_counts"].items())
        lines += [f"All findings: {counts}.", ""]
    if report.get("causes"):
        lines += ["## Likely causes (most likely first)", ""]
        for i, cause in enumerate(report["causes"], start=1):
            lines.append(f"{i}. **{cause['cause']}** (score {cause['score']}): {cause['why']}")
            for change in cause["try"]:
                lines.append(f"   - try: {change}")
        lines.append("")
    if report.get("notes"):
        lines += ["## Not a problem", ""]
        lines += [f"- {note}" for note in report["notes"]]
        lines.append("")
    lines += _evidence_lines(report.get("evidence", {}))
    if report.get("files"):
        lines += ["## Files", ""]
        lines += [f"- {k}: `{v}`" for k, v in report["files"].items()]
        lines.append("")
    return "\n".join(lines)


def _event_line(event: dict[str, Any], unit: str = "iteration") -> str:
    """``unit``: "step" for other tools' logs (their logged steps, not mjmimic's
    completed iterations)."""
    where = f"{unit} {event['iteration']}"
    if event.get("step") is not None:
        where += f", rollout step {event['step']}"
    return f"[{event['kind']}] {where}: {event['message']}"


def _evidence_lines(evidence: dict[str, Any]) -> list[str]:
    lines = ["## Evidence", ""]
    if not any(v for k, v in evidence.items() if k != "log_name"):
        return [*lines, "No update, reward or log row was recorded before it happened.", ""]
    stats = evidence.get("last_update_stats") or {}
    if stats:
        lines += ["Last update: " + ", ".join(f"{k} {_fmt(v)}" for k, v in stats.items()), ""]
    terms = evidence.get("reward_terms_at_last_step") or {}
    if terms:
        lines += ["Reward terms at the last step, over the envs:", ""]
        lines += ["| reward term | mean | min | max | non-finite |", "|---|---|---|---|---|"]
        for name, s in terms.items():
            lines.append(
                f"| {name} | {_fmt(s['mean'])} | {_fmt(s['min'])} | {_fmt(s['max'])} | "
                f"{s['nonfinite']} |"
            )
        lines.append("")
    tail = evidence.get("log_tail") or {}
    if tail:
        lines += [
            f"Last rows of {evidence.get('log_name', 'log.txt')}:",
            "",
            "| column | "
            + " | ".join(f"row {i + 1}" for i in range(len(next(iter(tail.values())))))
            + " |",
        ]
        lines.append("|---" * (1 + len(next(iter(tail.values())))) + "|")
        for key, values in tail.items():
            lines.append(f"| {key} | " + " | ".join(_fmt(v) for v in values) + " |")
        lines.append("")
    return lines


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_fmt(v)}" for k, v in value.items()) + "}"
    return str(value)
