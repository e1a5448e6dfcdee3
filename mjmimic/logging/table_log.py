"""``log.txt``: one header row of keys, then one row of numbers per iteration.

Whitespace-separated and newline-terminated, so ``numpy.genfromtxt(path, names=True)``,
pandas and MimicKit's plot script read it. (MimicKit ends rows with ``\\r``; we don't.)
The columns are fixed by the first row written; a key that is missing later is written as
``nan``, a new key is an error (it would silently shift columns). Appending to the log of a
run written by an older mjmimic (``--resume``) keeps that file's columns: keys it lacks are
left out of log.txt, with one note (TensorBoard still gets them).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

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
        self._file = path.open("a" if append else "w")

    def write(self, row: dict[str, float]) -> None:
        if self.keys is None:
            self.keys = list(row)
            self._file.write("".join(k.ljust(_width(k)) for k in self.keys).rstrip() + "\n")
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
        self._file.write("".join(values).rstrip() + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _width(key: str) -> int:
    """Column width: at least two spaces after the key."""
    return max(_WIDTH, len(key) + 2)


def _format(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return f"{value:.6g}"


def read_table(path: Path) -> dict[str, list[float]]:
    """Columns of a log.txt as lists of floats."""
    with path.open() as f:
        keys = f.readline().split()
        columns: dict[str, list[float]] = {k: [] for k in keys}
        for line in f:
            values = line.split()
            if len(values) != len(keys):
                continue  # a row cut off by a crash
            for k, v in zip(keys, values, strict=True):
                columns[k].append(float(v))
    return columns
