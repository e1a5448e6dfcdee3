"""Every numeric key of the agent and env configs declares its allowed range (``bounds``
metadata), the loader refuses a value outside it in one line naming the file, the key and
the range, and every shipped agent and env YAML is inside the ranges."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import pytest
import yaml

from mjmimic.agents.config import PPOConfig
from mjmimic.config import Bounds, load_config, load_yaml
from mjmimic.errors import ConfigError
from mjmimic.paths import REPO_DIR
from mjmimic.registry import AGENTS, ENVS
from mjmimic.training.setup import EnvFile, _agent_config_cls

AGENT_FILES = sorted((REPO_DIR / "configs" / "agents").glob("*.yaml"))
ENV_FILES = sorted((REPO_DIR / "configs" / "envs").glob("*.yaml"))


def _config_classes() -> list[type]:
    """Every registered agent and env config class and the dataclasses nested in them, so
    a new learner, task or section is walked without being listed here."""
    found: list[type] = []
    todo = [e.config_cls for r in (AGENTS, ENVS) for e in map(r.get, r.names()) if e.config_cls]
    while todo:
        cls = todo.pop()
        if cls in found:
            continue
        found.append(cls)
        todo += [t for t in typing.get_type_hints(cls).values() for t in _dataclasses_in(t)]
    return sorted(found, key=lambda c: c.__qualname__)


def _dataclasses_in(tp: Any) -> list[type]:
    if dataclasses.is_dataclass(tp):
        return [tp]
    return [d for arg in typing.get_args(tp) for d in _dataclasses_in(arg)]


def _is_numeric(tp: Any) -> bool:
    """int or float anywhere in the annotation (``list[int] | str``, ``dict[str, float]``);
    bool is not a number here, and a Literal's arguments are values, not types."""
    if tp in (int, float):
        return True
    origin = typing.get_origin(tp)
    if origin is Literal:
        return False
    if origin in (Union, types.UnionType, list, tuple, dict):
        return any(_is_numeric(arg) for arg in typing.get_args(tp))
    return False


@pytest.mark.parametrize("cls", _config_classes(), ids=lambda c: c.__qualname__)
def test_every_numeric_key_declares_its_range(cls):
    hints = typing.get_type_hints(cls)
    unbounded = [
        f.name
        for f in dataclasses.fields(cls)
        if _is_numeric(hints[f.name]) and not isinstance(f.metadata.get("bounds"), Bounds)
    ]
    assert not unbounded, f"{cls.__qualname__}: give these keys 'bounds' metadata: {unbounded}"


def test_the_walk_finds_the_sections():
    names = {c.__name__ for c in _config_classes()}
    assert {
        "PPOConfig",
        "AMPConfig",
        "ADDConfig",
        "OptimizerConfig",
        "DiscOptimizerConfig",
    } <= names
    assert {"ModelConfig", "AMPModelConfig", "HealthConfig", "EvaluationConfig"} <= names
    assert {"DeepMimicEnvConfig", "AMPEnvConfig", "ADDEnvConfig", "AdaptiveSamplingConfig"} <= names


def _load_agent(path: Path) -> Any:
    """As the run builder loads an agent YAML: ``agent_name`` picks the config class."""
    data, origins = load_yaml(path)
    cls = _agent_config_cls(data, origins, str(path))
    return load_config(cls, data, str(path), origins, section="agent")


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, key = dotted.split(".")
    for p in parents:
        data = data.setdefault(p, {})
    data[key] = value


def _write_changed(src: Path, dst: Path, key: str, value: Any) -> Path:
    data = yaml.safe_load(src.read_text())
    # Env keys sit under env: in ours, at the top level in MimicKit-style files.
    _set(data.get("env", data), key, value)
    dst.write_text(yaml.safe_dump(data, sort_keys=False))
    return dst


def _refused_in_one_line(info: pytest.ExceptionInfo[ConfigError], *needles: str) -> None:
    message = str(info.value)
    assert "\n" not in message, message
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"


@pytest.mark.parametrize("path", AGENT_FILES, ids=lambda p: p.name)
def test_shipped_agent_yaml_loads(path):
    _load_agent(path).validate()


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_shipped_env_yaml_loads(path):
    EnvFile.load(path).env.validate()


@pytest.mark.parametrize(
    ("key", "value", "range_"),
    [
        ("discount", 1.5, "in (0, 1]"),
        ("discount", 0.0, "in (0, 1]"),
        ("td_lambda", 1.2, "in [0, 1]"),
        ("steps_per_iter", 0, ">= 1"),
        ("test_episodes", 0, ">= 1"),
        ("actor_batch_size", 0, "> 0"),
        ("ppo_clip_ratio", 1.0, "in (0, 1)"),
        ("grad_clip", -1.0, ">= 0"),
        ("desired_kl", 0.0, "> 0"),
        ("actor_optimizer.learning_rate", -1e-4, "> 0"),
        ("critic_optimizer.momentum", 1.0, "in [0, 1)"),
        ("model.action_std", 0.0, "in [0.0001, 10]"),
        ("model.actor_net", [256, 0], ">= 1"),
        ("disc_optimizer.weight_decay", -1e-4, ">= 0"),
        ("disc_reward_scale", 0, "> 0"),
        ("disc_buffer_size", 0, ">= 1"),
        ("disc_eval_batch_size", -1, ">= 0"),
        ("health.disc_acc_threshold", 0.0, "in (0, 1]"),
        ("health.warn_every", 0, ">= 1"),
        ("evaluation.window", 0.0, "> 0"),
    ],
)
def test_agent_key_out_of_range_is_refused(tmp_path, key, value, range_):
    src = REPO_DIR / "configs" / "agents" / "amp_humanoid.yaml"
    path = _write_changed(src, tmp_path / "agent.yaml", key, value)
    with pytest.raises(ConfigError) as info:
        _load_agent(path)
    _refused_in_one_line(info, f"{path}:", f"agent.{key} = ", "out of range", range_)


@pytest.mark.parametrize(
    ("file", "key", "value", "range_"),
    [
        ("deepmimic_humanoid_squat.yaml", "episode_length", 0.0, "> 0"),
        ("deepmimic_humanoid_squat.yaml", "termination_height", -0.1, ">= 0"),
        ("deepmimic_humanoid_squat.yaml", "tar_obs_steps", [1, -2], ">= 0"),
        ("deepmimic_humanoid_squat.yaml", "reward_pose_w", -0.5, ">= 0"),
        ("deepmimic_humanoid_squat.yaml", "num_phase_encoding", -1, ">= 0"),
        # A mapping is checked value by value.
        ("deepmimic_humanoid_squat.yaml", "joint_err_w", {"neck": -1.0}, ">= 0"),
        ("deepmimic_humanoid_squat.yaml", "adaptive_sampling.decay", 1.0, "in [0, 1)"),
        ("amp_humanoid.yaml", "num_disc_obs_steps", 0, ">= 1"),
        ("add_humanoid.yaml", "num_disc_obs_steps", 0, ">= 1"),
    ],
)
def test_env_key_out_of_range_is_refused(tmp_path, file, key, value, range_):
    src = REPO_DIR / "configs" / "envs" / file
    path = _write_changed(src, tmp_path / file, key, value)
    with pytest.raises(ConfigError) as info:
        EnvFile.load(path)
    _refused_in_one_line(info, f"{path}:", f"env.{key} = ", "out of range", range_)


def test_a_config_built_in_code_meets_the_same_ranges():
    with pytest.raises(ConfigError) as info:
        PPOConfig(discount=1.5).validate()
    _refused_in_one_line(info, "discount", "in (0, 1]", "1.5")
