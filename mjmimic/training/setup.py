"""From config files to a ready env and agent.

A run is described by three MimicKit-style YAML files:

* engine YAML -> ``EngineConfig`` (flat keys); MimicKit's ``isaac_gym``, ``isaac_lab`` and
  ``newton`` files load onto MuJoCo (``engines/config.py``, one notice line);
* env YAML    -> ``env_name`` (looked up in ``mjmimic.registry.ENVS``) and the env's keys,
  either at the top level (MimicKit's layout) or in an ``env:`` block (mjmimic's), plus an
  optional ``engine:`` block whose keys override the engine YAML (MimicKit's rule);
* agent YAML  -> ``PPOConfig``.

Relative file paths in the env YAML (``char_file``, ``motion_file``, dataset entries) are
looked up next to the file that names them first, then in the current directory
(MimicKit names them from its repository root).

The resolved run (every value, file paths made absolute, the engine that really runs) is a
plain dict, written to the output directory as ``config.yaml`` and embedded in
``model.pt``; ``RunConfig.from_dict`` rebuilds the same run from it (``test`` and
``--resume`` use that).
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mjmimic.agents.base import Agent
from mjmimic.config import config_to_dict, load_config, load_yaml
from mjmimic.engines import EngineConfig
from mjmimic.engines.config import adapt_mimickit_engine
from mjmimic.envs.base import Env
from mjmimic.envs.robot_defaults import apply_robot_defaults
from mjmimic.errors import ConfigError
from mjmimic.paths import resolve_input_path
from mjmimic.registry import AGENTS, ENVS

# The top-level keys of an env YAML that are not the env's own.
_ENV_FILE_KEYS = ("env_name", "env", "engine")
# Env keys naming input files, made absolute when the run is resolved.
_ENV_PATH_KEYS = {"char_file": "robot model", "motion_file": "motion file"}


@dataclass
class EnvFile:
    """An env YAML: ``env_name``, the env's settings (the config dataclass registered for
    that name) and the ``engine:`` overrides with the line of each."""

    env_name: str
    env: Any
    engine: dict[str, Any]
    engine_origins: dict[str, str]

    @classmethod
    def load(cls, path: Path) -> EnvFile:
        data, origins = load_yaml(path)
        source = str(path)
        if "env_name" not in data:
            raise ConfigError(
                f"{source}: missing required key 'env_name' (which environment to build); "
                "add 'env_name: \"deepmimic\"'"
            )
        name, where = data["env_name"], origins.get("env_name", source)
        if not isinstance(name, str):
            raise ConfigError(f"{where}: env_name = {name!r} is not a string (put it in quotes)")
        config_cls = ENVS.get(name, where).config_cls
        engine = data.get("engine") or {}
        if not isinstance(engine, Mapping):
            raise ConfigError(
                f"{origins.get('engine', source)}: engine = {engine!r} is not a mapping of "
                "engine keys (it overrides the engine YAML)"
            )
        env_data, env_origins = _env_section(data, origins, source, config_cls)
        wrapped = load_config(_env_wrapper(config_cls), env_data, source, env_origins)
        engine_origins = {
            k.removeprefix("engine."): v for k, v in origins.items() if k.startswith("engine.")
        }
        return cls(name, wrapped.env, dict(engine), engine_origins)


def _env_section(
    data: dict[str, Any], origins: dict[str, str], source: str, config_cls: type
) -> tuple[dict[str, Any], dict[str, str]]:
    """``{"env": <the env's keys>}`` and their origins under ``env.``, from either layout:
    the keys at the top level (MimicKit) or in an ``env:`` block (mjmimic)."""
    top = [k for k in data if k not in ("env_name", "engine")]
    if "env" not in data:  # MimicKit's flat layout
        keys = set(top)
        return {"env": {k: data[k] for k in top}}, {
            f"env.{k}" if _first_key(k) in keys else k: v for k, v in origins.items()
        }
    env_fields = {f.name for f in dataclasses.fields(config_cls)}
    for key in top:
        if key == "env":
            continue
        where = origins.get(str(key), source)
        if key in env_fields:
            raise ConfigError(
                f"{where}: env key {key!r} is at the top level next to an 'env:' block "
                f"({origins.get('env', source)}); put every env key in the env: block or "
                "all of them at the top level (MimicKit's layout), not both"
            )
        raise ConfigError(
            f"{where}: unknown key {key!r} (valid keys: {', '.join(_ENV_FILE_KEYS)}; "
            "or the env's keys at the top level without an env: block)"
        )
    return {"env": data["env"]}, origins


def _first_key(path: str) -> str:
    """The top-level key of a key path: ``joint_err_w.neck``, ``tar_obs_steps[0]`` -> the
    part before the first ``.`` or ``[``."""
    for i, char in enumerate(path):
        if char in ".[":
            return path[:i]
    return path


@functools.cache
def _env_wrapper(config_cls: type) -> type:
    """A dataclass with one field ``env`` of ``config_cls``: loading through it keeps key
    paths (``env.reward_pose_w``) and line numbers as one nested file would have them."""
    return dataclasses.make_dataclass(
        f"{config_cls.__name__}File", [("env", config_cls)], namespace={"__module__": __name__}
    )


@dataclass
class RunConfig:
    engine: EngineConfig
    env_name: str
    env: Any  # the config dataclass ENVS registers for env_name (DeepMimicEnvConfig, ...)
    agent: Any  # the config dataclass AGENTS registers for agent_name (PPOConfig, ...)
    num_envs: int
    seed: int
    device: str

    @classmethod
    def from_files(
        cls,
        engine_file: Path | None,
        env_file: Path,
        agent_file: Path,
        num_envs: int,
        seed: int,
        device: str,
    ) -> RunConfig:
        env_top = EnvFile.load(env_file)
        engine_data: dict[str, Any] = {}
        engine_origins: dict[str, str] = {}
        if engine_file is not None:
            engine_data, engine_origins = load_yaml(engine_file)
        engine_data = {**engine_data, **env_top.engine}
        engine_origins.update(env_top.engine_origins)
        engine_source = str(engine_file or env_file)
        engine_data, note = adapt_mimickit_engine(engine_data, engine_origins, engine_source)
        if note is not None:
            # Once, here: the saved run records engine_name 'mujoco' without those keys.
            print(f"mjmimic: note: {note}", file=sys.stderr)
        engine = load_config(
            EngineConfig, engine_data, engine_source, engine_origins, section="engine"
        )
        agent_data, agent_origins = load_yaml(agent_file)
        agent = load_config(
            _agent_config_cls(agent_data, agent_origins, str(agent_file)),
            agent_data,
            str(agent_file),
            agent_origins,
            section="agent",
        )
        env = env_top.env
        apply_robot_defaults(env, engine, str(env_file), env_file.parent)
        # Make file paths absolute now, so the saved config works from any directory.
        for key, what in _ENV_PATH_KEYS.items():
            value = getattr(env, key, None)
            if isinstance(value, str):
                where = f"{env_file}: env.{key}"
                setattr(env, key, str(resolve_input_path(value, env_file.parent, what, where)))
        return cls(engine, env_top.env_name, env, agent, num_envs, seed, device)

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": config_to_dict(self.engine),
            "env_name": self.env_name,
            "env": config_to_dict(self.env),
            "agent": config_to_dict(self.agent),
            "num_envs": self.num_envs,
            "rand_seed": self.seed,
            "device": self.device,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str) -> RunConfig:
        try:
            return cls(
                engine=load_config(EngineConfig, data["engine"], source, section="engine"),
                env_name=data["env_name"],
                env=load_config(
                    ENVS.get(data["env_name"], source).config_cls,
                    data["env"],
                    source,
                    section="env",
                ),
                agent=load_config(
                    _agent_config_cls(data["agent"], {}, source),
                    _renamed_agent_keys(data["agent"]),
                    source,
                    section="agent",
                ),
                num_envs=int(data["num_envs"]),
                seed=int(data["rand_seed"]),
                device=str(data["device"]),
            )
        except KeyError as exc:
            raise ConfigError(f"{source}: saved run config lacks '{exc.args[0]}'") from None


def _agent_config_cls(data: Mapping[str, Any], origins: Mapping[str, str], source: str) -> type:
    """The config class of the agent an agent YAML names (``agent_name``, default PPO)."""
    name = data.get("agent_name", "PPO") if isinstance(data, Mapping) else "PPO"
    return AGENTS.get(str(name), origins.get("agent_name", source)).config_cls


def _renamed_agent_keys(agent: dict[str, Any]) -> dict[str, Any]:
    """A saved agent config with the optimizers' old autocast keys (``use_amp``/``amp_type``,
    runs saved before the rename) in the new form, so old model.pt files still load; in a
    user's YAML the old keys are an error with the rename hint."""
    out = dict(agent)
    for name, section in agent.items():
        if isinstance(section, dict) and ("use_amp" in section or "amp_type" in section):
            section = dict(section)
            on, dtype = section.pop("use_amp", False), section.pop("amp_type", "bf16")
            section.setdefault("autocast_dtype", dtype if on else None)
            out[name] = section
    return out


def build_env(run: RunConfig, num_envs: int | None = None, **shared: Any) -> Env:
    """The env ``run.env_name`` names (physics, robot, motions), with ``num_envs`` copies
    (default: the run's). ``shared``: resources of another env of the same config the task
    accepts instead of loading them again (DeepMimic: ``motion_lib``)."""
    env_cls = ENVS.get(run.env_name).cls
    return env_cls(run.env, run.engine, num_envs or run.num_envs, device="cpu", **shared)


def build_agent(run: RunConfig, env: Env) -> Agent:
    """A fresh agent of ``run.agent.agent_name`` sized for ``env``."""
    return AGENTS.get(run.agent.agent_name).cls.from_env(run.agent, env, device=run.device)


def build_env_and_agent(run: RunConfig, num_envs: int | None = None) -> tuple[Env, Agent]:
    env = build_env(run, num_envs)
    return env, build_agent(run, env)


def build_test_env(run: RunConfig, train_env: Env, test_episodes: int) -> Env:
    """The env a training run evaluates on: one env per test episode (at most the training
    env's count), sharing the training env's clips. Test episodes run to their end, so
    stepping all training envs for them would cost up to a full episode of the whole
    batch; ``test_episodes`` envs give the same statistics for a fraction of that."""
    n = max(1, min(train_env.num_envs, test_episodes))
    return build_env(run, n, **train_env.shared_resources())


def check_devices(devices: list[str]) -> str:
    """The torch device of the learner for a ``--devices`` list: ``cpu`` or a CUDA device
    (the agent's networks and PPO update run there; the MuJoCo engine stays on the CPU,
    and the trainer moves observations to the agent and actions back each step)."""
    if len(devices) != 1:
        raise ConfigError(
            f"--devices {' '.join(devices)}: one device per run for now (multi-process "
            "training is not implemented yet); give one, e.g. --devices cpu or cuda:0"
        )
    (name,) = devices
    if name == "cpu":
        return "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        device = None
    if device is None or device.type != "cuda":
        raise ConfigError(f"--devices {name}: not a device mjmimic runs on; use cpu or cuda:N")
    if not torch.cuda.is_available():
        raise ConfigError(
            f"--devices {name}: CUDA is not available on this machine "
            "(torch.cuda.is_available() is False); use --devices cpu"
        )
    index = 0 if device.index is None else device.index
    count = torch.cuda.device_count()
    if index >= count:
        raise ConfigError(
            f"--devices {name}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}"
        )
    return f"cuda:{index}"
