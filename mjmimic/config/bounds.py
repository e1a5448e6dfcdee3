"""Allowed ranges of numeric flags and config keys, declared where the flag or key is.

An ``ArgFlag(..., bounds=AT_LEAST_ONE)`` or a config field with
``metadata={"bounds": POSITIVE}`` is checked where the value is read, so the error names
the flag or key, the value and the range, and no later code sees a count of 0 or a NaN
rate. Every float flag and config value must be finite, and every int fit in 64 bits,
whether or not it has bounds: no setting means anything with NaN or infinity.

``Bounds`` is the hard limit (what cannot work); a field's ``range`` metadata is the advice
(what usually works) that ``mjmimic explain`` shows.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mjmimic.errors import ConfigError


@dataclass(frozen=True)
class Bounds:
    """``low <= value <= high`` (``<`` where open); a None end is unbounded."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: float) -> bool:
        if isinstance(value, float) and math.isnan(value):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or not (
            value > self.high or (self.high_open and value == self.high)
        )

    def __str__(self) -> str:
        """``>= 1``, ``> 0``, ``in [0, 1]``: how an error message states the range."""
        low = None if self.low is None else f"{self.low:g}"
        high = None if self.high is None else f"{self.high:g}"
        if low is not None and high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"in {left}{low}, {high}{right}"
        if low is not None:
            return f"{'>' if self.low_open else '>='} {low}"
        if high is not None:
            return f"{'<' if self.high_open else '<='} {high}"
        return "any finite number"


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

AT_LEAST_ONE = Bounds(1)  # counts: envs, episodes, iterations, threads
NON_NEGATIVE = Bounds(0)  # gains, weights, frictions, penalties
POSITIVE = Bounds(0, low_open=True)  # rates, durations, frame rates, scales
PROBABILITY = Bounds(0, 1)  # shares and probabilities
NON_POSITIVE = Bounds(high=0)  # weights of penalty reward terms


def out_of_bounds(value: Any, bounds: Bounds | None) -> str | None:
    """Why ``value`` is refused ("must be >= 1"), or None when it is fine. Floats must be
    finite and ints fit in 64 bits, bounds or not; lists and tuples are checked item by
    item, mappings value by value."""
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return next((r for r in (out_of_bounds(v, bounds) for v in value) if r), None)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX:
        # numpy, torch and MuJoCo store counts and seeds in at most 64 bits.
        return "must fit in 64 bits (|value| < 2**63)"
    if isinstance(value, float) and not math.isfinite(value):
        unbounded = bounds is None or (bounds.low is None and bounds.high is None)
        return f"must be a finite number{'' if unbounded else f' {bounds}'}"
    if bounds is not None and not bounds.contains(value):
        return f"must be {bounds}"
    return None


def check_field_bounds(cfg: Any, prefix: str = "") -> None:
    """ConfigError for the first field of dataclass ``cfg`` outside its ``bounds`` metadata
    (or not finite). The loader checks each value as it reads it; this is for a config's
    ``validate()``, so one built or changed in code meets the same declared ranges."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        reason = out_of_bounds(value, f.metadata.get("bounds"))
        if reason is not None:
            raise ConfigError(f"{prefix}{f.name} {reason}, got {value!r}")
