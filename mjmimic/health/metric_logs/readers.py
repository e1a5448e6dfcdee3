"""Logs of other tools as one ``MetricLog``: the steps, every numeric series, and which
series plays which role.

Formats (``load``):

* a directory with TensorBoard event files (``events.out.tfevents.*``, also one level
  down, as MimicKit's and mjmimic's ``tb/``): rsl_rl/mjlab when its tags are rsl_rl's
  (``Loss/value_function``...), MimicKit's otherwise; read with the ``tensorboard``
  package's event reader;
* a directory with a MimicKit ``log.txt`` (a header row of names, then rows of numbers,
  whitespace separated; MimicKit ends rows with ``\\r``), or that file itself;
* a ``.csv`` file (a header row), a ``.jsonl``/``.json`` file (one JSON object per line):
  any column names, with ``--columns role=name`` for the ones not recognised.

Every reader gives a one-line ``MjmimicError`` for a file it cannot use.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mjmimic.errors import MjmimicError
from mjmimic.health.metric_logs.roles import assign_roles

TOOL_NAMES = {
    "mimickit": "MimicKit",
    "mjmimic": "mjmimic",
    "rsl_rl": "rsl_rl/mjlab",
    "csv": "CSV metrics",
    "jsonl": "JSON-lines metrics",
}
# Step columns, by tool: the x axis, not a metric.
_STEP_COLUMNS = ("Iteration", "iteration", "step", "Step", "global_step", "it", "epoch")


@dataclass
class MetricLog:
    source: Path
    tool: str  # a key of TOOL_NAMES
    steps: np.ndarray  # (T,) the logged steps (iterations), increasing
    series: dict[str, np.ndarray]  # column -> (T,) float64 (nan also where not logged)
    logged: dict[str, np.ndarray]  # column -> (T,) bool: a value was written at that step
    roles: dict[str, str] = field(default_factory=dict)  # role -> column

    def __len__(self) -> int:
        return len(self.steps)

    def role(self, name: str) -> np.ndarray | None:
        """The series playing role ``name``, or None."""
        column = self.roles.get(name)
        return None if column is None else self.series[column]

    def values(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) where ``column`` was logged (a logged NaN included)."""
        mask = self.logged[column]
        return self.steps[mask], self.series[column][mask]

    def role_of(self, column: str) -> str | None:
        return next((r for r, c in self.roles.items() if c == column), None)

    @property
    def tool_name(self) -> str:
        return TOOL_NAMES[self.tool]


def load(path: Path, column_roles: dict[str, str] | None = None) -> MetricLog:
    """The metric log at ``path`` (a directory or a file), roles assigned."""
    if not path.exists():
        raise MjmimicError(f"{path}: no such file or directory")
    if path.is_dir():
        events = sorted(path.glob("events.out.tfevents.*")) or sorted(
            path.glob("*/events.out.tfevents.*")
        )
        if events:
            log = _read_tensorboard(path, events)
        elif (path / "log.txt").is_file():
            log = _read_table(path / "log.txt")
        else:
            raise MjmimicError(
                f"{path}: neither an mjmimic run (no config.yaml) nor another tool's log (no "
                "TensorBoard event files events.out.tfevents.*, no log.txt); give a run's "
                "--out_dir, a MimicKit output directory, an rsl_rl/mjlab log directory, or a "
                ".csv/.jsonl file of metrics"
            )
    else:
        suffix = path.suffix.lower()
        if suffix == ".csv":
            log = _read_csv(path)
        elif suffix in (".jsonl", ".json", ".ndjson"):
            log = _read_jsonl(path)
        elif path.name.startswith("events.out.tfevents."):
            log = _read_tensorboard(path.parent, [path])
        else:
            log = _read_table(path)
    if len(log) == 0:
        raise MjmimicError(f"{log.source}: no rows of metrics in it (an empty log)")
    log.roles = assign_roles(list(log.series), log.tool, column_roles)
    return log


def _from_rows(source: Path, tool: str, rows: list[dict[str, float]]) -> MetricLog:
    """Rows (one dict per logged step) -> a MetricLog; the step is the row's step column,
    else its index."""
    names: list[str] = []
    for row in rows:
        names += [k for k in row if k not in names]
    step_key = next((k for k in _STEP_COLUMNS if k in names), None)
    steps = np.array(
        [row.get(step_key, i) if step_key else i for i, row in enumerate(rows)], dtype=float
    )
    metrics = [name for name in names if name != step_key]
    series = {
        name: np.array([row.get(name, math.nan) for row in rows], dtype=float) for name in metrics
    }
    logged = {name: np.array([name in row for row in rows], dtype=bool) for name in metrics}
    return MetricLog(source, tool, steps, series, logged)


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise MjmimicError(f"{where}: {text!r} is not a number") from None


