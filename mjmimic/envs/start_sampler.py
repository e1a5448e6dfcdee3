"""Where in a clip training episodes start: uniformly, or weighted by where tracking is worst.

Uniform random starts (MimicKit's ``rand_reset``) give every second of a clip the same
practice, so a short hard segment (the kick in a 6 s clip) gets 1/12 of it, and a policy
that skips the segment loses little. ``AdaptiveStartSampler`` splits each clip into bins of
``bin_seconds`` and keeps, per bin, a running mean of the worst key-body error seen while
the reference was in that bin (the error of the worst body, not a mean over bodies: the
same rule the evaluation judges by). Start bins are drawn with probability

    p(bin) = floor / num_bins + (1 - floor) * score(bin) / sum(score)

so every bin keeps at least ``floor`` of the uniform share, and a bin where the worst body
is far off gets up to ``(1 - floor)`` of all starts. Within a bin the start is uniform.
BeyondMimic samples by where episodes *fail*; a policy that skips a kick without falling
never fails there, which is why the error, not the failure, is the score.
"""

from __future__ import annotations

import math

import torch


class AdaptiveStartSampler:
    def __init__(
        self,
        durations: torch.Tensor,
        bin_seconds: float,
        floor: float,
        decay: float,
        device: torch.device | str = "cpu",
    ):
        """``durations`` (num_clips,) s; ``floor`` in (0, 1]; ``decay`` in [0, 1): the
        weight of a bin's old score when a step's error is averaged in."""
        self.device = torch.device(device)
        self.bin_seconds = float(bin_seconds)
        self.floor = float(floor)
        self.decay = float(decay)
        durations = durations.to(self.device, torch.float64)
        self.durations = durations
        self.num_bins = torch.clamp(torch.ceil(durations / self.bin_seconds), min=1).long()
        self.first_bin = torch.cumsum(self.num_bins, 0) - self.num_bins
        total = int(self.num_bins.sum())
        # Unvisited bins start at the largest score seen so far (optimism: try them).
        self.score = torch.zeros(total, dtype=torch.float64, device=self.device)
        self.visited = torch.zeros(total, dtype=torch.bool, device=self.device)

    def bin_of(self, clips: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """Flat bin index of clip time ``times`` (N,) in ``clips`` (N,)."""
        local = torch.floor(times.to(torch.float64) / self.bin_seconds).long()
        local = torch.minimum(local.clamp_min(0), self.num_bins[clips] - 1)
        return self.first_bin[clips] + local

    def record(self, clips: torch.Tensor, times: torch.Tensor, worst_error: torch.Tensor) -> None:
        """Average this step's worst key-body error (N,) into the bins of ``times``."""
        bins = self.bin_of(clips, times)
        total = torch.zeros_like(self.score).index_add_(0, bins, worst_error.double())
        count = torch.zeros_like(self.score).index_add_(
            0, bins, torch.ones_like(worst_error, dtype=torch.float64)
        )
        seen = count > 0
        mean = total[seen] / count[seen]
        fresh = seen & ~self.visited
        old = self.score[seen]
        blended = self.decay * old + (1.0 - self.decay) * mean
        self.score[seen] = torch.where(fresh[seen], mean, blended)
        self.visited |= seen

    def probabilities(self, clip: int) -> torch.Tensor:
        """(num_bins of ``clip``,) start probabilities of its bins."""
        start, n = int(self.first_bin[clip]), int(self.num_bins[clip])
        return self._probabilities(torch.arange(start, start + n, device=self.device))

    def sample(self, clips: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """A start time (N,) in each of ``clips`` (N,), float32 like the motion library."""
        times = torch.empty(clips.shape, dtype=torch.float64, device=self.device)
        for clip in torch.unique(clips).tolist():
            rows = torch.nonzero(clips == clip).flatten()
            p = self.probabilities(clip)
            picked = torch.multinomial(p, rows.numel(), replacement=True, generator=generator)
            u = torch.rand(
                rows.numel(), dtype=torch.float64, device=self.device, generator=generator
            )
            start = (picked.double() + u) * self.bin_seconds
            times[rows] = torch.minimum(start, self.durations[clip])
        return times.float()

    def _probabilities(self, bins: torch.Tensor) -> torch.Tensor:
        score = self.score[bins]
        visited = self.visited[bins]
        top = float(score[visited].max()) if bool(visited.any()) else 1.0
        score = torch.where(visited, score, torch.full_like(score, max(top, 1e-9)))
        n = bins.numel()
        total = float(score.sum())
        share = (
            score / total if total > 0 and math.isfinite(total) else torch.full_like(score, 1 / n)
        )
        return self.floor / n + (1.0 - self.floor) * share

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"score": self.score.clone(), "visited": self.visited.clone()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        if state["score"].shape != self.score.shape:
            raise ValueError(
                f"adaptive start sampler: saved {tuple(state['score'].shape)} bins, this env "
                f"has {tuple(self.score.shape)} (different clips or bin_seconds)"
            )
        self.score.copy_(state["score"])
        self.visited.copy_(state["visited"])
