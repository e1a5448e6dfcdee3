"""Diagonal Gaussian policy distribution over normalized actions.

Actions live in normalized units (-1..1 spans the env's action bounds, see
``normalizer.ActionNormalizer``). The standard deviation is always ``exp(log_std)`` with
``log_std`` kept inside [LOG_STD_MIN, LOG_STD_MAX], so it is positive and finite whatever an
optimizer does to the raw parameter.
"""

from __future__ import annotations

import math

import torch

LOG_STD_MIN = math.log(1e-4)  # std floor, normalized action units
LOG_STD_MAX = math.log(10.0)  # std ceiling: 10x the half-range of the action bounds
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def bound_log_std(raw: torch.Tensor) -> torch.Tensor:
    """Clamp a log std into [LOG_STD_MIN, LOG_STD_MAX] with a straight-through gradient.

    The value is clamped, but the gradient passes as if it were not, so a parameter pushed
    past a bound by one bad step can still be pulled back by later gradients (a plain clamp
    would have zero gradient there and freeze it).
    """
    return raw + (raw.clamp(LOG_STD_MIN, LOG_STD_MAX) - raw).detach()


class DiagGaussian:
    """N(mean, diag(exp(log_std)^2)); log_std is (action_dim,) or the shape of mean."""

    def __init__(self, mean: torch.Tensor, log_std: torch.Tensor):
        self.mean = mean
        self.log_std = log_std

    @property
    def std(self) -> torch.Tensor:
        return self.log_std.exp()

    def sample(self) -> torch.Tensor:
        return self.mean + self.std * torch.randn_like(self.mean)

    def log_prob(self, action: torch.Tensor) -> torch.Tensor:
        """Log density of each row, summed over action dims: shape mean.shape[:-1]."""
        z = (action - self.mean) * torch.exp(-self.log_std)
        action_dim = self.mean.shape[-1]
        return -0.5 * (z * z).sum(-1) - self.log_std.sum(-1) - action_dim * _HALF_LOG_2PI

    def entropy(self) -> torch.Tensor:
        """Entropy of each row: sum over dims of log_std + 0.5 + 0.5 log(2 pi)."""
        action_dim = self.mean.shape[-1]
        ent = self.log_std.sum(-1) + action_dim * (0.5 + _HALF_LOG_2PI)
        return ent.expand(self.mean.shape[:-1])
