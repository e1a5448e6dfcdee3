"""What every fuzzed reader must do, and the ways its inputs are damaged.

The property (``check_reader``): a reader given any bytes returns a valid result or raises
a ``MjmimicError`` whose message is one non-empty line; never another exception (a
``ComplexWarning`` counts: it means imaginary parts were dropped in silence) and never a
hang (a watchdog alarm per call, beside hypothesis's per-example deadline, which only
judges an example after it has finished).

Damage (strategies): random bytes; a valid file cut at a random point; random bytes of a
valid file overwritten; numbers in a valid text file replaced by NaN, infinities, huge,
negative, denormal and non-numbers; structured files (dicts of arrays) with keys dropped
and values of other dtypes and shapes.

Hypothesis profiles (selected by ``$MJMIMIC_FUZZ``, default ``ci``) live in conftest.py.
With ``$MJMIMIC_FUZZ_STATS`` set to a file, every case appends one JSON line
``{"reader", "case", "outcome"}`` to it; ``bench/fuzz_readers.py`` makes its table from it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mjmimic.errors import MjmimicError
from mjmimic.paths import ASSETS_DIR, REPO_DIR

PROFILE_ENV = "MJMIMIC_FUZZ"
STATS_ENV = "MJMIMIC_FUZZ_STATS"
# Far above any reader's time on a small file; only a hang gets here.
HANG_SECONDS = 30.0

T = TypeVar("T")

# Valid files the damage starts from.
HUMANOID_XML = ASSETS_DIR / "robots" / "humanoid" / "humanoid.xml"
ENGINE_YAML = REPO_DIR / "configs/engines/mujoco_cpu.yaml"
ENV_YAML = REPO_DIR / "configs/envs/deepmimic_humanoid_walk.yaml"
AGENT_YAML = REPO_DIR / "configs/agents/deepmimic_ppo_cpu.yaml"
PROFILE_YAML = ASSETS_DIR / "robots" / "profiles" / "humanoid.yaml"
ARG_FILE = REPO_DIR / "args/deepmimic_humanoid_walk.txt"

# What replaces a number in a text file: the values readers get wrong.
NASTY_NUMBERS = (
    "nan",
    "-nan",
    "inf",
    "-inf",
    ".nan",
    ".inf",
    "0",
    "-1",
    "-0.5",
    "1e309",
    "-1e309",
    "1e-320",
    "1e300",
    "123456789012345678901234567890",
    "9" * 5000,  # past Python's 4300-digit int conversion limit
    "true",
    "1+2j",
    "0x10",
    "",
)
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


class ReaderHung(BaseException):
    """A reader still running after ``HANG_SECONDS``. A BaseException, so that a reader's
    ``except Exception`` cannot turn it into an ordinary refusal."""


@contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    def alarm(signum: int, frame: Any) -> None:
        raise ReaderHung(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_reader(
    reader: str,
    case: str,
    read: Callable[[], T],
    valid: Callable[[T], None] | None = None,
) -> T | None:
    """Run ``read()``; the property of the module docstring. Returns the result, or None
    when the input was refused. ``valid`` asserts what a result must be."""
    with watchdog(HANG_SECONDS), warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            result = read()
        except MjmimicError as exc:
            message = str(exc)
            assert message.strip(), f"{reader}: empty error message ({type(exc).__name__})"
            assert "\n" not in message, f"{reader}: error message is not one line: {message!r}"
            _record(reader, case, "refused")
            return None
    if valid is not None:
        valid(result)
    _record(reader, case, "read")
    return result


def _record(reader: str, case: str, outcome: str) -> None:
    path = os.environ.get(STATS_ENV)
    if path:
        with Path(path).open("a") as f:
            f.write(json.dumps({"reader": reader, "case": case, "outcome": outcome}) + "\n")


# ---------------------------------------------------------------------------------------
# Damage to bytes

random_bytes = st.binary(max_size=2048)


def truncated(valid: bytes) -> st.SearchStrategy[bytes]:
    """``valid`` cut at a random point (never whole)."""
    return st.integers(0, len(valid) - 1).map(lambda n: valid[:n])


def overwritten(valid: bytes) -> st.SearchStrategy[bytes]:
    """``valid`` with up to 16 bytes at random places replaced by random bytes."""
    edit = st.tuples(st.integers(0, len(valid) - 1), st.integers(0, 255))
    return st.lists(edit, min_size=1, max_size=16).map(lambda edits: _overwrite(valid, edits))


def _overwrite(valid: bytes, edits: list[tuple[int, int]]) -> bytes:
    data = bytearray(valid)
    for position, value in edits:
        data[position] = value
    return bytes(data)


def nasty_numbers(valid: bytes) -> st.SearchStrategy[bytes]:
    """Text file ``valid`` with up to 6 of its numbers replaced by ``NASTY_NUMBERS``."""
    spans = [m.span() for m in _NUMBER.finditer(valid)]
    assert spans, "a text seed for nasty_numbers needs numbers in it"
    edit = st.tuples(st.integers(0, len(spans) - 1), st.sampled_from(NASTY_NUMBERS))
    return st.lists(edit, min_size=1, max_size=6).map(lambda e: _replace(valid, spans, e))


def _replace(valid: bytes, spans: list[tuple[int, int]], edits: list[tuple[int, str]]) -> bytes:
    chosen = {spans[i]: text.encode() for i, text in edits}
    out, last = [], 0
    for (start, stop), text in sorted(chosen.items()):
        out += [valid[last:start], text]
        last = stop
    return b"".join([*out, valid[last:]])


def damaged(valid: bytes, text: bool) -> st.SearchStrategy[tuple[str, bytes]]:
    """(case name, bytes): every kind of damage above (numbers only for text files)."""
    cases = [
        random_bytes.map(lambda b: ("random bytes", b)),
        truncated(valid).map(lambda b: ("truncated", b)),
        overwritten(valid).map(lambda b: ("bytes overwritten", b)),
    ]
    if text:
        cases.append(nasty_numbers(valid).map(lambda b: ("nasty numbers", b)))
    return st.one_of(cases)


# ---------------------------------------------------------------------------------------
# Damage to values

DTYPES = (
    np.float64,
    np.float32,
    np.float16,
    np.int64,
    np.int8,
    np.uint16,
    np.bool_,
    np.complex128,
    np.dtype("<U4"),
    np.dtype("S3"),
)


def any_array(max_dims: int = 3) -> st.SearchStrategy[np.ndarray]:
    """Arrays of any plain dtype and small shape, NaN, infinities, huge and negative values
    included (hypothesis's elements for the dtype)."""
    return st.sampled_from(DTYPES).flatmap(
        lambda dtype: hnp.arrays(
            dtype, hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=5)
        )
    )


python_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.complex_numbers(),
    st.text(max_size=6),
    st.lists(st.floats(), max_size=4),
    st.lists(st.lists(st.integers(-3, 3), max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=12,
)
_DROP = object()


def edited_dict(
    valid: dict[str, Any], values: st.SearchStrategy[Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """``valid`` with each key kept, dropped or given a value from ``values``, and maybe
    an unknown key added."""
    per_key = {
        key: st.one_of(st.just(value), st.just(_DROP), values) for key, value in valid.items()
    }
    # Plain names: the extra key must survive being a zip member or YAML key unchanged.
    extra = st.dictionaries(
        st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6), values, max_size=1
    )
    return st.tuples(st.fixed_dictionaries(per_key), extra).map(
        lambda kv: {**{k: v for k, v in kv[0].items() if v is not _DROP}, **kv[1]}
    )


# ---------------------------------------------------------------------------------------
# What a valid result is


def finite(*arrays: Any) -> None:
    for array in arrays:
        assert np.isfinite(np.asarray(array, dtype=np.float64)).all(), "a result holds NaN/inf"
