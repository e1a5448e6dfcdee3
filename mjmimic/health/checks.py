"""Pure checks and the helpers that turn a failed check into names and numbers.

The hot path only asks "is everything finite?" (one fused reduction per tensor); the
functions that find *which* element and *what it is called* run after a check failed.
"""

from __future__ import annotations

import statistics
from collections import deque

import torch


def all_finite(*tensors: torch.Tensor) -> torch.Tensor:
    """One boolean tensor (no host sync yet): every element of every tensor is finite."""
    ok = torch.isfinite(tensors[0]).all()
    for t in tensors[1:]:
        ok = ok & torch.isfinite(t).all()
    return ok


def bad_rows_and_dims(x: torch.Tensor) -> tuple[list[int], list[int]]:
    """Rows (envs) and columns (dims) of a (N, D) or (N,) tensor holding a non-finite value."""
    bad = ~torch.isfinite(x)
    if x.ndim == 1:
        return torch.nonzero(bad).flatten().tolist(), []
    rows = torch.nonzero(bad.any(dim=1)).flatten().tolist()
    dims = torch.nonzero(bad.any(dim=0)).flatten().tolist()
    return rows, dims


def dim_runs(dims: list[int]) -> str:
    """``[3, 4, 5, 9]`` -> ``"3-5, 9"``."""
    runs: list[str] = []
    start = prev = None
    for d in sorted(dims):
        if prev is not None and d == prev + 1:
            prev = d
            continue
        if start is not None:
            runs.append(f"{start}-{prev}" if prev != start else f"{start}")
        start = prev = d
    if start is not None:
        runs.append(f"{start}-{prev}" if prev != start else f"{start}")
    return ", ".join(runs)


def term_of(label: str) -> str:
    """``"tar2.key_pos[head].z"`` -> ``"tar2.key_pos[head]"``; ``"dof_vel[knee]"`` stays."""
    if label.endswith("]"):
        return label
    head, _, tail = label.rpartition(".")
    if head and tail in {"x", "y", "z"}:
        head2, _, tail2 = head.rpartition(".")
        return head2 if tail2 in {"tan", "norm"} else head
    return label


def group_dims(dims: list[int], labels: list[str], limit: int = 6) -> list[str]:
    """Dims grouped by observation term: ``["57-59 (key_pos[head])", ...]``, at most ``limit``."""
    groups: dict[str, list[int]] = {}
    for d in dims:
        groups.setdefault(term_of(labels[d]) if d < len(labels) else f"dim {d}", []).append(d)
    out = [f"{dim_runs(ds)} ({name})" for name, ds in groups.items()]
    if len(out) > limit:
        out = [*out[:limit], f"... {len(out) - limit} more terms"]
    return out


def near_constant_dims(std: torch.Tensor, value_range: torch.Tensor, min_std: float) -> list[int]:
    """Dims whose running std is below ``min_std`` though they are not exactly constant.

    An exactly constant dim (say, the y component of a hinge's rotated axis) normalizes to
    0 and is harmless; a dim that barely moves has its float noise and rare excursions
    divided by the normalizer's std floor and blown up to the clip value.
    """
    return torch.nonzero((std < min_std) & (value_range > 0)).flatten().tolist()


class RunningMedian:
    """Median of the last ``size`` finite values: the scale a spike is judged against."""

    def __init__(self, size: int = 20):
        self.values: deque[float] = deque(maxlen=size)

    def __len__(self) -> int:
        return len(self.values)

    def median(self) -> float:
        return statistics.median(self.values)

    def add(self, value: float) -> None:
        if value == value and abs(value) != float("inf"):
            self.values.append(value)


def input_scale_gaps(
    agent: torch.Tensor, demo: torch.Tensor, std_floor: float = 0.05
) -> dict[str, torch.Tensor]:
    """Per dim of two (n, D) samples of discriminator inputs: means, stds, the mean gap in
    units of the pooled std, and the demo's std over the agent's.

    Stds are floored at ``std_floor`` (in the dim's units, times its magnitude when that
    exceeds 1): differences smaller than that do not count, so a dim the demos hold nearly
    constant is not "far" from an agent a few millimetres or degrees off it, while two
    values 0.5 apart are 10 floors apart whatever their spread. The ratio is one-sided: a
    demo dim that moves where the agent's never does (a joint swinging through a range the
    robot does not reach) is large; the reverse (the demo holds still where an untrained
    agent wobbles) is not a mismatch and stays small.
    """
    a, d = agent.double(), demo.double()
    mean_a, mean_d = a.mean(0), d.mean(0)
    std_a, std_d = a.std(0, correction=0), d.std(0, correction=0)
    floor = std_floor * torch.maximum(mean_a.abs(), mean_d.abs()).clamp_min(1.0)
    pooled = ((std_a**2 + std_d**2) / 2).sqrt()
    return {
        "agent_mean": mean_a,
        "demo_mean": mean_d,
        "agent_std": std_a,
        "demo_std": std_d,
        "gap": (mean_a - mean_d).abs() / torch.maximum(pooled, floor),
        "std_ratio": std_d / torch.maximum(std_a, floor),
    }
