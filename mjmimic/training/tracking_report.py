"""Per-body, per-clip-time tracking errors of test episodes, and when an episode succeeds.

Means over bodies, joints and frames hide a motion the policy never makes: a G1 that
stands still through a kick clip keeps its torso within 3 cm and averages 9 cm of key-body
error while its kicking foot is almost 1 m off for half a second. So test mode records,
for every frame it counts, each key body's and each joint's error with the clip and the
clip time of the reference frame (``info["tracking"]``, ``envs/tracking.py``), and this
module reduces them:

* per clip, errors binned over clip time (bins one control step wide): the mean per bin
  and body, for the heat map and the JSON of ``mjmimic test --report``;
* per body over all frames: max, 95th percentile, mean, the fraction of frames above the
  body threshold, and the worst window (``evaluation.window`` s of clip time with the
  highest mean error, count-weighted over the episodes that passed there);
* the **worst body** is the one with the largest **max** over frames. Max, not a
  percentile, because success is decided on the max (every frame within the threshold),
  so this is the body that fails episodes, and because a short miss (a 0.3 s kick in a
  10 s episode is 3 % of its frames) is below any useful percentile;
* an episode is a **success** when it did not fall (did not end with ``FAIL``), every
  key body stayed within ``evaluation.body_threshold`` of its reference in every frame
  (positions relative to each character's root) and the root within
  ``evaluation.root_threshold``.

The numbers: docs/evaluation.md. Files (heat map, JSON): ``logging/tracking_report_files.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from mjmimic.envs.done import DoneFlag
from mjmimic.training.evaluation_config import EvaluationConfig

WORST_BODY_STATISTIC = "max over recorded frames of the per-frame error"


# ----------------------------------------------------------------- pure statistics
def episode_success(
    max_body_err: torch.Tensor,
    max_root_err: torch.Tensor,
    fell: torch.Tensor,
    body_threshold: float,
    root_threshold: float,
) -> torch.Tensor:
    """(E,) bool: the episode did not fall, its largest key-body error over all frames and
    bodies (``max_body_err`` (E,), m) is within ``body_threshold`` and its largest root
    error (``max_root_err`` (E,), m) within ``root_threshold``."""
    return ~fell & (max_body_err <= body_threshold) & (max_root_err <= root_threshold)


def fraction_over(errors: torch.Tensor, threshold: float) -> torch.Tensor:
    """(K,) fraction of the frames of ``errors`` (F, K) above ``threshold`` (nan if F = 0)."""
    if errors.shape[0] == 0:
        return torch.full(errors.shape[1:], math.nan, dtype=torch.float64)
    return (errors > threshold).double().mean(0)


def window_bins(window: float, bin_width: float, num_bins: int) -> int:
    """Bins in a window of ``window`` seconds (at least 1, at most the clip's bins)."""
    return max(1, min(num_bins, round(window / bin_width)))


def worst_window(
    sums: torch.Tensor, counts: torch.Tensor, bin_width: float, window: float
) -> tuple[float, float, float] | None:
    """The window of consecutive time bins with the highest mean error: (start s, end s,
    mean error), or None when no bin holds a frame.

    ``sums`` (B,): summed error of the frames in each bin; ``counts`` (B,): their number.
    The mean of a window is its summed error over its frame count, so bins that more
    episodes passed through weigh more, and empty bins do not dilute it; the window
    returned is trimmed to its first and last bin that hold frames.
    """
    num_bins = sums.shape[0]
    if num_bins == 0 or not bool((counts > 0).any()):
        return None
    m = window_bins(window, bin_width, num_bins)
    zero = torch.zeros(1, dtype=torch.float64)
    csum = torch.cat([zero, sums.double().cumsum(0)])
    ccount = torch.cat([zero, counts.double().cumsum(0)])
    win_sum = csum[m:] - csum[:-m]
    win_count = ccount[m:] - ccount[:-m]
    means = torch.where(win_count > 0, win_sum / win_count.clamp_min(1.0), -math.inf)
    start = int(means.argmax())
    filled = torch.nonzero(counts[start : start + m] > 0).flatten()
    first, last = start + int(filled[0]), start + int(filled[-1])
    return first * bin_width, (last + 1) * bin_width, float(means[start])


def clip_bins(duration: float, bin_width: float) -> int:
    """Time bins of a clip: ``ceil(duration / bin_width)``, at least 1."""
    return max(1, math.ceil(duration / bin_width - 1e-6))


# ----------------------------------------------------------------------- the report
@dataclass(frozen=True)
class ErrorStats:
    """One body's (m) or joint's (rad) errors over a set of frames."""

    name: str
    max: float
    p95: float
    mean: float
    frames_over: float | None  # fraction of frames above the body threshold; None for joints
    window_clip: str | None  # clip of the worst window
    window_start: float  # s of clip time
    window_end: float
    window_err: float  # mean error in the window

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "max": _num(self.max),
            "p95": _num(self.p95),
            "mean": _num(self.mean),
            "frames_over_threshold": _num(self.frames_over),
            "worst_window": {
                "clip": self.window_clip,
                "start": _num(self.window_start),
                "end": _num(self.window_end),
                "mean_err": _num(self.window_err),
            },
        }


