"""The agent contract: what the trainer, evaluation, health guards and export use of a
learner. Nothing outside ``mjmimic/agents`` imports a concrete agent class; it imports this.

The trainer drives one iteration as::

    for _ in range(agent.cfg.steps_per_iter):
        action = agent.act(obs)
        next_obs, reward, done, info = env.step(action)
        agent.record_step(next_obs, reward, done, info)   # info: the env's declared keys
        obs = next_obs, with the done envs reset
    stats = agent.update()                                 # name -> float, logged

The health guards also look inside a policy-gradient learner: its normalizer, the value
and log-probabilities it stored, its policy's spread, its parameters. Those questions are
methods here (``step_value``, ``rollout_log_ratio``, ...), so the guards never read a
buffer or a network attribute of a particular class. ``update_stat_order`` and
``spike_stats`` say which of ``update()``'s statistics the guards check (a subclass that
adds a discriminator adds its loss and gradient norm there).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import nn


class Agent(ABC):
    cfg: Any  # has steps_per_iter, iters_per_output, test_episodes and health
    num_envs: int
    obs_dim: int
    action_dim: int
    device: torch.device
    training: bool
    iteration: int  # completed updates
    total_samples: int  # env steps recorded for training

    # update() statistics in the order the update computes them: the first non-finite one
    # is the closest to the cause.
    update_stat_order: tuple[str, ...] = ()
    # update() statistics whose sudden growth (x spike_factor over the running median) is a
    # learner warning.
    spike_stats: tuple[str, ...] = ()
    # update() statistics that, all pinned at 1.0, mean an adversary has won: a
    # discriminator that tells every agent sample from every demo (AMP/ADD: the agent and
    # demo accuracies) gives a style reward that has collapsed to the same value everywhere.
    # The guards warn after health.disc_acc_iterations such iterations in a row.
    accuracy_stats: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, cfg: Any, env: Any, device: torch.device | str = "cpu") -> Agent:
        """A fresh learner of config ``cfg`` sized for ``env`` (the builders' entry point).

        By default the sizes and action bounds; a learner that needs more of the task
        (AMP: the discriminator observation size and the demo sampler, through
        ``env.info_spec`` and ``envs.capabilities``) overrides this."""
        low, high = env.action_bounds()
        return cls(
            cfg,
            env.obs_dim,
            low,
            high,
            env.num_envs,
            device=device,
            actor_obs_dim=env.policy_obs_dim,
        )

    # ------------------------------------------------------------------ the loop
    @abstractmethod
    def act(self, obs: torch.Tensor, deterministic: bool | None = None) -> torch.Tensor:
        """Env-unit actions (N, action_dim) for raw observations (N, obs_dim)."""

    @abstractmethod
    def record_step(
        self, next_obs: torch.Tensor, reward: torch.Tensor, done: torch.Tensor, info: Any
    ) -> None:
        """Store the env's answer to the last ``act`` (ignored in eval mode)."""

    @abstractmethod
    def update(self) -> dict[str, float]:
        """Learn from the collected rollout; mean statistics by name."""

    @abstractmethod
    def discard_rollout(self) -> None:
        """Throw the current rollout away unused (the guards' skip and rollback)."""

    @abstractmethod
    def eval_mode(self) -> None:
        """Deterministic actions, nothing stored (test episodes)."""

    @abstractmethod
    def train_mode(self) -> None: ...

    # ------------------------------------------------------------------ state
    @abstractmethod
    def model_state_dict(self) -> dict[str, torch.Tensor]:
        """What ``model.pt`` holds: everything acting needs."""

    @abstractmethod
    def load_model_state_dict(self, state_dict: dict[str, torch.Tensor]) -> None: ...

    @abstractmethod
    def training_state_dict(self) -> dict:
        """Optimizers, schedules, counters: with the model, a resumable checkpoint."""

    @abstractmethod
    def load_training_state_dict(self, state_dict: dict) -> None: ...

    @property
    @abstractmethod
    def normalized_policy(self) -> nn.Module:
        """Deterministic policy, raw obs -> env-unit action (normalizers inside): export."""

    # ------------------------------------------------------------------ for the guards
    @abstractmethod
    def named_tensors(self) -> dict[str, torch.Tensor]:
        """Every parameter and normalizer tensor by name (non-finite scans)."""

    @abstractmethod
    def normalize_obs(self, obs: torch.Tensor) -> torch.Tensor: ...

    @abstractmethod
    def obs_norm_stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, var) of the observation normalizer, (obs_dim,) each."""

    @abstractmethod
    def step_value(self) -> torch.Tensor:
        """(N,) the value the learner stored for the step being collected (after ``act``)."""

    @abstractmethod
    def policy_std(self) -> torch.Tensor:
        """(N, action_dim) the policy's action std on the last rollout step."""

    @abstractmethod
    def rollout_log_ratio(self) -> torch.Tensor:
        """(N,) log π(a|s) now minus the stored log-probability, on the last rollout step,
        before the update: exactly 0 unless the stored numbers are not the policy's."""

    @abstractmethod
    def rollout_observations(self) -> torch.Tensor:
        """(samples, obs_dim) the raw observations of the collected rollout."""

    def adversarial_inputs(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(agent_inputs, demo_inputs), each (n, D): the raw (unnormalized) discriminator
        inputs of the last update, or None for a learner without a discriminator.

        The guards compare the two per dimension (means in units of the pooled std, std
        ratio): a dimension whose demo values lie where the agent's never are is how a
        motion that does not fit the robot shows up. A differential discriminator (ADD,
        which scores demo - sim against a zero target) returns the simulated and the demo
        observations the difference is taken of, not the difference and its zero target.
        """
        return None
