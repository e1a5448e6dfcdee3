"""``mjmimic plot OUT_DIR``: test return and episode length against samples and time."""

from __future__ import annotations

from pathlib import Path

from mjmimic.errors import MjmimicError
from mjmimic.logging.table_log import read_table

# The log.txt columns the four plots are drawn from.
COLUMNS = ("Samples", "Wall_Time", "Test_Return", "Test_Normalized_Return", "Test_Episode_Length")


def plot_run(out_dir: Path, output: Path | None = None) -> Path:
    log = out_dir / "log.txt"
    if not log.is_file():
        raise MjmimicError(f"{out_dir}: no log.txt (is this an mjmimic output directory?)")
    table = read_table(log)  # a damaged cell or bytes that are not text: one line
    if not any(table.values()):
        raise MjmimicError(f"{log}: no rows yet")
    missing = [c for c in COLUMNS if c not in table]
    if missing:
        raise MjmimicError(
            f"{log}: no column {', '.join(missing)} (columns: {', '.join(table)}); "
            "plot the log.txt of an mjmimic run"
        )
    if len({len(table[c]) for c in COLUMNS}) > 1:  # a header naming a column twice
        raise MjmimicError(f"{log}: the header repeats a column name; plot an mjmimic log.txt")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = np.column_stack([table["Samples"], table["Wall_Time"]])
    tested = ~np.isnan(np.asarray(table["Test_Return"]))
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), constrained_layout=True)
    series = [
        ("Test_Normalized_Return", "normalized test return"),
        ("Test_Episode_Length", "test episode length (steps)"),
    ]
    for row, (key, label) in enumerate(series):
        values = np.asarray(table[key])[tested]
        for col, (x, xlabel) in enumerate(
            [(rows[tested, 0], "samples"), (rows[tested, 1] * 60.0, "wall time (min)")]
        ):
            ax = axes[row, col]
            ax.plot(x, values, marker="o", markersize=3)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
    fig.suptitle(f"mjmimic run: {out_dir}")
    output = output or out_dir / "training_curves.png"
    fig.savefig(output, dpi=110)
    plt.close(fig)
    return output


def main(tokens: list[str]) -> int:
    if len(tokens) not in (1, 3) or (len(tokens) == 3 and tokens[1] != "-o"):
        raise MjmimicError("usage: mjmimic plot OUT_DIR [-o FILE.png]")
    output = Path(tokens[2]) if len(tokens) == 3 else None
    path = plot_run(Path(tokens[0]), output)
    print(f"wrote {path}")
    return 0
