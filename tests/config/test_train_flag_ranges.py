"""``mjmimic train|test`` flags carry their allowed range (``ArgFlag.bounds``): a count of
0, a negative sample budget or a NaN time limit is a one-line error naming the flag, the
value and the range, before anything is built."""

from __future__ import annotations

import pytest

from mjmimic.cli.train_test import TEST_SPEC, TRAIN_SPEC
from mjmimic.config import resolve_args
from mjmimic.errors import ConfigError


@pytest.mark.parametrize("spec", [TRAIN_SPEC, TEST_SPEC], ids=lambda s: s.prog)
def test_every_numeric_flag_has_a_range(spec):
    unbounded = [f.name for f in spec.flags if f.item_type in (int, float) and f.bounds is None]
    assert not unbounded, f"{spec.prog}: give these flags bounds=: {unbounded}"


@pytest.mark.parametrize(
    ("spec", "flag", "value", "needle"),
    [
        (TRAIN_SPEC, "num_envs", "0", ">= 1"),
        (TEST_SPEC, "test_episodes", "0", ">= 1"),
        (TEST_SPEC, "test_episodes", "-1", ">= 1"),
        (TRAIN_SPEC, "max_samples", "-5", ">= 1"),
        (TRAIN_SPEC, "max_time", "nan", "finite"),
        (TRAIN_SPEC, "max_time", "0", "> 0"),
        (TRAIN_SPEC, "threads", "0", ">= 1"),
        (TRAIN_SPEC, "collect_threads", "0", ">= 1"),
    ],
)
def test_out_of_range_flag_is_one_line(spec, flag, value, needle):
    with pytest.raises(ConfigError) as info:
        resolve_args([f"--{flag}", value], spec)
    message = str(info.value)
    assert "\n" not in message
    for part in (f"--{flag}", repr(value), "out of range", needle):
        assert part in message, message
