"""The diagnosis of another tool's log, in the form ``mjmimic doctor`` writes for its own
runs (``health/diagnosis.py``): the first anomaly, the chain that followed it, the causes
ranked, readings that are not problems, and the last rows of the metrics it read."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

from mjmimic.health import diagnosis
from mjmimic.health.metric_logs import causes, rules
from mjmimic.health.metric_logs.readers import MetricLog, load
from mjmimic.health.metric_logs.roles import ROLE_NAMES

TAIL_ROWS = 5


def diagnose_log(
    path: Path, column_roles: dict[str, str] | None = None, out_dir: Path | None = None
) -> dict[str, Any]:
    """Read, diagnose and write diagnosis.md/json (into ``out_dir``; default: the log's
    directory). Returns the report."""
    log = load(path, column_roles)
    report = build(log)
    diagnosis.write(out_dir or default_out_dir(path), report)
    return report


def default_out_dir(path: Path) -> Path:
    """Where the report goes without ``--out``: the log's directory."""
    return path if path.is_dir() else path.parent


def build(log: MetricLog) -> dict[str, Any]:
    findings = rules.find_all(log)
    first = findings[0] if findings else None
    report: dict[str, Any] = {
        "run_dir": str(log.source),
        "tool": log.tool_name,
        "status": "anomaly found" if first else "no anomaly found",
        "first_problem": first.to_dict() if first else None,
        "chain": [f.to_dict() for f in findings[1:]],
        "finding_counts": dict(Counter(f.kind for f in findings)),
        "causes": causes.rank(first, findings, log) if first else [],
        "notes": rules.notes(log),
        "roles": dict(log.roles),
        "evidence": {"log_tail": _tail(log), "log_name": f"the {log.tool_name} log"},
        "files": {"log": str(log.source)},
        "steps": {"first": float(log.steps[0]), "last": float(log.steps[-1]), "rows": len(log)},
    }
    return report


def _tail(log: MetricLog) -> dict[str, list[float]]:
    """The last rows of the role columns (in update order), with the step."""
    rows = slice(max(0, len(log) - TAIL_ROWS), len(log))
    columns = [log.roles[r] for r in ROLE_NAMES if r in log.roles]
    out = {"step": [float(s) for s in log.steps[rows]]}
    for column in columns:
        values = log.series[column][rows]
        logged = log.logged[column][rows]
        out[column] = [float(v) if ok else math.nan for v, ok in zip(values, logged, strict=True)]
    return out
