"""Observation and action normalization.

``RunningNormalizer``: running per-dimension mean/variance of the observations. Batches are
*recorded* into float64 sums during a rollout and *merged* into the running statistics by
``update()`` at the end of the iteration (MimicKit: so iteration 0 trains on mean 0 / std 1
and the statistics never change in the middle of an update). After ``max_samples``
observations have been merged the normalizer is frozen.

``ActionNormalizer``: fixed affine map between env action units and normalized actions,
``a_env = mean + std * a_norm`` with ``mean = (high + low) / 2``, ``std = (high - low) / 2``.
"""

from __future__ import annotations

import torch
from torch import nn


class RunningNormalizer(nn.Module):
    """Running mean/std normalizer: ``clip((x - mean) / max(std, min_std), +-clip)``.

    State (in ``state_dict``): ``mean``, ``var`` (float32) and ``count`` (int64, samples merged
    so far). Pending batch sums are float64 and not saved (they are empty after ``update``).
    """

    def __init__(
        self,
        dim: int,
        min_std: float = 1e-4,
        clip: float = 10.0,
        max_samples: int | None = None,
        device: torch.device | str = "cpu",
    ):
        super().__init__()
        self.min_std = min_std
        self.clip = clip
        self.max_samples = max_samples
        self.register_buffer("mean", torch.zeros(dim, device=device))
        self.register_buffer("var", torch.ones(dim, device=device))
        self.register_buffer("count", torch.zeros((), dtype=torch.int64, device=device))
        f64 = {"dtype": torch.float64, "device": device}
        self.register_buffer("_new_sum", torch.zeros(dim, **f64), persistent=False)
        self.register_buffer("_new_sum_sq", torch.zeros(dim, **f64), persistent=False)
        self._new_count = 0
        self._frozen = max_samples is not None and max_samples <= 0

    @property
    def std(self) -> torch.Tensor:
        """Standard deviation used for normalization (floored at min_std)."""
        return self.var.sqrt().clamp_min(self.min_std)

    @property
    def frozen(self) -> bool:
        """True once ``max_samples`` observations have been merged: ``record`` does nothing."""
        return self._frozen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x - self.mean) / self.std).clamp(-self.clip, self.clip)

    def leading(self, x: torch.Tensor) -> torch.Tensor:
        """Normalize ``x`` (..., k), the first k of the dims, with their statistics (a
        policy that reads only the leading part of the observation)."""
        k = x.shape[-1]
        return ((x - self.mean[:k]) / self.std[:k]).clamp(-self.clip, self.clip)

    def unnormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std + self.mean

    @torch.no_grad()
    def record(self, x: torch.Tensor) -> None:
        """Add a batch (..., dim) to the pending sums (no effect once frozen)."""
        if self._frozen:
            return
        x = x.reshape(-1, x.shape[-1])
        self._new_sum += x.sum(0, dtype=torch.float64)
        self._new_sum_sq += x.square().sum(0, dtype=torch.float64)
        self._new_count += x.shape[0]

    @torch.no_grad()
    def update(self) -> None:
        """Merge the pending batch statistics into the running mean/var (count-weighted)."""
        n_new = self._new_count
        if n_new > 0 and not self._frozen:
            n_old = int(self.count)
            n = n_old + n_new
            new_mean = self._new_sum / n_new
            new_var = (self._new_sum_sq / n_new - new_mean.square()).clamp_min(0.0)
            old_mean = self.mean.double()
            old_var = self.var.double() if n_old > 0 else torch.zeros_like(new_var)
            delta = new_mean - old_mean
            # Chan et al. parallel merge of (count, mean, M2).
            mean = old_mean + delta * (n_new / n)
            var = (old_var * n_old + new_var * n_new) / n + delta.square() * (n_old * n_new / n**2)
            self.mean.copy_(mean)
            self.var.copy_(var)
            self.count.fill_(n)
            self._frozen = self.max_samples is not None and n >= self.max_samples
        self.discard()

    @torch.no_grad()
    def discard(self) -> None:
        """Forget the recorded batches without merging them (a rollout that is thrown away)."""
        self._new_sum.zero_()
        self._new_sum_sq.zero_()
        self._new_count = 0

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._frozen = self.max_samples is not None and int(self.count) >= self.max_samples


class ActionNormalizer(nn.Module):
    """Fixed map between env action units and normalized actions (from the action bounds)."""

    def __init__(self, low: torch.Tensor, high: torch.Tensor):
        super().__init__()
        low = torch.as_tensor(low, dtype=torch.float32)
        high = torch.as_tensor(high, dtype=torch.float32)
        if low.shape != high.shape or low.ndim != 1:
            raise ValueError(
                f"action bounds must be two (action_dim,) tensors, got {low.shape}, {high.shape}"
            )
        if not (torch.isfinite(low).all() and torch.isfinite(high).all() and (high > low).all()):
            raise ValueError("action bounds must be finite with high > low in every dimension")
        self.register_buffer("mean", 0.5 * (high + low))
        self.register_buffer("std", 0.5 * (high - low))

    def to_env(self, action_norm: torch.Tensor) -> torch.Tensor:
        return self.mean + self.std * action_norm

    def to_normalized(self, action_env: torch.Tensor) -> torch.Tensor:
        return (action_env - self.mean) / self.std
