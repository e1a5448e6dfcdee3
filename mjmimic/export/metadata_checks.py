"""Checks of metadata values read from a file: one-line errors naming the file and key.

JSON readers accept ``NaN`` and ``1e999``, and a hand-edited or foreign file can hold
lists of any length or values of any type, so every reader checks what it will use
(``PolicyMetadata.validate`` and the task parts in ``tracking_metadata``).
"""

from __future__ import annotations

import math
from typing import Any, NoReturn

from mjmimic.errors import MjmimicError

PREFIX = "mjmimic."


class Checker:
    """One-line errors naming the file, the metadata key, what was expected and found."""

    def __init__(self, source: str, hint: str):
        self.source, self.hint = source, hint

    def fail(self, key: str, expected: str, found: Any) -> NoReturn:
        raise MjmimicError(
            f"{self.source}: metadata {PREFIX}{key} is {found}, expected {expected}; {self.hint}"
        )

    def number(
        self, key: str, value: Any, minimum: float | None = None, strict: bool = False
    ) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(key, "a number", repr(value))
        if not math.isfinite(value):
            self.fail(key, "a finite number", value)
        if minimum is not None and (value <= minimum if strict else value < minimum):
            self.fail(key, f"a number {'>' if strict else '>='} {minimum:g}", value)

    def optional_number(self, key: str, value: Any) -> None:
        """null (the rule is off) or a number > 0."""
        if value is not None:
            self.number(key, value, minimum=0.0, strict=True)

    def integer(self, key: str, value: Any, minimum: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(key, f"an integer >= {minimum}", repr(value))

    def boolean(self, key: str, value: Any) -> None:
        if not isinstance(value, bool):
            self.fail(key, "true or false", repr(value))

    def string(self, key: str, value: Any) -> None:
        if not isinstance(value, str):
            self.fail(key, "a string", repr(value))

    def choice(self, key: str, value: Any, known: tuple[str, ...]) -> None:
        if not isinstance(value, str) or value not in known:
            self.fail(key, f"one of {', '.join(known)}", repr(value))

    def length(self, key: str, values: Any, count: int, expected: str) -> None:
        if not isinstance(values, list):
            self.fail(key, f"a list, {expected}", type(values).__name__)
        if len(values) != count:
            self.fail(key, expected, f"a list of {len(values)}")

    def numbers(
        self, key: str, values: Any, count: int, expected: str, minimum: float | None = None
    ) -> None:
        self.length(key, values, count, expected)
        for i, value in enumerate(values):
            self.number(f"{key}[{i}]", value, minimum)

    def names(self, key: str, values: Any, among: list[str] | None = None) -> None:
        """A list of distinct strings (each one of ``among``, the body names, when given)."""
        if not isinstance(values, list):
            self.fail(key, "a list of names", type(values).__name__)
        for i, value in enumerate(values):
            self.string(f"{key}[{i}]", value)
            if among is not None and value not in among:
                self.fail(f"{key}[{i}]", "one of observation.body_names", repr(value))
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            self.fail(key, "distinct names", f"a list repeating {', '.join(repeated)}")