@dataclass
class ClipReport:
    """One clip: mean errors per clip-time bin and the stats of its frames."""

    name: str
    duration: float  # s
    bin_width: float  # s; bin i covers [i w, (i + 1) w) of clip time
    counts: torch.Tensor  # (B,) frames per bin
    body_mean: torch.Tensor  # (B, K) m, nan where a bin has no frame
    joint_mean: torch.Tensor  # (B, J) rad
    body_stats: list[ErrorStats]
    joint_stats: list[ErrorStats]
    episodes: int
    successes: int

    @property
    def success_rate(self) -> float:
        return self.successes / self.episodes if self.episodes else math.nan

    @property
    def worst_err(self) -> float:
        """The largest body max of this clip (nan without frames)."""
        values = [s.max for s in self.body_stats if not math.isnan(s.max)]
        return max(values, default=math.nan)

    def to_dict(self) -> dict[str, Any]:
        bins = self.counts.shape[0]
        return {
            "name": self.name,
            "duration": self.duration,
            "bin_width": self.bin_width,
            "time_bins": [i * self.bin_width for i in range(bins)],
            "frames_per_bin": [int(c) for c in self.counts],
            "episodes": self.episodes,
            "success_rate": _num(self.success_rate),
            "body_mean_err": {
                s.name: [_num(v) for v in self.body_mean[:, k].tolist()]
                for k, s in enumerate(self.body_stats)
            },
            "joint_mean_err": {
                s.name: [_num(v) for v in self.joint_mean[:, j].tolist()]
                for j, s in enumerate(self.joint_stats)
            },
            "body_stats": [s.to_dict() for s in self.body_stats],
            "joint_stats": [s.to_dict() for s in self.joint_stats],
        }


