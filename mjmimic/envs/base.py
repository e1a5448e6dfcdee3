"""The env contract: what the trainer, evaluation, health guards, video and export may ask
of a task. Nothing outside ``mjmimic/envs`` imports a task class; it imports this.

An env runs ``num_envs`` copies of one task in lock-step on batched tensors (rsl_rl's
``VecEnv`` is the model of size)::

    obs = env.reset()                              # (N, obs_dim), all envs
    obs, reward, done, info = env.step(action)     # action (N, action_dim), env units
    obs = env.reset(done_ids)                      # caller resets the ended envs

``step`` does not reset ended envs: the caller reads the terminal observation first
(PPO bootstraps TIME-ended episodes from it), then calls ``reset(ids)``, which returns the
observation of all envs with those rows replaced. ``done`` holds ``DoneFlag`` values.

``info`` carries what ``info_spec`` declares: ``info["reward_terms"]`` (name -> (N,) term
value, logged as ``Env_Reward_<name>``), and any extra per-step tensors a learner needs
(``info_spec.extras``, e.g. discriminator observations), each (N, ...).

Optional behaviour is a *capability*: a small Protocol in ``envs/capabilities.py`` that a
task implements or not. Consumers ask ``capability(env, EpisodeBounds)``; they never
test for a task class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import torch

from mjmimic.engines.base import Engine
from mjmimic.robots.model import RobotModel


@dataclass(frozen=True)
class InfoSpec:
    """The ``info`` keys a task's ``step`` returns."""

    reward_terms: tuple[str, ...] = ()
    """Names in ``info["reward_terms"]``, each a (N,) tensor."""
    extras: dict[str, tuple[int, ...]] = field(default_factory=dict)
    """Further ``info[name]`` tensors and their per-env shape (learner inputs)."""


class Env(ABC):
    """A batch of ``num_envs`` simulated tasks on one engine."""

    num_envs: int
    obs_dim: int
    action_dim: int
    dt: float  # seconds per control step
    device: torch.device
    robot: RobotModel
    engine: Engine
    info_spec: InfoSpec

    @abstractmethod
    def action_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(low, high), each (action_dim,), in env units; actions are clipped to them."""

    @abstractmethod
    def reset(self, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Start new episodes in ``env_ids`` (all when None); the observation of all envs."""

    @abstractmethod
    def step(self, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, Any]:
        """(obs, reward, done, info) after one control step; see the module docstring."""

    @abstractmethod
    def obs_labels(self) -> list[str]:
        """One name per observation dimension (``tar2.key_pos[head].z``): health reports,
        preflight and export name dimensions with these."""

    @property
    def policy_obs_dim(self) -> int:
        """The policy (actor) sees the first ``policy_obs_dim`` numbers of the observation;
        the rest are for the critic alone (asymmetric actor-critic; an exported policy
        takes the policy part). A task without critic-only terms: all of it."""
        return self.obs_dim

    def action_labels(self) -> list[str]:
        """One name per action dimension; by default the robot's DoF names."""
        return list(self.robot.dof_names)

    def shared_resources(self) -> dict[str, Any]:
        """Keyword arguments that let another env of the same config reuse what this one
        loaded (a training run's evaluation env shares the motion library)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """What the task learned while training that a resumed run needs (an adaptive
        start-time sampler's scores); checkpointed with the agent."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: B027  (optional hook)
        """Restore what ``state_dict`` returned."""

    def close(self) -> None:
        """Release the engine's threads or device memory."""
        self.engine.close()
