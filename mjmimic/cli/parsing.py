"""The argparse parser every ``mjmimic`` subcommand uses, and range-checked number types."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from mjmimic.config.bounds import Bounds, out_of_bounds
from mjmimic.errors import ConfigError


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors are one-line ``ConfigError``s (printed as ``mjmimic: error:``,
    exit 2) instead of argparse's usage dump; subparsers made from it inherit that."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"{self.prog}: {message}")


def number(kind: type[int] | type[float], bounds: Bounds | None = None) -> Callable[[str], float]:
    """An argparse ``type=`` for an int or float option that must lie in ``bounds`` (floats
    must be finite in any case): ``add_argument("--fps", type=number(float, POSITIVE))``.
    A refusal reads ``mjmimic motion resample: argument --fps: 'nan' is out of range: it
    must be > 0``: the option, the value and the range."""

    def convert(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            article = "an" if kind is int else "a"
            raise argparse.ArgumentTypeError(f"{text!r} is not {article} {kind.__name__}") from None
        reason = out_of_bounds(value, bounds)
        if reason is not None:
            raise argparse.ArgumentTypeError(f"{text!r} is out of range: it {reason}")
        return value

    return convert
