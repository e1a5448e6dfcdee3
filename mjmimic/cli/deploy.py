"""``mjmimic export`` and ``mjmimic sim2sim``: a trained policy out of training."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mjmimic.cli.parsing import ArgumentParser, number
from mjmimic.config.bounds import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE
from mjmimic.errors import MjmimicError

if TYPE_CHECKING:
    from mjmimic.export.sim2sim import Sim2Sim
    from mjmimic.export.training_comparison import TrainingNumbers


def export(tokens: list[str]) -> int:
    parser = ArgumentParser(
        prog="mjmimic export",
        description="Export a trained policy to ONNX with deployment metadata, or describe one.",
    )
    parser.add_argument(
        "source", type=Path, help="run directory or model.pt (or, with --describe, a policy .onnx)"
    )
    parser.add_argument("-o", "--output", type=Path, help="the .onnx file to write")
    parser.add_argument(
        "--describe", action="store_true", help="print the metadata of an exported policy"
    )
    parser.add_argument(
        "--clip",
        help="a tracking policy: the clip its graph replays for time_step (default: the first)",
    )
    parser.add_argument(
        "--scene_mjcf",
        type=Path,
        help="also write the robot as trained (armature, joint properties, PD actuators, "
        "floor, solver options: sim2sim's scene) as an MJCF file, for deploy scripts that "
        "read one (examples/mjlab_style_deploy.py)",
    )
    args = parser.parse_args(tokens)
    if args.describe:
        from mjmimic.export.metadata import read_policy

        print(read_policy(args.source)[1].describe())
        return 0
    if args.output is None:
        raise MjmimicError("mjmimic export: -o FILE.onnx required")
    from mjmimic.export.onnx_export import export_policy

    meta, err = export_policy(args.source, args.output, args.clip, args.scene_mjcf)
    print(
        f"wrote {args.output}: obs {meta.observation.size} -> actions {len(meta.joint_names)} "
        f"({meta.robot_name}); onnx.checker passed; onnxruntime vs torch: max diff {err:.1e}"
    )
    if args.scene_mjcf is not None:
        print(f"wrote {args.scene_mjcf}: the robot as trained (sim2sim's scene)")
    print(f"'mjmimic export --describe {args.output}' shows the metadata")
    return 0


def sim2sim(tokens: list[str]) -> int:
    parser = ArgumentParser(
        prog="mjmimic sim2sim",
        description="Run an exported ONNX policy in a fresh MuJoCo simulation (metadata only). "
        "Exits with 1 when a control step failed (a non-finite action or unstable physics).",
    )
    parser.add_argument("policy", type=Path, help="policy .onnx written by 'mjmimic export'")
    parser.add_argument(
        "--robot", required=True, help="the robot's MJCF file or profile name (g1, k1, ...)"
    )
    parser.add_argument(
        "--motion", help="an embedded clip's name or a motion file (default: first embedded clip)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=5.0,
        help="simulated time (s); with --episodes, the time limit of a policy whose metadata "
        "has no episode_length",
    )
    parser.add_argument("--start", type=float, help="clip time to start at (s; default 0)")
    parser.add_argument("--video", type=Path, help="write an .mp4/.gif, reference beside")
    parser.add_argument(
        "--episodes",
        type=number(int, AT_LEAST_ONE),
        help="run N episodes from random clips (by weight) and start times; report the "
        "success rate, falls by cause and mean tracking errors",
    )
    parser.add_argument(
        "--seed",
        type=number(int, NON_NEGATIVE),
        default=0,
        help="seed of the episodes' and --randomize's draws",
    )
    parser.add_argument("--json", type=Path, help="with --episodes: also write the numbers here")
    parser.add_argument(
        "--training_run",
        type=Path,
        help="with --episodes: the run directory (or model.pt) the policy came from; its env "
        "runs as many test episodes (randomized as trained with --randomize, else nominal) "
        "and its numbers are printed beside sim2sim's",
    )
    parser.add_argument(
        "--control_freq",
        type=number(float, POSITIVE),
        help="control rate (Hz); default and only safe value: the trained rate",
    )
    parser.add_argument(
        "--allow_control_freq_change",
        action="store_true",
        help="run at a --control_freq other than the trained one (warns)",
    )
    parser.add_argument(
        "--randomize",
        action="store_true",
        help="each episode a new robot drawn from the training ranges (friction, mass, "
        "centre of mass, PD gains, encoder bias, latency), with its pushes and observation "
        "noise",
    )
    parser.add_argument(
        "--randomization_config",
        type=Path,
        help="with --randomize: a YAML with domain_randomization/obs_noise keys (an env YAML "
        "works) to draw from instead: for a policy trained without randomization",
    )
    args = parser.parse_args(tokens)
    _check_sim2sim_flags(args)
    from mjmimic.export.metadata import read_policy
    from mjmimic.export.sim2sim import Sim2Sim
    from mjmimic.export.sim2sim_randomization import randomization_source
    from mjmimic.robots.profiles import robot_from_arg

    ranges = None
    if args.randomize:
        meta = read_policy(args.policy)[1]
        ranges = randomization_source(meta, args.policy, args.randomization_config)
    robot_file = robot_from_arg(args.robot).source
    runner = Sim2Sim(
        args.policy,
        robot_file,
        args.motion,
        args.control_freq,
        args.allow_control_freq_change,
        ranges,
        args.seed,
    )
    if runner.rate_warning is not None:
        print(f"mjmimic: warning: {runner.rate_warning}", file=sys.stderr)
    if args.episodes is not None:
        return _episodes(runner, args)
    report = runner.run(args.seconds, args.start or 0.0, args.video)
    print(f"policy:              {args.policy} on {robot_file}")
    reference = runner.reference
    print(
        f"reference:           {reference.name}"
        if reference is not None
        else "reference:           none (the policy observes none; started at the rest pose)"
    )
    if runner.randomization is not None:
        print(f"randomization:       {runner.randomization.ranges.describe()}")
    print(report.summary())
    if args.video is not None:
        print(f"video:               {args.video}")
    # As 'motion check' and 'robot check': the run completed and found the policy failing.
    return 1 if report.failures else 0


def _check_sim2sim_flags(args: argparse.Namespace) -> None:
    """Flags that do not go together, refused before anything is loaded."""
    from mjmimic.render.video import VIDEO_SUFFIXES

    if args.video is not None and args.video.suffix.lower() not in VIDEO_SUFFIXES:
        raise MjmimicError(f"--video {args.video}: use a name ending in .mp4 or .gif")
    if args.randomization_config is not None and not args.randomize:
        raise MjmimicError(
            "--randomization_config gives the ranges of --randomize; add --randomize"
        )
    if args.episodes is None:
        for flag, value in (("--json", args.json), ("--training_run", args.training_run)):
            if value is not None:
                raise MjmimicError(f"{flag} is for the numbers of --episodes N; add --episodes")
        return
    for flag, value in (("--video", args.video), ("--start", args.start)):
        if value is not None:
            raise MjmimicError(
                f"{flag} is for one run; episodes draw their own start times (drop {flag} "
                "or --episodes)"
            )


def _training_numbers(runner: Sim2Sim, args: argparse.Namespace) -> TrainingNumbers:
    """``--training_run``: the training env's episodes (first, so that a run the policy did
    not come from is refused before anything is printed)."""
    from mjmimic.export.onnx_export import find_model_file
    from mjmimic.export.training_comparison import training_numbers

    model_file = find_model_file(args.training_run)
    return training_numbers(
        model_file, args.policy, runner.meta, args.episodes, args.seed, args.randomize
    )


def _print_training_side(theirs: TrainingNumbers, numbers: dict) -> dict:
    """The training env's numbers printed beside sim2sim's; them for ``--json``."""
    from dataclasses import asdict

    model_file = theirs.model_file
    setting = "as trained" if theirs.randomized else "off"

    def err(value: float | None, unit: str) -> str:
        return "-" if value is None else f"{value:.4f} {unit}"

    print(f"training env:        {model_file} (randomization, pushes and noise {setting})")
    print(f"                     {'sim2sim':<12} training env")
    print(
        f"ran full length:     {numbers['success_rate']:<12.3f} {theirs.full_length_rate:.3f} "
        f"({numbers['episodes']} and {theirs.episodes} episodes)"
    )
    rows = (
        ("root position err", numbers["root_pos_err_mean"], theirs.root_pos_err, "m"),
        ("joint rotation err", numbers["joint_rot_err_mean"], theirs.joint_rot_err, "rad"),
    )
    for label, ours, trained, unit in rows:
        print(f"{label + ':':<21}{err(ours, unit):<12} {err(trained, unit)}")
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(theirs).items()}


def _episodes(runner: Sim2Sim, args: argparse.Namespace) -> int:
    """``--episodes N``: print (and with ``--json`` write) the episodes' numbers."""
    from mjmimic.export.episodes import run_episodes

    theirs = _training_numbers(runner, args) if args.training_run is not None else None
    report = run_episodes(runner, args.episodes, args.seed, args.seconds)
    print(f"policy:              {args.policy} on {runner.robot_file}")
    clips = runner.meta.reference_motions
    if runner.reference is None:
        source = "none (the policy observes none; started at the rest pose)"
    elif args.motion is not None or len(clips) == 1:
        source = runner.reference.name
    else:
        source = f"{len(clips)} embedded clips, drawn by weight"
    print(f"reference:           {source}")
    print(report.summary())
    numbers = report.numbers()
    if theirs is not None:
        numbers["training_env"] = _print_training_side(theirs, numbers)
    if args.json is not None:
        document = {"policy": str(args.policy), "robot": str(runner.robot_file), **numbers}
        try:
            args.json.write_text(json.dumps(document, indent=2) + "\n")
        except OSError as exc:
            raise MjmimicError(f"--json {args.json}: cannot write ({exc.strerror})") from None
        print(f"json:                {args.json}")
    return 1 if numbers["failed_steps"] else 0
