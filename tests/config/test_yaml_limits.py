"""YAML that is valid but no config: an alias bomb and nesting past Python's recursion
limit are one-line errors, quickly, not a hang or a RecursionError traceback."""

from __future__ import annotations

import time

import pytest

from mjmimic.config import load_yaml
from mjmimic.errors import ConfigError


def test_alias_bomb_is_refused_quickly(tmp_path):
    # Each level holds ten aliases of the one before: 10**9 entries once expanded.
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"bomb.yaml: more than 100000 keys") as info:
        load_yaml(path)
    assert time.perf_counter() - start < 10
    assert "\n" not in str(info.value)


def test_deep_nesting_is_one_line(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("key: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match=r"deep.yaml: invalid YAML: .*nested too deeply"):
        load_yaml(path)


def test_aliases_within_the_budget_still_load(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("base: &b {kp: 1, kd: 2}\nknee: *b\nhip: {<<: *b, kd: 3}\n")
    data, origins = load_yaml(path)
    assert data["hip"] == {"kp": 1, "kd": 3} and origins["knee.kp"] == f"{path}:1"
