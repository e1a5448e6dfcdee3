"""sim2sim benchmark of a trained tracking run: the training env's numbers beside sim2sim's,
nominal and under randomization, and a plain mjlab-style deploy script beside sim2sim.

    python bench/sim2sim_tracking.py bench/results/learn_tracking_g1_kl --episodes 200
    python bench/sim2sim_tracking.py bench/results/learn_tracking_g1_nominal \\
        --randomization_config configs/envs/tracking_g1.yaml

Writes ``<run>/sim2sim/summary.json`` and ``summary.md`` (and the exported policies):

1. **training env**: the run's own env (its randomization, pushes and noise as trained)
   and the same env with all of them off, ``--episodes`` deterministic test episodes
   each (``export/training_comparison.py``, what ``sim2sim --training_run`` prints);
2. **sim2sim**: the ONNX alone (``export/sim2sim.py``), the same number of episodes with
   random clips and starts, on the nominal robot and with ``--randomize`` (a new robot per
   episode from the training ranges, or from ``--randomization_config`` for a run that
   trained without);
3. **mjlab-style script** (``examples/mjlab_style_deploy.py``, its own process, mjlab's
   keys only) on each clip the graph can replay (one export per clip), from evenly spaced
   start steps, next to sim2sim's nominal episodes from the same starts: the share that
   ran their full length in each, and in how many the two agree.

"Ran its full length" = no failure rule fired before the clip's end (or the 10 s limit).
The error columns are means over episodes (training) or control steps (sim2sim) of the
root position error and the mean joint rotation error.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "examples" / "mjlab_style_deploy.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a tracking run directory (model.pt)")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--randomization_config", type=Path)
    parser.add_argument("--script_starts", type=int, default=8, help="per clip")
    args = parser.parse_args()
    out = args.run / "sim2sim"
    out.mkdir(exist_ok=True)
    policies = export_each_clip(args.run, out)
    results = {
        "run": str(args.run),
        "episodes": args.episodes,
        "seed": args.seed,
        "training_env": training_env(args.run, policies[0], args.episodes, args.seed, True),
        "training_env_nominal": training_env(
            args.run, policies[0], args.episodes, args.seed, False
        ),
        "sim2sim_nominal": sim2sim(policies[0], args.episodes, args.seed, None, False),
        "sim2sim_randomized": sim2sim(
            policies[0], args.episodes, args.seed, args.randomization_config, True
        ),
        "mjlab_script": script_vs_sim2sim(policies, args.script_starts, out),
    }
    (out / "summary.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    (out / "summary.md").write_text(table + "\n")
    print(table)


def export_each_clip(run: Path, out: Path) -> list[Path]:
    """One ONNX per clip of the run (the graph replays that clip); the first is the
    default export, whose metadata names the run's clips."""
    from mjmimic.export.metadata import read_policy

    def export(path: Path, *clip: str) -> Path:
        cmd = [sys.executable, "-m", "mjmimic", "export", str(run), "-o", str(path), *clip]
        subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
        return path

    first = export(out / "policy_clip0.onnx")
    names = [c.name for c in read_policy(first)[1].reference_motions]
    rest = [export(out / f"policy_clip{i}.onnx", "--clip", names[i]) for i in range(1, len(names))]
    return [first, *rest]


def training_env(run_dir: Path, policy: Path, episodes: int, seed: int, randomized: bool):
    from dataclasses import asdict

    from mjmimic.export.metadata import read_policy
    from mjmimic.export.training_comparison import training_numbers

    meta = read_policy(policy)[1]
    numbers = training_numbers(run_dir / "model.pt", policy, meta, episodes, seed, randomized)
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(numbers).items()}


def sim2sim(policy: Path, episodes: int, seed: int, config: Path | None, randomize: bool):
    from mjmimic.export.episodes import run_episodes
    from mjmimic.export.metadata import read_policy
    from mjmimic.export.sim2sim import Sim2Sim
    from mjmimic.export.sim2sim_randomization import randomization_source
    from mjmimic.robots.profiles import robot_from_arg

    meta = read_policy(policy)[1]
    ranges = randomization_source(meta, policy, config) if randomize else None
    sim = Sim2Sim(policy, robot_from_arg("g1").source, randomization=ranges, seed=seed)
    numbers = run_episodes(sim, episodes, seed, 10.0).numbers()
    numbers.pop("runs")
    return numbers


