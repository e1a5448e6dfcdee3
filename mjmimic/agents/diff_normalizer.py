"""ADD's normalizer of differences: divide by the running mean of |delta| per dimension.

A difference ``delta = demo - sim`` is already centred on its ideal value, 0, so it is only
scaled, never shifted (a shift would move the ADD positive, the zero vector), and not
clipped (MimicKit: clip = inf). The scale starts at 1 and is floored at 1e-4, so a
dimension that never differs is not blown up without bound.

Interface as ``normalizer.RunningNormalizer``: batches are ``record``-ed during the
iteration and merged by ``update()`` at its end (count-weighted, so iteration 0 uses
scale 1), ``discard()`` forgets pending batches (a thrown-away rollout), and after
``max_samples`` merged samples the statistics are frozen.
"""

from __future__ import annotations

import torch
from torch import nn


class DiffNormalizer(nn.Module):
    """``x / max(mean|x|, min_diff)``. State (in ``state_dict``): ``mean_abs`` (float32) and
    ``count`` (int64, samples merged so far)."""

    def __init__(
        self,
        dim: int,
        min_diff: float = 1e-4,
        max_samples: int | None = None,
        device: torch.device | str = "cpu",
    ):
        super().__init__()
        self.min_diff = min_diff
        self.max_samples = max_samples
        self.register_buffer("mean_abs", torch.ones(dim, device=device))
        self.register_buffer("count", torch.zeros((), dtype=torch.int64, device=device))
        f64 = {"dtype": torch.float64, "device": device}
        self.register_buffer("_new_sum_abs", torch.zeros(dim, **f64), persistent=False)
        self._new_count = 0
        self._frozen = max_samples is not None and max_samples <= 0

    @property
    def scale(self) -> torch.Tensor:
        """What a difference is divided by (floored at min_diff)."""
        return self.mean_abs.clamp_min(self.min_diff)

    @property
    def frozen(self) -> bool:
        return self._frozen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x / self.scale

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return self(x)

    def unnormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale

    @torch.no_grad()
    def record(self, x: torch.Tensor) -> None:
        """Add a batch (..., dim) of differences to the pending sums (no effect once frozen)."""
        if self._frozen:
            return
        x = x.reshape(-1, x.shape[-1])
        self._new_sum_abs += x.abs().sum(0, dtype=torch.float64)
        self._new_count += x.shape[0]

    @torch.no_grad()
    def update(self) -> None:
        """Merge the pending batches: mean_abs = (n_old mean_old + sum|x|_new) / (n_old + n_new)."""
        n_new = self._new_count
        if n_new > 0 and not self._frozen:
            n_old = int(self.count)
            n = n_old + n_new
            mean = (self.mean_abs.double() * n_old + self._new_sum_abs) / n
            self.mean_abs.copy_(mean)
            self.count.fill_(n)
            self._frozen = self.max_samples is not None and n >= self.max_samples
        self.discard()

    @torch.no_grad()
    def discard(self) -> None:
        """Forget the recorded batches without merging them."""
        self._new_sum_abs.zero_()
        self._new_count = 0

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._frozen = self.max_samples is not None and int(self.count) >= self.max_samples
