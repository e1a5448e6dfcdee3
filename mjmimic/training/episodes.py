"""Per-env episode bookkeeping shared by training and test mode."""

from __future__ import annotations

import torch


class EpisodeTracker:
    """Accumulates per-env return, length and per-step metrics; hands back finished episodes.

    ``quota`` (test mode) keeps only each env's first ``quota`` episodes, so envs that fail
    fast cannot fill the sample with short episodes.
    """

    def __init__(self, num_envs: int, metric_names: tuple[str, ...] = (), quota: int | None = None):
        self.num_envs = num_envs
        self.metric_names = metric_names
        self.quota = quota
        self._return = torch.zeros(num_envs, dtype=torch.float64)
        self._length = torch.zeros(num_envs, dtype=torch.long)
        self._metrics = torch.zeros(num_envs, len(metric_names), dtype=torch.float64)
        self._finished_per_env = torch.zeros(num_envs, dtype=torch.long)
        self.returns: list[torch.Tensor] = []
        self.lengths: list[torch.Tensor] = []
        self.normalizers: list[torch.Tensor] = []
        self.full_lengths: list[torch.Tensor] = []
        self.metrics: list[torch.Tensor] = []

    def step(
        self,
        reward: torch.Tensor,
        done: torch.Tensor,
        metrics: dict[str, torch.Tensor] | None = None,
        best_return: torch.Tensor | None = None,
        full_length: torch.Tensor | None = None,
    ) -> None:
        """``best_return`` (N,): the return a perfect policy would get for each env's
        current episode (for normalized returns); ``full_length`` (N,): the steps that
        episode lasts without failing (for the length fraction). Both are read for the envs
        that finish now."""
        self._return += reward.double()
        self._length += 1
        if self.metric_names:
            self._metrics += torch.stack([metrics[k] for k in self.metric_names], dim=-1).double()
        ended = done != 0
        if not bool(ended.any()):
            return
        keep = ended
        if self.quota is not None:
            keep = ended & (self._finished_per_env < self.quota)
        self._finished_per_env += ended.long()
        idx = torch.nonzero(keep).flatten()
        if idx.numel():
            self.returns.append(self._return[idx].clone())
            self.lengths.append(self._length[idx].clone())
            if best_return is not None:
                self.normalizers.append(best_return[idx].double())
            if full_length is not None:
                self.full_lengths.append(full_length[idx].double())
            if self.metric_names:
                self.metrics.append(self._metrics[idx] / self._length[idx, None])
        self._return[ended] = 0.0
        self._length[ended] = 0
        self._metrics[ended] = 0.0

    def drop_running(self) -> None:
        """Forget the episodes in progress (all envs were reset from outside, e.g. after a
        checkpoint): their partial return and length must not run into the next episode."""
        self._return.zero_()
        self._length.zero_()
        self._metrics.zero_()

    def quota_met(self) -> bool:
        return self.quota is not None and bool((self._finished_per_env >= self.quota).all())

    @property
    def num_episodes(self) -> int:
        return sum(r.numel() for r in self.returns)

    def summary(self) -> dict[str, float]:
        """Means over finished episodes (empty dict when none finished)."""
        if not self.returns:
            return {}
        returns = torch.cat(self.returns)
        out = {
            "return": returns.mean().item(),
            "episode_length": torch.cat(self.lengths).double().mean().item(),
            "episodes": float(returns.numel()),
        }
        if self.normalizers:
            out["normalized_return"] = (returns / torch.cat(self.normalizers)).mean().item()
        if self.full_lengths:
            lengths = torch.cat(self.lengths).double()
            full = torch.cat(self.full_lengths)
            out["episode_length_fraction"] = (lengths / full).mean().item()
            # The share of episodes that ran their full length: a mean fraction of 0.9 can
            # be every episode ending 10 % early or one in ten ending at the start.
            out["full_length_rate"] = (lengths >= full).double().mean().item()
        if self.metric_names:
            means = torch.cat(self.metrics).mean(dim=0)
            out.update({k: means[i].item() for i, k in enumerate(self.metric_names)})
        return out

    def clear_finished(self) -> None:
        self.returns, self.lengths, self.metrics = [], [], []
        self.normalizers, self.full_lengths = [], []
