"""FIFO replay of past policy samples: the discriminator's negatives from older policies.

Fixed capacity, a dict of named tensors (AMP: ``disc_obs``; ADD: the ``disc_obs`` /
``disc_obs_demo`` pair, kept raw because its normalizer keeps changing). ``push`` writes at
the head and wraps around, overwriting the oldest rows. ``sample`` follows MimicKit's
``ExperienceBuffer``: indices are read in order from a random permutation of the capacity
(a fresh one when it is used up), taken modulo the filled count; so a full buffer is
sampled without replacement across consecutive calls.

When and how much to push is the learner's choice (AMP: every rollout sample until the
buffer is full, then ``disc_replay_samples`` random ones per iteration).
"""

from __future__ import annotations

import torch


class ReplayBuffer:
    def __init__(
        self,
        capacity: int,
        shapes: dict[str, tuple[int, ...]],
        device: torch.device | str = "cpu",
    ):
        if capacity <= 0:
            raise ValueError(f"replay capacity must be > 0, got {capacity}")
        self.capacity = capacity
        self.device = torch.device(device)
        self._data = {
            name: torch.zeros(capacity, *shape, device=self.device)
            for name, shape in shapes.items()
        }
        self.head = 0  # the row the next push writes first
        self.pushed = 0  # rows ever pushed (the filled count is min(pushed, capacity))
        self._perm = torch.randperm(capacity, device=self.device)
        self._perm_head = 0

    @property
    def filled(self) -> int:
        return min(self.pushed, self.capacity)

    @property
    def full(self) -> bool:
        return self.pushed >= self.capacity

    def __getitem__(self, name: str) -> torch.Tensor:
        """All ``capacity`` rows of ``name`` in storage order (rows past ``filled`` are 0)."""
        return self._data[name]

    @torch.no_grad()
    def push(self, samples: dict[str, torch.Tensor]) -> None:
        """Append rows (n, *shape) of every name; beyond the capacity the oldest rows are
        overwritten (pushing more than the capacity at once keeps the last ``capacity``)."""
        if set(samples) != set(self._data):
            raise ValueError(
                f"replay push of {sorted(samples)}; the buffer holds {sorted(self._data)}"
            )
        n = {v.shape[0] for v in samples.values()}
        if len(n) != 1:
            raise ValueError(f"replay push with different row counts per name: {sorted(n)}")
        (count,) = n
        skip = max(count - self.capacity, 0)  # rows that would be overwritten in this push
        rows = (self.head + skip + torch.arange(count - skip, device=self.device)) % self.capacity
        for name, value in samples.items():
            self._data[name][rows] = value[skip:].to(self.device, self._data[name].dtype)
        self.head = (self.head + count) % self.capacity
        self.pushed += count

    @torch.no_grad()
    def sample(self, n: int) -> dict[str, torch.Tensor]:
        """``n`` rows (copies) drawn from the filled part."""
        if self.filled == 0:
            raise RuntimeError("replay sample() before anything was pushed")
        idx = self._next_indices(n) % self.filled
        return {name: data[idx] for name, data in self._data.items()}

    def _next_indices(self, n: int) -> torch.Tensor:
        parts, need = [], n
        while need > 0:
            if self._perm_head == self.capacity:
                self._perm = torch.randperm(self.capacity, device=self.device)
                self._perm_head = 0
            take = min(need, self.capacity - self._perm_head)
            parts.append(self._perm[self._perm_head : self._perm_head + take])
            self._perm_head += take
            need -= take
        return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long, device=self.device)
