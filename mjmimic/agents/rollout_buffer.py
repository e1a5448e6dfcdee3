"""Fixed-size, time-major storage for one rollout (steps_per_iter x num_envs), by name.

A learner declares its records once (``add_record``): a name, the per-env shape and dtype,
and which half of a step writes it. One env step is written in two halves:
``add_action(**values)`` when the policy acts, ``add_outcome(**values)`` when the env has
answered; each half must give exactly the records declared for it, so a subclass that
declares ``disc_obs`` and forgets to write it fails at once, not in the update. Tensors
are allocated once; a step writes row ``step`` in place. Read a record as ``buf["name"]``
or, for PPO's own, as an attribute (``buf.reward``), (steps, num_envs, *shape).

PPO's records: ``norm_obs`` (the *normalized* observation the policy saw: the normalizer
only changes after the update, so normalizing again later would give the same numbers),
``action`` (normalized units), ``logp``, ``value`` (at act time); then ``next_obs`` (raw;
the terminal one for rows that ended), ``reward``, ``done`` (``DoneFlag``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

Half = Literal["action", "outcome"]


@dataclass(frozen=True)
class RecordSpec:
    shape: tuple[int, ...]
    dtype: torch.dtype
    half: Half


class RolloutBuffer:
    def __init__(self, steps: int, num_envs: int, device: torch.device | str = "cpu"):
        self.steps = steps
        self.num_envs = num_envs
        self.device = torch.device(device)
        self.specs: dict[str, RecordSpec] = {}
        self._data: dict[str, torch.Tensor] = {}
        self.step = 0
        self._action_pending = False

    def add_record(
        self,
        name: str,
        shape: tuple[int, ...] = (),
        dtype: torch.dtype = torch.float32,
        half: Half = "outcome",
    ) -> None:
        """Declare record ``name``: per-env ``shape``, written by ``add_<half>``."""
        if name in self.specs:
            raise ValueError(f"rollout record {name!r} is declared twice")
        if not self.empty:
            raise RuntimeError(f"rollout record {name!r} declared in the middle of a rollout")
        self.specs[name] = RecordSpec(tuple(shape), dtype, half)
        self._data[name] = torch.zeros(
            self.steps, self.num_envs, *shape, dtype=dtype, device=self.device
        )

    def __getitem__(self, name: str) -> torch.Tensor:
        return self._data[name]

    def __getattr__(self, name: str) -> torch.Tensor:
        # Only called for names that are not ordinary attributes: the records.
        data = self.__dict__.get("_data", {})
        if name in data:
            return data[name]
        raise AttributeError(f"rollout buffer has no record {name!r}")

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

    def add_action(self, **values: torch.Tensor) -> None:
        if self.full:
            raise RuntimeError(f"rollout buffer is full ({self.steps} steps): call update() first")
        if self._action_pending:
            raise RuntimeError("act() called twice without record_step() in between")
        self._write("action", values)
        self._action_pending = True

    def add_outcome(self, **values: torch.Tensor) -> None:
        if not self._action_pending:
            raise RuntimeError("record_step() called without act() for this step")
        self._write("outcome", values)
        self._action_pending = False
        self.step += 1

    def reset(self) -> None:
        self.step = 0
        self._action_pending = False

    def _write(self, half: Half, values: dict[str, torch.Tensor]) -> None:
        expected = {n for n, s in self.specs.items() if s.half == half}
        if set(values) != expected:
            missing = sorted(expected - set(values))
            extra = sorted(set(values) - expected)
            raise RuntimeError(
                f"rollout step, {half} half: missing records {missing}, undeclared {extra}"
            )
        t = self.step
        for name, value in values.items():
            self._data[name][t].copy_(value)