@dataclass
class TrackingReport:
    criteria: EvaluationConfig
    body_names: list[str]
    joint_names: list[str]
    clips: list[ClipReport]
    body_stats: list[ErrorStats]  # over all clips
    joint_stats: list[ErrorStats]
    episodes: int
    successes: int
    frames: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def success_rate(self) -> float:
        return self.successes / self.episodes if self.episodes else math.nan

    @property
    def worst_body(self) -> ErrorStats | None:
        """The key body with the largest max error (``WORST_BODY_STATISTIC``)."""
        ranked = [s for s in self.body_stats if not math.isnan(s.max)]
        return max(ranked, key=lambda s: s.max, default=None)

    def summary(self) -> dict[str, float]:
        """The float-valued keys ``evaluate`` returns (names are in the report only)."""
        worst = self.worst_body
        return {
            "success_rate": self.success_rate,
            "worst_body_err": worst.max if worst else math.nan,
            "frames_over_threshold": worst.frames_over if worst else math.nan,
        }

    def to_dict(self) -> dict[str, Any]:
        worst = self.worst_body
        return {
            "thresholds": {
                "body_threshold": self.criteria.body_threshold,
                "root_threshold": self.criteria.root_threshold,
                "window": self.criteria.window,
            },
            "units": {"body": "m, relative to the root", "joint": "rad", "time": "s"},
            "worst_body_statistic": WORST_BODY_STATISTIC,
            "episodes": self.episodes,
            "frames": self.frames,
            "success_rate": _num(self.success_rate),
            "worst_body": worst.to_dict() if worst else None,
            "bodies": list(self.body_names),
            "joints": list(self.joint_names),
            "body_stats": [s.to_dict() for s in self.body_stats],
            "joint_stats": [s.to_dict() for s in self.joint_stats],
            "clips": [c.to_dict() for c in self.clips],
        }

    def table(self) -> list[str]:
        """The per-body table ``mjmimic test`` prints, worst body first."""
        thr = self.criteria.body_threshold
        several = sum(c.episodes > 0 or int(c.counts.sum()) > 0 for c in self.clips) > 1
        name_width = max([len(n) for n in self.body_names] + [4])
        lines = [
            f"per key body (position relative to the root; threshold {thr:.2f} m):",
            f"  {'body':<{name_width}}  max m   p95 m   >thr    "
            f"worst {self.criteria.window:g} s window (mean err)",
        ]
        ranked = sorted(self.body_stats, key=lambda s: -s.max if not math.isnan(s.max) else 0)
        for s in ranked:
            window = "-"
            if s.window_clip is not None:
                window = f"{s.window_start:.2f}-{s.window_end:.2f} s ({s.window_err:.3f} m)"
                if several:
                    window += f" in {s.window_clip}"
            over = "-" if s.frames_over is None else f"{s.frames_over:6.1%}"
            lines.append(
                f"  {s.name:<{name_width}}  {s.max:5.3f}   {s.p95:5.3f}   {over:>6}  {window}"
            )
        return lines


def _num(value: float | None) -> float | None:
    """JSON has no NaN: missing numbers are null."""
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return float(value)


