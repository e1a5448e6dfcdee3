"""load_yaml returns the data plus the file line of every key, and clear errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mjmimic.config import get_origin, load_config, load_yaml
from mjmimic.errors import ConfigError

AGENT_YAML = """\
agent_name: "PPO"

actor_optimizer:
    type: "SGD"
    learning_rate: 1e-4

hidden:
  - 1024
  - 512
discount: 0.99
"""


@dataclass
class Optimizer:
    type: str = "Adam"
    learning_rate: float = 1e-3
    use_amp: bool = False


@dataclass
class Agent:
    agent_name: str = "PPO"
    actor_optimizer: Optimizer = field(default_factory=Optimizer)
    hidden: list[int] = field(default_factory=list)
    discount: float = 0.9
    steps_per_iter: int = 32


def _write(tmp_path: Path, text: str, name: str = "agent.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_origins_are_key_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, AGENT_YAML)
    data, origins = load_yaml(path)
    assert data["actor_optimizer"]["learning_rate"] == "1e-4"  # PyYAML's YAML 1.1 floats
    assert origins["agent_name"] == f"{path}:1"
    assert origins["actor_optimizer"] == f"{path}:3"
    assert origins["actor_optimizer.learning_rate"] == f"{path}:5"
    assert origins["hidden[1]"] == f"{path}:9"
    assert origins["discount"] == f"{path}:10"


def test_origin_uses_the_path_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "configs").mkdir()
    _write(tmp_path / "configs", "discount: 0.5\n", "x.yaml")
    monkeypatch.chdir(tmp_path)
    _, origins = load_yaml("configs/x.yaml")
    assert origins == {"discount": "configs/x.yaml:1"}


def test_yaml_lines_flow_into_load_config(tmp_path: Path) -> None:
    path = _write(tmp_path, AGENT_YAML)
    data, origins = load_yaml(path)
    cfg = load_config(Agent, data, str(path), origins, section="agent")
    assert cfg.actor_optimizer.learning_rate == pytest.approx(1e-4)
    assert get_origin(cfg, "actor_optimizer.learning_rate") == f"{path}:5"
    assert get_origin(cfg, "actor_optimizer.use_amp") == "default"
    assert get_origin(cfg, "hidden[0]") == f"{path}:8"
    assert get_origin(cfg, "steps_per_iter") == "default"


def test_value_errors_name_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "discount: 0.99\nsteps_per_iter: many\n")
    data, origins = load_yaml(path)
    with pytest.raises(ConfigError) as info:
        load_config(Agent, data, str(path), origins, section="agent")
    assert str(info.value) == f"{path}:2: agent.steps_per_iter = 'many' is not an int"


def test_unknown_key_error_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "actor_optimizer:\n  type: SGD\n  lerning_rate: 0.1\n")
    data, origins = load_yaml(path)
    with pytest.raises(ConfigError) as info:
        load_config(Agent, data, str(path), origins, section="agent")
    assert str(info.value) == (
        f"{path}:3: unknown key 'lerning_rate' in agent.actor_optimizer "
        "(did you mean 'learning_rate'?)"
    )


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_yaml(missing)
    assert str(info.value) == f"config file not found: {missing}"


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "discount: 0.9\nactor_optimizer:\n  type: [SGD\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    message = str(info.value)
    assert message.startswith(f"{path}:4: invalid YAML: ")
    assert "\n" not in message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, "- 1\n- 2\n")
    with pytest.raises(ConfigError, match=r"top level must be a mapping.*got a list"):
        load_yaml(path)


def test_empty_file_is_an_empty_mapping(tmp_path: Path) -> None:
    assert load_yaml(_write(tmp_path, "# nothing set\n")) == ({}, {})


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "discount: 0.9\nsteps_per_iter: 8\ndiscount: 0.99\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert str(info.value) == f"{path}:3: duplicate key 'discount' (first at line 1); keep one"


def test_merge_keys_take_the_anchor_lines(tmp_path: Path) -> None:
    text = "base: &b\n  type: SGD\n  learning_rate: 0.1\nactor:\n  <<: *b\n  type: Adam\n"
    path = _write(tmp_path, text)
    data, origins = load_yaml(path)
    assert data["actor"] == {"type": "Adam", "learning_rate": 0.1}
    assert origins["actor.type"] == f"{path}:6"
    assert origins["actor.learning_rate"] == f"{path}:3"


def test_self_referencing_alias_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "hidden: &a [*a]\n")
    with pytest.raises(ConfigError, match="refers to its own anchor"):
        load_yaml(path)