def script_vs_sim2sim(policies: list[Path], starts: int, out: Path) -> dict:
    """Per clip: the script and sim2sim (nominal) from the same evenly spaced starts."""
    from mjmimic.export.episodes import EpisodesReport, run_episode
    from mjmimic.export.metadata import read_policy
    from mjmimic.export.sim2sim import Sim2Sim, write_scene_mjcf
    from mjmimic.robots.profiles import robot_from_arg

    g1 = Path(robot_from_arg("g1").source)
    mjcf = out / "g1_as_trained.xml"
    write_scene_mjcf(g1, read_policy(policies[0])[1], mjcf)
    runs = []
    for policy in policies:
        meta = read_policy(policy)[1]
        clip, steps = meta.reference_outputs.clip, meta.reference_outputs.num_steps
        sim = Sim2Sim(policy, g1, clip)
        dt = sim.control_dt
        for start in [round(i * (steps - 2) / starts) for i in range(starts)]:
            planned = steps - 1 - start
            ours = run_episode(sim, start * dt, planned, EpisodesReport(0, 1 / dt))
            theirs = run_script(policy, mjcf, start, planned * dt, out)
            runs.append(
                {
                    "clip": clip,
                    "start_step": start,
                    "planned_steps": planned,
                    "sim2sim_steps": ours.steps,
                    "sim2sim_end": ours.end,
                    "script_steps": theirs["control_steps"],
                    "script_end": theirs["cause"],
                }
            )
    full_ours = [r["sim2sim_end"] is None for r in runs]
    full_theirs = [r["script_end"] is None for r in runs]
    return {
        "episodes": len(runs),
        "sim2sim_full_length_rate": sum(full_ours) / len(runs),
        "script_full_length_rate": sum(full_theirs) / len(runs),
        "agree": sum(a == b for a, b in zip(full_ours, full_theirs, strict=True)),
        "runs": runs,
    }


def run_script(policy: Path, mjcf: Path, start: int, seconds: float, out: Path) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", dir=out) as tmp:
        cmd = [sys.executable, str(SCRIPT), str(policy), "--mjcf", str(mjcf)]
        cmd += ["--start_step", str(start), "--seconds", f"{seconds:.6f}", "--json", tmp.name]
        subprocess.run(cmd, check=True, capture_output=True)
        return json.loads(Path(tmp.name).read_text())


def markdown(r: dict) -> str:
    def fmt(x, spec=".3f"):
        return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)

    def falls(n: dict) -> str:
        return ", ".join(f"{k} {v}" for k, v in n["falls"].items()) or "none"

    rows = [
        "| where | episodes | ran full length | falls by cause | root pos err (m) "
        "| joint rot err (rad) |",
        "|---|---|---|---|---|---|",
    ]
    training = (
        ("training_env", "training env, as trained"),
        ("training_env_nominal", "training env, randomization and noise off"),
    )
    for key, label in training:
        t = r[key]
        rows.append(
            f"| {label} | {t['episodes']} | {fmt(t['full_length_rate'])} | - | "
            f"{fmt(t['root_pos_err'], '.4f')} | {fmt(t['joint_rot_err'], '.4f')} |"
        )
    for key, label in (
        ("sim2sim_nominal", "sim2sim, nominal"),
        ("sim2sim_randomized", "--randomize"),
    ):
        s = r[key]
        rows.append(
            f"| {label} | {s['episodes']} | {fmt(s['success_rate'])} | {falls(s)} | "
            f"{fmt(s['root_pos_err_mean'], '.4f')} | {fmt(s['joint_rot_err_mean'], '.4f')} |"
        )
    m = r["mjlab_script"]
    rows.append(
        f"\nmjlab-style script vs sim2sim (nominal), {m['episodes']} episodes from the same "
        f"starts on the graphs' clips: ran full length {fmt(m['script_full_length_rate'])} vs "
        f"{fmt(m['sim2sim_full_length_rate'])}; the same outcome in {m['agree']} of "
        f"{m['episodes']}."
    )
    if r["sim2sim_randomized"].get("randomization"):
        rows.append(f"\nrandomization: {r['sim2sim_randomized']['randomization']}")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