# ---------------------------------------------------------------------- the recorder
class TrackingRecorder:
    """Collects ``info["tracking"]`` of every step of a test run (``evaluate``).

    ``quota`` (as ``EpisodeTracker``'s) keeps only each env's first ``quota`` episodes:
    frames and episode outcomes of later ones are not recorded.
    """

    def __init__(
        self,
        num_envs: int,
        body_names: list[str],
        joint_names: list[str],
        clip_names: list[str],
        clip_durations: torch.Tensor,
        bin_width: float,
        criteria: EvaluationConfig | None = None,
        quota: int | None = None,
    ):
        self.num_envs = num_envs
        self.body_names = list(body_names)
        self.joint_names = list(joint_names)
        self.clip_names = list(clip_names)
        self.durations = [float(d) for d in torch.as_tensor(clip_durations).flatten()]
        if len(self.durations) != len(self.clip_names):
            raise ValueError("one duration per clip name")
        self.bin_width = float(bin_width)
        self.criteria = criteria or EvaluationConfig()
        self.quota = quota
        self.num_bins = torch.tensor([clip_bins(d, self.bin_width) for d in self.durations])
        self.offsets = torch.cat([torch.zeros(1, dtype=torch.long), self.num_bins.cumsum(0)])
        total = int(self.offsets[-1])
        k, j = len(self.body_names), len(self.joint_names)
        self._body_sum = torch.zeros(total, k, dtype=torch.float64)
        self._joint_sum = torch.zeros(total, j, dtype=torch.float64)
        self._count = torch.zeros(total, dtype=torch.float64)
        self._body_frames: list[torch.Tensor] = []
        self._joint_frames: list[torch.Tensor] = []
        self._frame_clips: list[torch.Tensor] = []
        self._ep_body_max = torch.zeros(num_envs, dtype=torch.float64)
        self._ep_root_max = torch.zeros(num_envs, dtype=torch.float64)
        self._finished = torch.zeros(num_envs, dtype=torch.long)
        self._outcomes: list[torch.Tensor] = []  # success per counted episode
        self._outcome_clips: list[torch.Tensor] = []

    def step(
        self,
        tracking: dict[str, torch.Tensor],
        done: torch.Tensor,
        valid: torch.Tensor | None = None,
    ) -> None:
        """One control step: ``tracking`` from ``info["tracking"]``, ``done`` (N,) flags.
        ``valid`` (N,) bool: False for an env whose step failed (``evaluation``: a
        non-finite action or physics); its errors are of no state the policy reached, so
        its frame is not recorded (its episode must end with ``FAIL`` at this step)."""
        body = tracking["body_pos_err"].detach().to("cpu", torch.float64)
        joint = tracking["joint_err"].detach().to("cpu", torch.float64)
        root = tracking["root_pos_err"].detach().to("cpu", torch.float64)
        clip = tracking["clip"].detach().to("cpu", torch.long)
        t = tracking["clip_time"].detach().to("cpu", torch.float64)
        done = done.detach().to("cpu")
        valid = (
            torch.ones(self.num_envs, dtype=torch.bool) if valid is None else valid.detach().cpu()
        )
        counted = (
            self._finished < self.quota
            if self.quota is not None
            else torch.ones(self.num_envs, dtype=torch.bool)
        )
        rows = torch.nonzero(counted & valid).flatten()
        if rows.numel():
            c = clip[rows]
            b = torch.floor(t[rows] / self.bin_width + 1e-6).long()
            b = torch.minimum(b.clamp_min(0), self.num_bins[c] - 1)
            index = self.offsets[c] + b
            self._body_sum.index_add_(0, index, body[rows])
            self._joint_sum.index_add_(0, index, joint[rows])
            self._count.index_add_(0, index, torch.ones(rows.numel(), dtype=torch.float64))
            self._body_frames.append(body[rows].float())
            self._joint_frames.append(joint[rows].float())
            self._frame_clips.append(c)
        frame_max = body.amax(-1) if body.shape[-1] else torch.zeros_like(root)
        zero = torch.zeros_like(root)
        self._ep_body_max = torch.maximum(self._ep_body_max, torch.where(valid, frame_max, zero))
        self._ep_root_max = torch.maximum(self._ep_root_max, torch.where(valid, root, zero))
        ended = done != int(DoneFlag.NULL)
        keep = torch.nonzero(ended & counted).flatten()
        if keep.numel():
            ok = episode_success(
                self._ep_body_max[keep],
                self._ep_root_max[keep],
                done[keep] == int(DoneFlag.FAIL),
                self.criteria.body_threshold,
                self.criteria.root_threshold,
            )
            self._outcomes.append(ok)
            self._outcome_clips.append(clip[keep])
        self._finished += ended.long()
        self._ep_body_max[ended] = 0.0
        self._ep_root_max[ended] = 0.0

    # ------------------------------------------------------------------ reduction
    def report(self) -> TrackingReport:
        k, j = len(self.body_names), len(self.joint_names)
        body = torch.cat(self._body_frames) if self._body_frames else torch.zeros(0, k)
        joint = torch.cat(self._joint_frames) if self._joint_frames else torch.zeros(0, j)
        frame_clip = (
            torch.cat(self._frame_clips) if self._frame_clips else torch.zeros(0, dtype=torch.long)
        )
        outcomes = torch.cat(self._outcomes) if self._outcomes else torch.zeros(0, dtype=bool)
        outcome_clip = (
            torch.cat(self._outcome_clips)
            if self._outcome_clips
            else torch.zeros(0, dtype=torch.long)
        )
        thr = self.criteria.body_threshold
        clips = []
        for c, name in enumerate(self.clip_names):
            lo, hi = int(self.offsets[c]), int(self.offsets[c + 1])
            counts = self._count[lo:hi]
            sums_b, sums_j = self._body_sum[lo:hi], self._joint_sum[lo:hi]
            mine = frame_clip == c
            windows_b = [self._window(sums_b[:, i], counts, c) for i in range(k)]
            windows_j = [self._window(sums_j[:, i], counts, c) for i in range(j)]
            clips.append(
                ClipReport(
                    name=name,
                    duration=self.durations[c],
                    bin_width=self.bin_width,
                    counts=counts.long(),
                    body_mean=_bin_means(sums_b, counts),
                    joint_mean=_bin_means(sums_j, counts),
                    body_stats=_stats(self.body_names, body[mine], windows_b, thr),
                    joint_stats=_stats(self.joint_names, joint[mine], windows_j, None),
                    episodes=int((outcome_clip == c).sum()),
                    successes=int(outcomes[outcome_clip == c].sum()),
                )
            )
        return TrackingReport(
            criteria=self.criteria,
            body_names=self.body_names,
            joint_names=self.joint_names,
            clips=clips,
            body_stats=_stats(self.body_names, body, _worst_windows(clips, "body"), thr),
            joint_stats=_stats(self.joint_names, joint, _worst_windows(clips, "joint"), None),
            episodes=int(outcomes.numel()),
            successes=int(outcomes.sum()),
            frames=int(body.shape[0]),
        )

    def _window(self, sums: torch.Tensor, counts: torch.Tensor, clip: int) -> _Window:
        found = worst_window(sums, counts, self.bin_width, self.criteria.window)
        if found is None:
            return None
        start, end, err = found
        return self.clip_names[clip], start, min(end, self.durations[clip]), err


