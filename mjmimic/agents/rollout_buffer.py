"""Fixed-size, time-major storage for one PPO rollout (steps_per_iter x num_envs).

All tensors are allocated once; a step writes into row ``step`` in place. One env step is
written in two halves: ``add_action`` when the policy acts, ``add_outcome`` when the env has
answered.

``norm_obs`` holds the *normalized* observation the policy saw: the obs normalizer only
changes after the update, so normalizing again at update time would give the same numbers.
``next_obs`` holds the raw next observation (the terminal one for rows that ended).
"""

from __future__ import annotations

import torch


class RolloutBuffer:
    def __init__(
        self,
        steps: int,
        num_envs: int,
        obs_dim: int,
        action_dim: int,
        device: torch.device | str = "cpu",
    ):
        self.steps = steps
        self.num_envs = num_envs

        def zeros(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
            return torch.zeros(steps, num_envs, *shape, dtype=dtype, device=device)

        self.norm_obs = zeros(obs_dim)
        self.action = zeros(action_dim)  # normalized action units
        self.logp = zeros()
        self.value = zeros()  # V(obs) at act time
        self.reward = zeros()
        self.done = zeros(dtype=torch.long)  # DoneFlag
        self.next_obs = zeros(obs_dim)  # raw; terminal obs for done rows
        self.step = 0
        self._action_pending = False

    @property
    def full(self) -> bool:
        return self.step == self.steps

    @property
    def empty(self) -> bool:
        """No step (not even half of one) written since the last reset."""
        return self.step == 0 and not self._action_pending

    @property
    def num_samples(self) -> int:
        return self.steps * self.num_envs

    def add_action(
        self, norm_obs: torch.Tensor, action: torch.Tensor, logp: torch.Tensor, value: torch.Tensor
    ) -> None:
        if self.full:
            raise RuntimeError(f"rollout buffer is full ({self.steps} steps): call update() first")
        if self._action_pending:
            raise RuntimeError("act() called twice without record_step() in between")
        t = self.step
        self.norm_obs[t].copy_(norm_obs)
        self.action[t].copy_(action)
        self.logp[t].copy_(logp)
        self.value[t].copy_(value)
        self._action_pending = True

    def add_outcome(self, next_obs: torch.Tensor, reward: torch.Tensor, done: torch.Tensor) -> None:
        if not self._action_pending:
            raise RuntimeError("record_step() called without act() for this step")
        t = self.step
        self.next_obs[t].copy_(next_obs)
        self.reward[t].copy_(reward)
        self.done[t].copy_(done)
        self._action_pending = False
        self.step += 1

    def reset(self) -> None:
        self.step = 0
        self._action_pending = False
