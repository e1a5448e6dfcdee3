"""``mjmimic test --report DIR``: the per-body tracking report as a heat map and a JSON.

* ``tracking_report.json``: the numbers (``TrackingReport.to_dict``): thresholds, success
  rate, per-body and per-joint stats, and per clip the time bins, frames per bin and each
  body's (and joint's) mean error per bin;
* ``tracking_heatmap.png``: per clip (the worst ``MAX_CLIPS`` clips by their worst body
  error, when there are more), key body x clip time, coloured by the mean position
  error relative to the root; the colour scale turns from green to red at the body
  threshold, cells over it are outlined, and each clip's worst body's worst window is
  boxed.

Both files are written atomically (``paths.atomic_output``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from mjmimic.paths import atomic_output
from mjmimic.training.tracking_report import TrackingReport

JSON_NAME = "tracking_report.json"
HEATMAP_NAME = "tracking_heatmap.png"
MAX_CLIPS = 8


def write_tracking_report(report: TrackingReport, out_dir: Path, title: str = "") -> list[Path]:
    """Write the JSON and the heat map into ``out_dir`` (created); returns their paths."""
    out_dir = Path(out_dir)
    json_path = out_dir / JSON_NAME
    with atomic_output(json_path) as tmp:
        data = {"title": title, **report.to_dict()}
        tmp.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
    png_path = out_dir / HEATMAP_NAME
    with atomic_output(png_path) as tmp:
        _heatmap(report, tmp, title)
    return [json_path, png_path]


def _heatmap(report: TrackingReport, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.patches import Rectangle

    thr = report.criteria.body_threshold
    clips = [c for c in report.clips if int(c.counts.sum()) > 0]
    clips.sort(key=lambda c: -c.worst_err if not math.isnan(c.worst_err) else 0.0)
    shown = clips[:MAX_CLIPS]
    names = report.body_names
    rows = max(1, len(shown))
    height = sum(1.3 + 0.32 * max(len(names), 1) for _ in range(rows)) + 0.9
    fig, axes = plt.subplots(rows, 1, figsize=(11, height), squeeze=False, layout="constrained")
    means = [float(np.nanmax(c.body_mean.numpy())) for c in shown if c.body_mean.numel()]
    peak = max([m for m in means if not math.isnan(m)], default=thr)
    norm = TwoSlopeNorm(vmin=0.0, vcenter=thr, vmax=max(peak, 2.0 * thr))
    cmap = plt.get_cmap("RdYlGn_r").with_extremes(bad="0.85")
    mesh = None
    for ax, clip in zip(axes[:, 0], shown, strict=False):
        values = clip.body_mean.numpy().T  # (K, bins)
        bins = values.shape[1]
        edges = np.arange(bins + 1) * clip.bin_width
        edges[-1] = max(clip.duration, edges[-2])
        mesh = ax.pcolormesh(
            edges, np.arange(len(names) + 1), np.ma.masked_invalid(values), cmap=cmap, norm=norm
        )
        over = np.nan_to_num(values, nan=0.0) > thr
        for k, b in zip(*np.nonzero(over), strict=True):
            ax.add_patch(
                Rectangle((edges[b], k), edges[b + 1] - edges[b], 1, fill=False, lw=0.4, ec="0.15")
            )
        worst = max(clip.body_stats, key=lambda s: s.max if not math.isnan(s.max) else -1.0)
        k = names.index(worst.name)
        if worst.window_clip is not None:
            ax.add_patch(
                Rectangle(
                    (worst.window_start, k),
                    worst.window_end - worst.window_start,
                    1,
                    fill=False,
                    lw=2.0,
                    ec="black",
                    ls="--",
                )
            )
        ax.set_yticks(np.arange(len(names)) + 0.5, names)
        ax.set_ylim(len(names), 0)
        ax.set_xlim(0.0, edges[-1])
        ax.set_xlabel("clip time (s)")
        rate = f"{clip.successes}/{clip.episodes}" if clip.episodes else "no finished"
        window = (
            f", worst {report.criteria.window:g} s window {worst.window_start:.2f}-"
            f"{worst.window_end:.2f} s (dashed)"
            if worst.window_clip is not None
            else ""
        )
        ax.set_title(
            f"{clip.name}\nsuccess {rate} episodes; worst body {worst.name}: max "
            f"{worst.max:.3f} m, {worst.frames_over:.0%} of frames > {thr:g} m{window}",
            fontsize=9,
            loc="left",
        )
    if not shown:
        axes[0, 0].text(0.5, 0.5, "no frames recorded", ha="center", va="center")
        axes[0, 0].set_axis_off()
    if mesh is not None:
        bar = fig.colorbar(mesh, ax=axes[:, 0].tolist(), fraction=0.04, pad=0.01)
        bar.set_label("mean position error relative to the root (m)")
        bar.ax.axhline(thr, color="black", lw=2.0)
        ticks = sorted({0.0, thr, *[t for t in bar.get_ticks() if 0 <= t <= norm.vmax]})
        bar.set_ticks(ticks)
        bar.set_ticklabels([f"{t:.2f}" + (" threshold" if t == thr else "") for t in ticks])
    more = f" ({len(shown)} of {len(clips)} clips, worst first; all in {JSON_NAME})"
    suptitle = (title + "\n" if title else "") + (
        f"key-body tracking error per clip time; success rate {report.success_rate:.0%} "
        f"of {report.episodes} episodes" + (more if len(clips) > len(shown) else "")
    )
    fig.suptitle(suptitle, fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