_Window = tuple[str, float, float, float] | None


def _bin_means(sums: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    means = sums / counts.clamp_min(1.0)[:, None]
    means[counts == 0] = math.nan
    return means


def _worst_windows(clips: list[ClipReport], kind: str) -> list[_Window]:
    """Per body (or joint): its worst window over all clips (the highest mean)."""
    if not clips:
        return []
    per_clip = [c.body_stats if kind == "body" else c.joint_stats for c in clips]
    out: list[_Window] = []
    for i in range(len(per_clip[0])):
        best: _Window = None
        for stats in per_clip:
            s = stats[i]
            if s.window_clip is not None and (best is None or s.window_err > best[3]):
                best = (s.window_clip, s.window_start, s.window_end, s.window_err)
        out.append(best)
    return out


def _stats(
    names: list[str], frames: torch.Tensor, windows: list[_Window], threshold: float | None
) -> list[ErrorStats]:
    """Max, p95, mean and fraction over ``threshold`` of each column of ``frames`` (F, K)."""
    nan = math.nan
    if frames.shape[0]:
        f = frames.double()
        maxima, p95, means = f.amax(0), torch.quantile(f, 0.95, dim=0), f.mean(0)
        over = fraction_over(f, threshold) if threshold is not None else None
    out = []
    for i, name in enumerate(names):
        window = windows[i] if i < len(windows) else None
        has = frames.shape[0] > 0
        out.append(
            ErrorStats(
                name=name,
                max=float(maxima[i]) if has else nan,
                p95=float(p95[i]) if has else nan,
                mean=float(means[i]) if has else nan,
                frames_over=None if threshold is None else (float(over[i]) if has else nan),
                window_clip=window[0] if window else None,
                window_start=window[1] if window else nan,
                window_end=window[2] if window else nan,
                window_err=window[3] if window else nan,
            )
        )
    return out
