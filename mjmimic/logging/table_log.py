"""``log.txt``: one header row of keys, then one row of numbers per iteration.

Whitespace-separated and newline-terminated, so ``numpy.genfromtxt(path, names=True)``,
pandas and MimicKit's plot script read it. (MimicKit ends rows with ``\\r``; we don't.)
The columns are fixed by the first row written; a key that is missing later is written as
``nan``, a new key is an error (it would silently shift columns). Appending to the log of a
run written by an older mjmimic (``--resume``) keeps that file's columns: keys it lacks are
left out of log.txt, with one note (TensorBoard still gets them).

``--resume`` first cuts the file back to the checkpoint's iteration (``cut_rows``): rows a
killed run wrote after its last checkpoint are trained again, and would otherwise appear
twice.
"""

from __future__ import annotations

import contextlib
import errno
import math
import sys
from pathlib import Path

from mjmimic.errors import MjmimicError
from mjmimic.paths import atomic_write_bytes

_WIDTH = 22


class TableLog:
    def __init__(self, path: Path, append: bool = False):
        self.path = path
        self.keys: list[str] | None = None
        self._inherited = False  # columns fixed by an existing file, not by this writer
        self._noted = False
        if append and path.is_file():
            with path.open() as f:
                header = f.readline().split()
            self.keys = header or None
            self._inherited = bool(header)
        try:
            self._file = path.open("a" if append else "w")
        except OSError as exc:
            raise _append_error(path, exc) from None

    def write(self, row: dict[str, float]) -> None:
        lines = []
        if self.keys is None:
            self.keys = list(row)
            lines.append("".join(k.ljust(_width(k)) for k in self.keys).rstrip() + "\n")
        unknown = set(row) - set(self.keys)
        if unknown and not self._inherited:
            raise ValueError(f"log.txt columns are fixed; new keys {sorted(unknown)}")
        if unknown and not self._noted:
            self._noted = True
            print(
                f"mjmimic: note: {self.path} was started by an older mjmimic; its columns "
                f"stay as they are, without {', '.join(sorted(unknown))}",
                file=sys.stderr,
            )
        values = [_format(row.get(k, math.nan)).ljust(_width(k)) for k in self.keys]
        lines.append("".join(values).rstrip() + "\n")
        try:
            self._file.write("".join(lines))
            self._file.flush()
        except OSError as exc:
            raise _append_error(self.path, exc) from None

    def close(self) -> None:
        # A failed write already said so (its row is lost, not the file); closing must not
        # replace that message with a second error.
        with contextlib.suppress(OSError):
            self._file.close()


def cut_rows(path: Path, last_iteration: int) -> int:
    """Keep the header and the complete rows with ``Iteration <= last_iteration``; drop
    later rows and a row cut off by a crash. The file is rewritten atomically (a crash
    during the cut leaves it as it was), and only when something goes. Returns the
    number of lines dropped."""
    if not path.is_file():
        return 0
    lines = path.read_text().splitlines(keepends=True)
    if not lines:
        return 0
    header = lines[0].split()
    if "Iteration" not in header:
        return 0  # not a log this module wrote: nothing to go by
    column = header.index("Iteration")
    kept = [lines[0] if lines[0].endswith("\n") else lines[0] + "\n"]
    for line in lines[1:]:
        values = line.split()
        if line.endswith("\n") and len(values) == len(header):
            try:
                if float(values[column]) <= last_iteration:
                    kept.append(line)
            except ValueError:
                pass  # a garbled row
    dropped = len(lines) - len(kept)
    if dropped or kept[0] != lines[0]:
        atomic_write_bytes(path, "".join(kept).encode())
    return dropped


def _append_error(path: Path, exc: OSError) -> MjmimicError:
    full = " (disk full)" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
    return MjmimicError(
        f"cannot append to {path}: {exc.strerror or exc}{full}; the rows before are kept: "
        "fix the cause, then continue the run with --resume"
    )


def _width(key: str) -> int:
    """Column width: at least two spaces after the key."""
    return max(_WIDTH, len(key) + 2)


def _format(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return f"{value:.6g}"


def read_table(path: Path) -> dict[str, list[float]]:
    """Columns of a log.txt as lists of floats; a damaged file is a one-line
    ``MjmimicError`` naming the line and column."""
    try:
        with path.open(encoding="utf-8") as f:
            keys = f.readline().split()
            columns: dict[str, list[float]] = {k: [] for k in keys}
            for number, line in enumerate(f, start=2):
                values = line.split()
                if len(values) != len(keys):
                    continue  # a row cut off by a crash
                for k, v in zip(keys, values, strict=True):
                    try:
                        columns[k].append(float(v))
                    except ValueError:
                        raise MjmimicError(
                            f"{path} line {number}, column {k}: {v[:20]!r} is not a number "
                            "(a damaged log.txt)"
                        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MjmimicError(f"{path}: cannot be read as text ({exc})") from None
    return columns
