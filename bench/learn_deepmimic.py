"""Learning benchmark: train for a fixed wall-clock budget, report the learning curve.

    python bench/learn_deepmimic.py --task humanoid_walk --minutes 60
    python bench/learn_deepmimic.py --task g1_walk --minutes 120

Runs ``mjmimic train`` on the task's arg file, then writes into the output directory
``curves.png`` (normalized test return, test episode length and tracking errors against
samples and minutes) and ``summary.json`` (final/best normalized return, minutes to reach
the target, end-to-end samples/s next to the raw physics throughput of the same model
measured in the same run).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from physics_baseline import raw_rollout_throughput  # noqa: E402

TASKS = {
    "humanoid_walk": ("args/deepmimic_humanoid_walk.txt", 0.8),
    "humanoid_squat": ("args/deepmimic_humanoid_squat.txt", 0.8),
    "g1_walk": ("args/deepmimic_g1_walk.txt", None),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="humanoid_walk")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="default: bench/results/learn_<task>")
    args = parser.parse_args()
    arg_file, target = TASKS[args.task]
    out = args.out or REPO / "bench" / "results" / f"learn_{args.task}"
    if (out / "checkpoint.pt").exists():
        sys.exit(f"{out} already holds a run; pass another --out")
    cmd = [
        sys.executable,
        "-m",
        "mjmimic",
        "train",
        "--arg_file",
        arg_file,
        "--out_dir",
        str(out),
        "--max_time",
        str(args.minutes),
        "--rand_seed",
        str(args.seed),
    ]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=REPO, check=True)
    summarize(out, target)


def summarize(out: Path, target: float | None) -> dict:
    import yaml

    from mjmimic.logging.table_log import read_table

    table = read_table(out / "log.txt")
    config = yaml.safe_load((out / "config.yaml").read_text())
    every = config["agent"]["iters_per_output"]
    last = len(table["Iteration"]) - 1
    tested = [
        i
        for i, it in enumerate(table["Iteration"])
        if (int(it) % every == 0 or i == last)
        and table["Test_Return"][i] == table["Test_Return"][i]
    ]
    minutes = [table["Wall_Time"][i] * 60.0 for i in tested]
    norm = [table["Test_Normalized_Return"][i] for i in tested]
    reached = next((m for m, v in zip(minutes, norm, strict=True) if target and v >= target), None)
    physics = raw_rollout_throughput(config, config["num_envs"], seconds=5.0)
    steps = table["Samples"][-1]
    summary = {
        "samples": steps,
        "minutes": table["Wall_Time"][-1] * 60.0,
        "final_normalized_return": norm[-1],
        "best_normalized_return": max(norm),
        "target": target,
        "minutes_to_target": reached,
        "final_test_episode_length": table["Test_Episode_Length"][tested[-1]],
        "final_joint_rot_err_rad": table["Test_Joint_Rot_Err"][tested[-1]],
        "final_root_pos_err_m": table["Test_Root_Pos_Err"][tested[-1]],
        "final_key_pos_err_m": table["Test_Key_Pos_Err"][tested[-1]],
        "end_to_end_samples_per_s": steps / (table["Wall_Time"][-1] * 3600.0),
        "raw_physics_steps_per_s": physics,
    }
    summary["ratio_to_raw_physics"] = summary["end_to_end_samples_per_s"] / physics
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    plot_curves(table, tested, out / "curves.png")
    print(json.dumps(summary, indent=2))
    return summary


def plot_curves(table, tested, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = [table["Samples"][i] / 1e6 for i in tested]
    minutes = [table["Wall_Time"][i] * 60.0 for i in tested]
    rows = [
        ("Test_Normalized_Return", "normalized test return"),
        ("Test_Episode_Length", "test episode length (steps)"),
        ("Test_Key_Pos_Err", "key-body position error (m)"),
        ("Test_Joint_Rot_Err", "joint rotation error (rad)"),
    ]
    fig, axes = plt.subplots(len(rows), 2, figsize=(11, 12), constrained_layout=True)
    for r, (key, label) in enumerate(rows):
        values = [table[key][i] for i in tested]
        for c, (x, xlabel) in enumerate([(samples, "samples (M)"), (minutes, "minutes")]):
            axes[r, c].plot(x, values, marker="o", markersize=3)
            axes[r, c].set_xlabel(xlabel)
            axes[r, c].set_ylabel(label)
            axes[r, c].grid(alpha=0.3)
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
