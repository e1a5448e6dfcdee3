"""Log files in other tools' formats, written by the tests: a MimicKit ``log.txt`` (header
row, fields left-justified in 25 characters, rows ended by ``\\r``), TensorBoard events
with rsl_rl's tags (or MimicKit's collections), CSV and JSON lines."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path


def write_mimickit_log(out_dir: Path, rows: list[dict[str, float]]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    keys = list(rows[0])
    lines = ["".join(f"{k:<25}" for k in keys)]
    lines += ["".join(f"{_cell(row[k]):<25}" for k in keys) for row in rows]
    path = out_dir / "log.txt"
    path.write_text("\r".join(lines) + "\r")
    return path


def _cell(value: float) -> str:
    return "nan" if isinstance(value, float) and math.isnan(value) else f"{value:.6g}"


def write_tensorboard(out_dir: Path, series: dict[str, list[float]]) -> Path:
    """One scalar per tag and step (step = list index), as rsl_rl's runner writes them."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(out_dir))
    steps = max(len(v) for v in series.values())
    for step in range(steps):
        for tag, values in series.items():
            if step < len(values):
                writer.add_scalar(tag, values[step], step)
    writer.close()
    return out_dir


def write_csv(path: Path, rows: list[dict[str, float]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, float]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path
