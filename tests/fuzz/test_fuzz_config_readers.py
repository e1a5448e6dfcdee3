"""YAML configs (engine, env, agent, robot profile), MimicKit arg files and command lines,
fed damaged input: a valid config whose every value is finite and within its key's bounds,
or one line, nothing else."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mjmimic.agents.config import PPOConfig
from mjmimic.cli.train_test import TEST_SPEC, TRAIN_SPEC
from mjmimic.config import ResolvedArgs, load_config, load_yaml, resolve_args
from mjmimic.config.bounds import out_of_bounds
from mjmimic.engines.config import EngineConfig, adapt_mimickit_engine
from mjmimic.robots.profiles import load_profile
from mjmimic.training.setup import EnvFile
from tests.fuzz.fuzzing import (
    AGENT_YAML,
    ARG_FILE,
    ENGINE_YAML,
    ENV_YAML,
    PROFILE_YAML,
    check_reader,
    damaged,
    edited_dict,
)


def in_bounds(cfg: Any, path: str = "") -> None:
    """Every float of config ``cfg`` is finite and every key with ``bounds`` obeys them."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        where = f"{path}{f.name}"
        if dataclasses.is_dataclass(value):
            in_bounds(value, where + ".")
        elif isinstance(value, dict):
            for key, item in value.items():
                if dataclasses.is_dataclass(item):
                    in_bounds(item, f"{where}.{key}.")
        elif value is not None:
            reason = out_of_bounds(value, f.metadata.get("bounds"))
            assert reason is None, f"{where} = {value!r} was accepted, but it {reason}"


# ---------------------------------------------------------------------------------------
# Readers: path -> result, as the commands read these files


def read_engine(path: Path) -> EngineConfig:
    data, origins = load_yaml(path)
    data, _ = adapt_mimickit_engine(data, origins, str(path))
    return load_config(EngineConfig, data, str(path), origins, section="engine")


def read_agent(path: Path) -> PPOConfig:
    data, origins = load_yaml(path)
    return load_config(PPOConfig, data, str(path), origins, section="agent")


def read_arg_file(path: Path) -> ResolvedArgs:
    return resolve_args(["--arg_file", str(path)], TRAIN_SPEC, TEST_SPEC)


def valid_env(env_file: EnvFile) -> None:
    assert isinstance(env_file, EnvFile)
    in_bounds(env_file.env)


def valid_args(args: ResolvedArgs) -> None:
    """Every float flag is finite and every flag with bounds obeys them."""
    for name, value in args.as_dict().items():
        flag = TRAIN_SPEC.get(name) or TEST_SPEC.get(name)
        bounds = flag.bounds if flag is not None else None
        reason = out_of_bounds(value, bounds) if value is not None else None
        assert reason is None, f"--{name} {value!r} was accepted, but it {reason}"


READERS = {
    "engine YAML": (ENGINE_YAML, read_engine, in_bounds),
    "env YAML": (ENV_YAML, EnvFile.load, valid_env),
    "agent YAML": (AGENT_YAML, read_agent, in_bounds),
    "robot profile YAML": (PROFILE_YAML, load_profile, in_bounds),
    "MimicKit arg file": (ARG_FILE, read_arg_file, valid_args),
}


def _check(name: str, case: str, data: bytes, fuzz_dir: Path) -> None:
    seed, read, valid = READERS[name]
    path = fuzz_dir / f"{name.replace(' ', '_')}{seed.suffix}"
    path.write_bytes(data)
    check_reader(name, case, lambda: read(path), valid)


@pytest.mark.parametrize("name", sorted(READERS))
@given(data=st.data())
def test_damaged_files(name, data, fuzz_dir):
    seed = READERS[name][0]
    case, damaged_bytes = data.draw(damaged(seed.read_bytes(), text=True))
    _check(name, case, damaged_bytes, fuzz_dir)


# YAML values of every kind, the numbers readers get wrong among them.
_YAML_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=10**300, max_value=10**400),
        st.floats(),
        st.sampled_from([0, -1, 0.0, -0.0, 1e-320, float("nan"), float("inf")]),
        st.text(max_size=6),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)


def _yaml(data: dict[str, Any]) -> bytes:
    return yaml.safe_dump(data, allow_unicode=True).encode()


@pytest.mark.parametrize("name", ["engine YAML", "agent YAML"])
@given(data=st.data())
def test_yaml_with_wrong_values(name, data, fuzz_dir):
    valid, _ = load_yaml(READERS[name][0])
    _check(name, "wrong values", _yaml(data.draw(edited_dict(valid, _YAML_VALUES))), fuzz_dir)


@given(data=st.data())
def test_robot_profile_with_wrong_gains(data, fuzz_dir):
    profile, _ = load_yaml(PROFILE_YAML)
    joint = data.draw(st.sampled_from(sorted(profile["joints"])))
    profile["joints"][joint] = data.draw(edited_dict(profile["joints"][joint], _YAML_VALUES))
    top = data.draw(edited_dict({k: profile[k] for k in ("init_root_height",)}, _YAML_VALUES))
    _check("robot profile YAML", "wrong values", _yaml({**profile, **top}), fuzz_dir)


_FLAGS = sorted(
    {f"--{f.name}" for f in TRAIN_SPEC.flags} | {f"--{f.name}" for f in TEST_SPEC.flags}
)
_WORDS = st.one_of(
    st.sampled_from(_FLAGS),
    st.sampled_from(["0", "-1", "nan", "inf", "1e9", "true", "ture", "", "--", "#x", "9" * 5000]),
    st.text(max_size=8),
)


@given(tokens=st.lists(_WORDS, max_size=8))
def test_command_lines(tokens):
    check_reader(
        "command line",
        "random words",
        lambda: resolve_args(tokens, TRAIN_SPEC, TEST_SPEC),
        valid_args,
    )


def test_seeds_read(fuzz_dir):
    # The seeds must read, or every damaged case would be a refusal and prove nothing.
    for name, (seed, read, valid) in READERS.items():
        copy = fuzz_dir / f"seed_{name.replace(' ', '_')}{seed.suffix}"
        shutil.copyfile(seed, copy)
        result = read(copy)
        assert result is not None
        valid(result)