def _read_table(path: Path) -> MetricLog:
    """MimicKit's (and mjmimic's) log.txt."""
    text = _read_text(path)
    lines = [line.split() for line in text.replace("\r", "\n").split("\n") if line.strip()]
    if not lines:
        raise MjmimicError(f"{path}: empty (a MimicKit log.txt has a header row of names)")
    header = lines[0]
    if all(_is_number(cell) for cell in header):
        raise MjmimicError(
            f"{path}: its first row holds numbers, not column names; a MimicKit log.txt "
            "starts with a header row"
        )
    rows = []
    for number, cells in enumerate(lines[1:], start=2):
        if len(cells) != len(header):
            continue  # a row cut off by a crash
        rows.append(
            {
                k: _number(v, f"{path} line {number}, column {k}")
                for k, v in zip(header, cells, strict=True)
            }
        )
    tool = "mjmimic" if (path.parent / "config.yaml").is_file() else "mimickit"
    return _from_rows(path, tool, rows)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MjmimicError(f"{path}: cannot be read as text ({exc})") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_csv(path: Path) -> MetricLog:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            table = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise MjmimicError(f"{path}: cannot be read as CSV ({exc})") from None
    table = [row for row in table if any(cell.strip() for cell in row)]
    if not table:
        raise MjmimicError(f"{path}: empty (a CSV of metrics has a header row of names)")
    header = [cell.strip() for cell in table[0]]
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        row = {}
        for name, cell in zip(header, cells, strict=False):  # short rows: blanks
            if cell.strip():
                row[name] = _number(cell.strip(), f"{path} row {number}, column {name}")
        rows.append(row)
    return _from_rows(path, "csv", rows)


def _read_jsonl(path: Path) -> MetricLog:
    text = _read_text(path)
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise MjmimicError(f"{path} line {number}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise MjmimicError(f"{path} line {number}: a JSON object per line is expected")
        # Numbers only (JSON has no NaN, but Python's json writes and reads NaN/Infinity).
        rows.append(
            {
                k: float(v)
                for k, v in record.items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            }
        )
    return _from_rows(path, "jsonl", rows)


def _read_tensorboard(directory: Path, files: list[Path]) -> MetricLog:
    """Scalars of the event files (all tags, all steps; a later file's value for a step
    wins, as after a resume)."""
    try:
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    except ImportError:
        raise MjmimicError(
            "reading TensorBoard logs needs the tensorboard package: pip install tensorboard"
        ) from None
    by_step: dict[float, dict[str, float]] = {}
    for file in files:
        try:
            for event in EventFileLoader(str(file)).Load():
                if event.HasField("session_log") and event.session_log.status == 1:
                    # START with a step: a resumed session's purge_step (what a killed run
                    # logged from there on was redone), as TensorBoard itself reads it.
                    if event.step:
                        by_step = {k: v for k, v in by_step.items() if k < event.step}
                    continue
                for value in event.summary.value:
                    if value.tag.endswith("/time"):
                        continue  # rsl_rl's Train/*/time: the same series against seconds
                    scalar = _scalar(value)
                    if scalar is not None:
                        by_step.setdefault(float(event.step), {})[value.tag] = scalar
        except Exception as exc:  # a damaged or truncated file: say which, do not crash
            if not by_step:
                raise MjmimicError(
                    f"{file}: not a readable TensorBoard event file ({exc})"
                ) from None
            break  # keep what was read before the damage
    if not by_step:
        shown = ", ".join(f.name for f in files[:3]) + (" ..." if len(files) > 3 else "")
        raise MjmimicError(
            f"{directory}: no scalar could be read from {shown}: not a readable TensorBoard "
            "event file, or one without scalars"
        )
    tags = {tag for row in by_step.values() for tag in row}
    tool = (
        "rsl_rl"
        if any(t.startswith(("Loss/", "Policy/", "Train/")) for t in tags)
        else ("mimickit")
    )
    rows = [{"step": step, **by_step[step]} for step in sorted(by_step)]
    return _from_rows(directory, tool, rows)


def _scalar(value) -> float | None:
    """A summary value's scalar: the legacy simple_value, or a 0-d tensor (tensorboard's
    newer writers)."""
    if value.HasField("simple_value"):
        return float(value.simple_value)
    if value.HasField("tensor") and not value.tensor.tensor_shape.dim:
        tensor = value.tensor
        if tensor.float_val:
            return float(tensor.float_val[0])
        if tensor.double_val:
            return float(tensor.double_val[0])
    return None
