"""Learning benchmark: train for a fixed wall-clock budget, report the learning curve.

    python bench/learn_deepmimic.py --task humanoid_walk --minutes 60
    python bench/learn_deepmimic.py --task g1_walk --minutes 120
    python bench/learn_deepmimic.py --task k1_walk --minutes 30
    python bench/learn_deepmimic.py --task g1_kick --minutes 30    # also g1_jump, g1_balance
    python bench/learn_deepmimic.py --task add_k1_walk --minutes 60  # add_humanoid_walk, amp_...
    python bench/learn_deepmimic.py --summarize bench/results/learn_g1_walk --task g1_walk

Runs ``mjmimic train`` on the task's arg file, then writes into the output directory
``curves.png`` (normalized test return, test episode length and tracking errors against
samples and minutes) and ``summary.json`` (final/best normalized return, minutes to reach
the return target and the episode-length target, success rate and worst key-body error
judged on the worst body (docs/evaluation.md), end-to-end samples/s next to the raw
physics throughput of the same model measured in the same run). The K1 tasks first
retarget the DeepMimic walk onto the K1 (no K1 clips exist), as their config headers say.

The AMP and ADD tasks run the same way. ADD's test return is the DeepMimic tracking
return (a side metric: the ADD learner is not rewarded with it); an AMP run has no
tracking numbers (its policy imitates a style, not the clip in time), so its summary
reports the episode length and the discriminator reward (``Disc_Reward_Mean``, first and
last iteration) instead.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from physics_baseline import raw_rollout_throughput  # noqa: E402


@dataclass(frozen=True)
class Task:
    arg_file: str
    return_target: float | None = None  # normalized test return
    # Test episode length as a fraction of the full length (the steps each test episode
    # lasts without falling: the time limit, or the rest of a non-looping clip).
    length_target: float | None = None
    # Share of test episodes that ran their full length (none ended early).
    full_length_target: float | None = None
    # Test success rate: every key body within the threshold in every frame, no fall.
    success_target: float | None = None
    # Fraction of test frames in which the worst key body is within the threshold.
    frames_target: float | None = None
    # A clip to train on instead of the config's (same config otherwise: the benchmark
    # writes a copy of the env YAML with only motion_file changed into the run folder).
    motion_file: str | None = None
    # The task's reference clip (repo-relative) and the mjmimic command that writes it
    # there (``-o clip`` is added) when it is missing.
    clip: str | None = None
    make_clip: tuple[str, ...] = ()
    # Other env keys to change in that copy: (key, value) pairs (a value of None unsets).
    env_changes: tuple[tuple[str, object], ...] = ()


G1_ASAP = "${MJMIMIC_DATA}/motions/g1_asap/npz/0-motions_raw_tairantestbed_smpl_video_"
G1_DYNAMIC = "args/deepmimic_g1_dynamic.txt"
K1_WALK = "output/motions/humanoid3d_walk_k1.npz"
MAKE_K1_WALK = (
    "motion",
    "retarget",
    "${MJMIMIC_DATA}/motions/deepmimic/humanoid3d_walk.txt",
    "--robot",
    "k1",
)

TASKS = {
    "humanoid_walk": Task("args/deepmimic_humanoid_walk.txt", return_target=0.8),
    "humanoid_squat": Task("args/deepmimic_humanoid_squat.txt", return_target=0.8),
    "g1_walk": Task("args/deepmimic_g1_walk.txt", length_target=0.9),
    # Dynamic clips, one config (issue: imitation the numbers cannot fake).
    "g1_kick": Task(G1_DYNAMIC, success_target=0.9, frames_target=0.9),
    "g1_jump": Task(
        G1_DYNAMIC,
        success_target=0.9,
        frames_target=0.9,
        motion_file=G1_ASAP + "jump_forward_level2_filter_amass.npz",
    ),
    "g1_balance": Task(
        G1_DYNAMIC,
        success_target=0.9,
        frames_target=0.9,
        motion_file=G1_ASAP + "single_foot_balance_level3_filter_amass.npz",
    ),
    "k1_walk": Task(
        "args/deepmimic_k1_walk.txt", length_target=0.9, clip=K1_WALK, make_clip=MAKE_K1_WALK
    ),
    # Adversarial imitation (issue: AMP and ADD).
    "add_k1_walk": Task("args/add_k1.txt", length_target=0.9, clip=K1_WALK, make_clip=MAKE_K1_WALK),
    "add_humanoid_walk": Task("args/add_humanoid.txt", return_target=0.7),
    "amp_humanoid_walk": Task("args/amp_humanoid.txt", length_target=0.9),
    # Deployable tracking (issue: whole-body tracking that transfers): three G1 clips,
    # randomization and pushes on; and the same with both off, the comparison for sim2sim.
    "tracking_g1": Task("args/tracking_g1.txt", full_length_target=0.95),
    "tracking_g1_nominal": Task(
        "args/tracking_g1.txt",
        full_length_target=0.95,
        env_changes=(("domain_randomization", None), ("obs_noise", {})),
    ),
}


def make_clip(task: Task) -> None:
    if task.clip is None or (REPO / task.clip).exists():
        return
    from mjmimic.paths import expand_path

    args = [*(expand_path(a) for a in task.make_clip), "-o", task.clip]
    subprocess.run([sys.executable, "-m", "mjmimic", *args], cwd=REPO, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="humanoid_walk")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="default: bench/results/learn_<task>")
    parser.add_argument(
        "--summarize", type=Path, metavar="RUN_DIR", help="only (re)write a run's summary"
    )
    args = parser.parse_args()
    task = TASKS[args.task]
    if args.summarize:
        summarize(args.summarize, task)
        return
    out = args.out or REPO / "bench" / "results" / f"learn_{args.task}"
    if (out / "checkpoint.pt").exists():
        sys.exit(f"{out} already holds a run; pass another --out")
    make_clip(task)
    extra = env_with_clip(task, out) if task.motion_file or task.env_changes else []
    cmd = [
        sys.executable,
        "-m",
        "mjmimic",
        "train",
        "--arg_file",
        task.arg_file,
        "--out_dir",
        str(out),
        "--max_time",
        str(args.minutes),
        "--rand_seed",
        str(args.seed),
        *extra,
    ]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=REPO, check=True)
    summarize(out, task)


def env_with_clip(task: Task, out: Path) -> list[str]:
    """``--env_config`` of a copy of the task's env YAML with ``motion_file`` and the
    task's ``env_changes`` replaced. A relative motion file is made absolute: the copy
    lives beside the run folder (``<run>.env.yaml``; ``mjmimic train`` refuses an out_dir
    that holds files and no checkpoint), not next to the original."""
    import yaml

    from mjmimic.config.args import read_arg_file

    tokens = [t.text for t in read_arg_file(REPO / task.arg_file)]
    env_file = REPO / tokens[tokens.index("--env_config") + 1]
    data = yaml.safe_load(env_file.read_text())
    env = data["env"]
    if task.motion_file:
        env["motion_file"] = task.motion_file
    elif not env["motion_file"].startswith(("/", "$")):
        env["motion_file"] = str(env_file.parent / env["motion_file"])
    for key, value in task.env_changes:
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    changed = ", ".join(["motion_file", *(k for k, _ in task.env_changes)])
    out.parent.mkdir(parents=True, exist_ok=True)
    copy = out.parent / f"{out.name}.env.yaml"
    copy.write_text(
        f"# {env_file.relative_to(REPO)} with {changed} replaced by bench/learn_deepmimic.py\n"
        + yaml.safe_dump(data, sort_keys=False)
    )
    return ["--env_config", str(copy)]


def first_minute(minutes: list[float], values: list[float], target: float | None):
    """The first tested minute at which ``values`` reached ``target`` (None if never)."""
    if target is None:
        return None
    return next((m for m, v in zip(minutes, values, strict=True) if v >= target), None)


def summarize(out: Path, task: Task) -> dict:
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
    # AMP has no best possible return (its env reward is 0): no normalized return.
    norm = (
        [table["Test_Normalized_Return"][i] for i in tested]
        if "Test_Normalized_Return" in table
        else None
    )
    # Runs logged before the column existed (the humanoid walk run) have no fractions.
    fractions = table.get("Test_Episode_Length_Fraction")
    length = [fractions[i] for i in tested] if fractions else None
    rates = table.get("Test_Full_Length_Rate")
    full = [rates[i] for i in tested] if rates else None
    # The raw physics number belongs to the run: re-summarizing later (perhaps on a busy
    # machine) keeps the one measured when the run ended.
    previous = out / "summary.json"
    if previous.exists():
        physics = json.loads(previous.read_text())["raw_physics_steps_per_s"]
    else:
        physics = raw_rollout_throughput(config, config["num_envs"], seconds=5.0)
    steps = table["Samples"][-1]
    within = _within(table, tested)
    summary = {
        "samples": steps,
        "minutes": table["Wall_Time"][-1] * 60.0,
        "final_normalized_return": norm[-1] if norm else None,
        "best_normalized_return": max(norm) if norm else None,
        "target": task.return_target,
        "minutes_to_target": first_minute(minutes, norm, task.return_target) if norm else None,
        "final_test_episode_length": table["Test_Episode_Length"][tested[-1]],
        "final_episode_length_fraction": length[-1] if length else None,
        "best_episode_length_fraction": max(length) if length else None,
        "episode_length_target": task.length_target,
        "minutes_to_episode_length_target": first_minute(minutes, length, task.length_target)
        if length
        else None,
        "final_full_length_rate": full[-1] if full else None,
        "best_full_length_rate": max(full) if full else None,
        "full_length_target": task.full_length_target,
        "minutes_to_full_length_target": first_minute(minutes, full, task.full_length_target)
        if full
        else None,
        # Tracking tasks only (not AMP).
        "final_joint_rot_err_rad": _final(table, "Test_Joint_Rot_Err", tested),
        "final_root_pos_err_m": _final(table, "Test_Root_Pos_Err", tested),
        "final_key_pos_err_m": _final(table, "Test_Key_Pos_Err", tested),
        # Judged on the worst key body (docs/evaluation.md); runs logged before the columns
        # existed have none.
        "final_success_rate": _final(table, "Test_Success_Rate", tested),
        "best_success_rate": _best(table, "Test_Success_Rate", tested),
        "success_target": task.success_target,
        "minutes_to_success_target": first_minute(
            minutes, [table["Test_Success_Rate"][i] for i in tested], task.success_target
        )
        if "Test_Success_Rate" in table
        else None,
        "final_worst_body_err_m": _final(table, "Test_Worst_Body_Err", tested),
        "final_worst_body_frames_within": _within(table, tested)[-1] if within else None,
        "frames_target": task.frames_target,
        "minutes_to_frames_target": first_minute(minutes, within, task.frames_target)
        if within
        else None,
        # AMP/ADD: the discriminator's reward per step, at the first and last iteration.
        "first_disc_reward_mean": table["Disc_Reward_Mean"][0]
        if "Disc_Reward_Mean" in table
        else None,
        "final_disc_reward_mean": table["Disc_Reward_Mean"][-1]
        if "Disc_Reward_Mean" in table
        else None,
        "end_to_end_samples_per_s": steps / (table["Wall_Time"][-1] * 3600.0),
        "raw_physics_steps_per_s": physics,
    }
    summary["ratio_to_raw_physics"] = summary["end_to_end_samples_per_s"] / physics
    # A task without a measure logs it as NaN (AMP: no tracking): null, not NaN, in JSON.
    summary = {k: None if isinstance(v, float) and v != v else v for k, v in summary.items()}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    plot_curves(table, tested, out / "curves.png")
    print(json.dumps(summary, indent=2))
    return summary


def _final(table, key: str, tested: list[int]) -> float | None:
    return table[key][tested[-1]] if key in table else None


def _within(table, tested: list[int]) -> list[float]:
    """Per test: the fraction of frames in which the worst key body is within threshold."""
    over = table.get("Test_Worst_Body_Frames_Over")
    return [1.0 - over[i] for i in tested] if over else []


def _best(table, key: str, tested: list[int]) -> float | None:
    return max(table[key][i] for i in tested) if key in table else None


def plot_curves(table, tested, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = [table["Samples"][i] / 1e6 for i in tested]
    minutes = [table["Wall_Time"][i] * 60.0 for i in tested]
    rows = [
        ("Test_Normalized_Return", "normalized test return"),
        ("Test_Episode_Length", "test episode length (steps)"),
        ("Test_Episode_Length_Fraction", "test episode length / full length"),
        ("Test_Full_Length_Rate", "episodes that ran their full length"),
        ("Test_Success_Rate", "success rate (worst body)"),
        ("Test_Worst_Body_Err", "worst key-body error (m, max)"),
        ("Test_Key_Pos_Err", "key-body position error (m)"),
        ("Test_Joint_Rot_Err", "joint rotation error (rad)"),
        ("Disc_Reward_Mean", "discriminator reward per step"),
        ("Disc_Agent_Acc", "discriminator accuracy on the agent"),
    ]
    # Runs logged before a column existed, and measures a task lacks (AMP: no tracking
    # numbers, all NaN): no empty panel.
    rows = [
        r for r in rows if r[0] in table and any(table[r[0]][i] == table[r[0]][i] for i in tested)
    ]
    fig, axes = plt.subplots(len(rows), 2, figsize=(11, 2.9 * len(rows)), constrained_layout=True)
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
