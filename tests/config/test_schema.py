"""load_config validates and coerces values, names keys in errors and keeps provenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import pytest
import yaml

from mjmimic.config import (
    config_to_dict,
    describe_fields,
    get_origin,
    load_config,
)
from mjmimic.errors import ConfigError

# Module-level so that get_type_hints can resolve the string annotations.


@dataclass
class Optimizer:
    type: Literal["SGD", "Adam"] = field(default="SGD", metadata={"help": "optimizer"})
    learning_rate: float = field(default=1e-4, metadata={"help": "step size", "range": "1e-5-1e-3"})
    use_amp: bool = field(default=False, metadata={"help": "mixed precision"})


@dataclass
class Gains:
    kp: float | None = None
    kd: float | None = None


@dataclass
class Agent:
    discount: float = field(default=0.99, metadata={"help": "reward discount"})
    steps_per_iter: int = 32
    actor_optimizer: Optimizer = field(default_factory=Optimizer)
    hidden: list[int] = field(default_factory=lambda: [1024, 512])
    obs_scale: tuple[float, ...] = ()
    weights: list[float] | dict[str, float] = field(default_factory=list)
    gains: dict[str, Gains] = field(default_factory=dict)
    model_file: Optional[str] = None  # noqa: UP045 - Optional must work as well as X | None
    out_dir: Path = Path("output")


@dataclass
class Env:
    char_file: str = field(metadata={"help": "MJCF of the character"})
    control_freq: int = 30
    sim_freq: int = 120

    def validate(self) -> None:
        if self.sim_freq % self.control_freq:
            raise ConfigError(f"env: sim_freq {self.sim_freq} is not a multiple of control_freq")


@dataclass(kw_only=True)
class Motion:
    file: str
    loop: bool = False
    fps: int


@dataclass
class Limits:
    low: float = 0.0
    high: float = 1.0

    def validate(self) -> None:
        if self.low > self.high:
            raise ConfigError(f"low {self.low} > high {self.high}")


@dataclass
class NeedsKey:
    rate: float = 1.0

    def validate(self, key: str) -> None:
        raise AssertionError("a hook that needs arguments is the parent's to call")


@dataclass(frozen=True)
class Frozen:
    limits: Limits = field(default_factory=Limits)
    needs_key: NeedsKey = field(default_factory=NeedsKey)


def _error(cls: type, data: dict, origins: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(cls, data, "agent.yaml", origins, section="agent")
    message = str(info.value)
    assert "\n" not in message
    return message


def test_defaults_and_nested_values() -> None:
    cfg = load_config(Agent, {"actor_optimizer": {"learning_rate": 3e-4}}, "agent.yaml")
    assert cfg.discount == 0.99
    assert cfg.actor_optimizer == Optimizer(learning_rate=3e-4)
    assert cfg.hidden == [1024, 512]


def test_unknown_key_suggests_the_closest() -> None:
    message = _error(Agent, {"discont": 0.9})
    assert message == "agent.yaml: unknown key 'discont' in agent (did you mean 'discount'?)"


def test_unknown_key_without_close_match_lists_valid_keys() -> None:
    message = _error(Agent, {"zzz": 1})
    assert "valid keys: discount, steps_per_iter" in message


def test_nested_key_paths_in_messages() -> None:
    message = _error(Agent, {"actor_optimizer": {"learning_rat": 1.0}})
    assert "unknown key 'learning_rat' in agent.actor_optimizer" in message
    assert "did you mean 'learning_rate'?" in message
    message = _error(Agent, {"actor_optimizer": {"learning_rate": "fast"}})
    assert message == "agent.yaml: agent.actor_optimizer.learning_rate = 'fast' is not a float"


def test_error_names_the_line_when_origins_are_known() -> None:
    message = _error(Agent, {"discount": "abc"}, {"discount": "agent.yaml:7"})
    assert message == "agent.yaml:7: agent.discount = 'abc' is not a float"


def test_scientific_notation_strings_become_floats() -> None:
    # PyYAML loads an unquoted 2e-4 as the string '2e-4'.
    data = yaml.safe_load("actor_optimizer:\n  learning_rate: 2e-4\n")
    assert data["actor_optimizer"]["learning_rate"] == "2e-4"
    cfg = load_config(Agent, data, "agent.yaml")
    assert cfg.actor_optimizer.learning_rate == pytest.approx(2e-4)
    assert isinstance(cfg.actor_optimizer.learning_rate, float)


def test_ints_are_accepted_for_floats_and_integral_values_for_ints() -> None:
    cfg = load_config(Agent, {"discount": 1, "steps_per_iter": "1e3"}, "agent.yaml")
    assert cfg.discount == 1.0 and isinstance(cfg.discount, float)
    assert cfg.steps_per_iter == 1000 and isinstance(cfg.steps_per_iter, int)
    assert "agent.steps_per_iter = 2.5 is not an int" in _error(Agent, {"steps_per_iter": 2.5})
    assert "is not an int" in _error(Agent, {"steps_per_iter": True})


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("True", True), ("1", True), ("false", False), ("False", False), ("0", False)],
)
def test_bool_strings(text: str, expected: bool) -> None:
    cfg = load_config(Agent, {"actor_optimizer": {"use_amp": text}}, "agent.yaml")
    assert cfg.actor_optimizer.use_amp is expected


def test_bad_bool_is_rejected() -> None:
    message = _error(Agent, {"actor_optimizer": {"use_amp": "yes please"}})
    assert "agent.actor_optimizer.use_amp = 'yes please' is not a bool (use true or false)" in (
        message
    )


def test_literal_rejection_lists_the_choices() -> None:
    message = _error(Agent, {"actor_optimizer": {"type": "adam"}})
    assert message.endswith("agent.actor_optimizer.type = 'adam' is not one of 'SGD', 'Adam'")


def test_str_is_not_silently_made_from_a_number() -> None:
    assert "agent.model_file = 3.1 is not a str (put it in quotes)" in _error(
        Agent, {"model_file": 3.1}
    )


def test_optional_accepts_none_and_reports_the_inner_type() -> None:
    cfg = load_config(Agent, {"model_file": None}, "agent.yaml")
    assert cfg.model_file is None
    assert "agent.gains.knee.kp = 'stiff' is not a float" in _error(
        Agent, {"gains": {"knee": {"kp": "stiff"}}}
    )


def test_required_non_optional_value_cannot_be_null() -> None:
    assert "agent.discount has no value; give a float" in _error(Agent, {"discount": None})


def test_lists_tuples_and_paths() -> None:
    cfg = load_config(
        Agent, {"hidden": [64, "32"], "obs_scale": [1, 2.5], "out_dir": "runs/a"}, "agent.yaml"
    )
    assert cfg.hidden == [64, 32]
    assert cfg.obs_scale == (1.0, 2.5)
    assert cfg.out_dir == Path("runs/a")
    assert "agent.hidden[1] = 'wide' is not an int" in _error(Agent, {"hidden": [1, "wide"]})
    assert "agent.hidden = 64 is not a list[int]" in _error(Agent, {"hidden": 64})


def test_dict_of_dataclasses() -> None:
    cfg = load_config(Agent, {"gains": {"knee": {"kp": 100}, "hip": {}}}, "agent.yaml")
    assert cfg.gains == {"knee": Gains(kp=100.0), "hip": Gains()}
    assert "unknown key 'kpp' in agent.gains.knee (did you mean 'kp'?)" in _error(
        Agent, {"gains": {"knee": {"kpp": 1}}}
    )


def test_union_tries_members_in_order() -> None:
    assert load_config(Agent, {"weights": [1, 2]}, "a.yaml").weights == [1.0, 2.0]
    assert load_config(Agent, {"weights": {"pose": "0.5"}}, "a.yaml").weights == {"pose": 0.5}


def test_union_reports_the_member_with_the_right_shape() -> None:
    # A dict with one bad entry: the dict member's message, not a generic one.
    assert "agent.weights.pose = 'x' is not a float" in _error(Agent, {"weights": {"pose": "x"}})
    message = _error(Agent, {"weights": "heavy"})
    assert message.endswith("agent.weights = 'heavy' is not one of: list[float], dict[str, float]")


def test_missing_required_key_names_it() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(Env, {}, "env.yaml", section="env")
    assert str(info.value) == (
        "env.yaml: missing required key 'env.char_file' (MJCF of the character); "
        "add 'char_file: ...'"
    )


def test_several_missing_keys_are_named_together() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(Motion, {}, "env.yaml", section="env")
    assert str(info.value) == "env.yaml: missing required keys 'env.file', 'env.fps'; add them"


def test_validate_hook_runs_and_names_the_file() -> None:
    assert load_config(Env, {"char_file": "a.xml", "sim_freq": 60}, "env.yaml").sim_freq == 60
    with pytest.raises(ConfigError, match=r"^env\.yaml: env: sim_freq 100 is not a multiple"):
        load_config(Env, {"char_file": "a.xml", "sim_freq": 100}, "env.yaml")


def test_nested_validate_hook_names_the_section_line() -> None:
    data = {"limits": {"low": 2, "high": 1}, "needs_key": {"rate": 2}}
    with pytest.raises(ConfigError) as info:
        load_config(Frozen, data, "x.yaml", {"limits": "x.yaml:4"})
    assert str(info.value) == "x.yaml:4: low 2.0 > high 1.0"


def test_validate_hook_with_arguments_is_not_called_and_frozen_configs_work() -> None:
    cfg = load_config(Frozen, {"needs_key": {"rate": 2}}, "x.yaml", {"needs_key.rate": "x.yaml:2"})
    assert cfg.needs_key.rate == 2.0
    assert get_origin(cfg, "needs_key.rate") == "x.yaml:2"


def test_top_level_must_be_a_mapping() -> None:
    assert "agent = [1] is not a mapping of keys" in _error(Agent, [1])  # type: ignore[arg-type]


def test_origins_per_key_and_defaults() -> None:
    origins = {
        "discount": "configs/agent.yaml:3",
        "actor_optimizer": "configs/agent.yaml:5",
        "actor_optimizer.learning_rate": "configs/agent.yaml:6",
        "hidden": "command line",
    }
    data = {"discount": 0.9, "actor_optimizer": {"learning_rate": 1e-3}, "hidden": [8]}
    cfg = load_config(Agent, data, "configs/agent.yaml", origins)
    assert get_origin(cfg, "discount") == "configs/agent.yaml:3"
    assert get_origin(cfg, "actor_optimizer.learning_rate") == "configs/agent.yaml:6"
    assert get_origin(cfg, "actor_optimizer.use_amp") == "default"
    assert get_origin(cfg, "steps_per_iter") == "default"
    # Items of a value set as a whole share its origin.
    assert get_origin(cfg, "hidden[0]") == "command line"
    # Nested configs know their own keys' origins.
    assert get_origin(cfg.actor_optimizer, "learning_rate") == "configs/agent.yaml:6"


def test_values_without_a_recorded_origin_come_from_the_source() -> None:
    cfg = load_config(Agent, {"discount": 0.5, "hidden": [4]}, "agent.yaml")
    assert get_origin(cfg, "discount") == "agent.yaml"
    assert get_origin(cfg, "hidden[0]") == "agent.yaml"
    assert get_origin(cfg, "steps_per_iter") == "default"


def test_get_origin_rejects_unknown_paths_and_handles_code_built_configs() -> None:
    cfg = load_config(Agent, {}, "agent.yaml")
    with pytest.raises(KeyError):
        get_origin(cfg, "actor_optimizer.learning_rat")
    assert get_origin(Agent(), "discount") == "default"


def test_config_to_dict_round_trips_through_yaml() -> None:
    data = {
        "discount": 0.9,
        "obs_scale": [0.5, 2.0],
        "gains": {"knee": {"kp": 50.0}},
        "out_dir": "runs/x",
    }
    cfg = load_config(Agent, data, "agent.yaml")
    plain = config_to_dict(cfg)
    assert plain["obs_scale"] == [0.5, 2.0]
    assert plain["out_dir"] == "runs/x"
    assert plain["actor_optimizer"] == {"type": "SGD", "learning_rate": 1e-4, "use_amp": False}
    again = load_config(Agent, yaml.safe_load(yaml.safe_dump(plain)), "dump.yaml")
    assert again == cfg


def test_describe_fields_lists_nested_keys_with_help() -> None:
    infos = {info.path: info for info in describe_fields(Agent)}
    lr = infos["actor_optimizer.learning_rate"]
    assert (lr.type, lr.default, lr.help, lr.range) == ("float", 1e-4, "step size", "1e-5-1e-3")
    assert infos["actor_optimizer.type"].type == "'SGD' | 'Adam'"
    assert infos["gains.<key>.kp"].type == "float | None"
    assert infos["weights"].type == "list[float] | dict[str, float]"
    assert infos["hidden"].default == [1024, 512]
    char_file = describe_fields(Env)[0]
    assert char_file.required and char_file.default is None
