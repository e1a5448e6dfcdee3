"""Reference frames at the current time and the next K control steps, kept as a ring.

The observation needs the reference at t + s*dt for each target step s, and the reward
at t. All envs advance by exactly dt per step, so the frame for t + k*dt this step is
the frame for t + (k+1)*dt of the previous step: each step only one new time per env is
looked up in the motion library (instead of 1 + len(tar_obs_steps)), and the ring's head
moves by one slot. Envs that reset get all K+1 slots looked up.
"""

from __future__ import annotations

from dataclasses import fields

import torch

from mjmimic.motion.library import MotionLib, MotionState


class ReferenceWindow:
    def __init__(self, motion_lib: MotionLib, num_envs: int, horizon: int, dt: float):
        self.lib = motion_lib
        self.size = horizon + 1  # offsets 0 .. horizon control steps
        self.dt = dt
        self.head = 0  # slot of offset 0
        self._slots: dict[str, torch.Tensor] = {}
        self._num_envs = num_envs

    def _store(self, env_ids: torch.Tensor | None, slots: torch.Tensor, state: MotionState) -> None:
        for f in fields(MotionState):
            value = getattr(state, f.name)
            if value is None:
                continue
            if f.name not in self._slots:
                shape = (self._num_envs, self.size, *value.shape[1:])
                self._slots[f.name] = value.new_zeros(shape)
            n_slots = slots.numel()
            value = value.view(-1, n_slots, *value.shape[1:])
            if env_ids is None:
                self._slots[f.name][:, slots] = value
            else:
                self._slots[f.name][env_ids[:, None], slots[None, :]] = value

    def fill(self, env_ids: torch.Tensor, clips: torch.Tensor, now: torch.Tensor) -> None:
        """Look up every offset for ``env_ids`` (after a reset)."""
        offsets = torch.arange(self.size, device=now.device, dtype=now.dtype) * self.dt
        times = (now[:, None] + offsets[None, :]).reshape(-1)
        state = self.lib.get_state(clips.repeat_interleave(self.size), times)
        self._store(env_ids, self._slot_of(torch.arange(self.size)), state)

    def advance(self, clips: torch.Tensor, now: torch.Tensor) -> None:
        """Move to the next control step: ``now`` is the new current motion time."""
        self.head = (self.head + 1) % self.size
        horizon = self.size - 1
        state = self.lib.get_state(clips, now + horizon * self.dt)
        self._store(None, self._slot_of(torch.tensor([horizon])), state)

    def _slot_of(self, offsets: torch.Tensor) -> torch.Tensor:
        return (self.head + offsets) % self.size

    def get(
        self, name: str, offsets: list[int], env_ids: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Field ``name`` at the given step offsets: (N, len(offsets), ...)."""
        slots = self._slot_of(torch.tensor(offsets))
        table = self._slots[name] if env_ids is None else self._slots[name][env_ids]
        return table.index_select(1, slots.to(table.device))
