"""From config files to a ready env and agent.

A run is described by three MimicKit-style YAML files:

* engine YAML -> ``EngineConfig`` (flat keys);
* env YAML    -> ``env_name`` + ``env:`` block (``DeepMimicEnvConfig``) + optional
  ``engine:`` block whose keys override the engine YAML (MimicKit's rule);
* agent YAML  -> ``PPOConfig``.

The resolved run (every value, file paths made absolute) is a plain dict, written to the
output directory as ``config.yaml`` and embedded in ``model.pt``; ``RunConfig.from_dict``
rebuilds the same run from it (``test`` and ``--resume`` use that).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mjmimic.agents.config import PPOConfig
from mjmimic.agents.ppo import PPOAgent
from mjmimic.config import config_to_dict, load_config, load_yaml
from mjmimic.engines import EngineConfig
from mjmimic.envs.deepmimic.config import DeepMimicEnvConfig
from mjmimic.envs.deepmimic.env import DeepMimicEnv
from mjmimic.errors import ConfigError
from mjmimic.paths import resolve_input_path


@dataclass
class EnvFile:
    """The top level of an env YAML."""

    env_name: Literal["deepmimic"] = field(metadata={"help": "which environment to build"})
    env: DeepMimicEnvConfig = field(metadata={"help": "the environment's settings"})
    engine: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "engine keys that override the engine YAML"}
    )


@dataclass
class RunConfig:
    engine: EngineConfig
    env_name: str
    env: DeepMimicEnvConfig
    agent: PPOConfig
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
        env_data, env_origins = load_yaml(env_file)
        env_top = load_config(EnvFile, env_data, str(env_file), env_origins)
        engine_data: dict[str, Any] = {}
        engine_origins: dict[str, str] = {}
        if engine_file is not None:
            engine_data, engine_origins = load_yaml(engine_file)
        engine_data = {**engine_data, **env_top.engine}
        engine_origins.update(
            {
                k.removeprefix("engine."): v
                for k, v in env_origins.items()
                if k.startswith("engine.")
            }
        )
        engine = load_config(
            EngineConfig,
            engine_data,
            str(engine_file or env_file),
            engine_origins,
            section="engine",
        )
        agent_data, agent_origins = load_yaml(agent_file)
        agent = load_config(PPOConfig, agent_data, str(agent_file), agent_origins)
        env = env_top.env
        # Make file paths absolute now, so the saved config works from any directory.
        env.char_file = str(
            resolve_input_path(
                env.char_file, env_file.parent, "robot model", f"{env_file}: env.char_file"
            )
        )
        env.motion_file = str(
            resolve_input_path(
                env.motion_file, env_file.parent, "motion file", f"{env_file}: env.motion_file"
            )
        )
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
                env=load_config(DeepMimicEnvConfig, data["env"], source, section="env"),
                agent=load_config(PPOConfig, data["agent"], source, section="agent"),
                num_envs=int(data["num_envs"]),
                seed=int(data["rand_seed"]),
                device=str(data["device"]),
            )
        except KeyError as exc:
            raise ConfigError(f"{source}: saved run config lacks '{exc.args[0]}'") from None


def build_env_and_agent(run: RunConfig, num_envs: int | None = None):
    """The env (physics, robot, motions) and a fresh PPO agent for ``run``."""
    n = num_envs or run.num_envs
    env = DeepMimicEnv(run.env, run.engine, n, device="cpu")
    low, high = env.action_bounds()
    agent = PPOAgent(run.agent, env.obs_dim, low, high, n, device=run.device)
    return env, agent


def build_test_env(run: RunConfig, train_env: DeepMimicEnv, test_episodes: int) -> DeepMimicEnv:
    """The env a training run evaluates on: one env per test episode (at most the training
    env's count), sharing the training env's clips. Test episodes run to their end, so
    stepping all training envs for them would cost up to a full episode of the whole
    batch; ``test_episodes`` envs give the same statistics for a fraction of that."""
    n = max(1, min(train_env.num_envs, test_episodes))
    return DeepMimicEnv(run.env, run.engine, n, device="cpu", motion_lib=train_env.motion_lib)


def check_devices(devices: list[str]) -> str:
    """The torch device for a ``--devices`` list. This version runs one process on the CPU."""
    if len(devices) != 1:
        raise ConfigError(
            f"--devices {' '.join(devices)}: one device per run for now (multi-process "
            "training is not implemented); use --devices cpu"
        )
    if devices[0] != "cpu":
        raise ConfigError(
            f"--devices {devices[0]}: this version of mjmimic trains on the CPU engine; "
            "use --devices cpu (GPU support through MuJoCo Warp is planned)"
        )
    return "cpu"
