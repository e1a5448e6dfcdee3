"""``mjmimic`` in-process with its output captured, for session fixtures (where capsys is
not available; tests use capsys)."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

from mjmimic.cli.main import main


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(argv: list[str]) -> CliResult:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return CliResult(code, out.getvalue(), err.getvalue())
