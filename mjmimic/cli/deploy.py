"""``mjmimic export`` and ``mjmimic sim2sim``: a trained policy out of training."""

from __future__ import annotations

from pathlib import Path

from mjmimic.cli.parsing import ArgumentParser
from mjmimic.errors import MjmimicError


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
    args = parser.parse_args(tokens)
    if args.describe:
        from mjmimic.export.metadata import read_policy

        print(read_policy(args.source)[1].describe())
        return 0
    if args.output is None:
        raise MjmimicError("mjmimic export: -o FILE.onnx required")
    from mjmimic.export.onnx_export import export_policy

    meta, err = export_policy(args.source, args.output)
    print(
        f"wrote {args.output}: obs {meta.observation.size} -> actions {len(meta.joint_names)} "
        f"({meta.robot_name}); onnx.checker passed; onnxruntime vs torch: max diff {err:.1e}"
    )
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
    parser.add_argument("--seconds", type=float, default=5.0, help="simulated time (s)")
    parser.add_argument("--start", type=float, default=0.0, help="clip time to start at (s)")
    parser.add_argument("--video", type=Path, help="write an .mp4/.gif, reference beside")
    args = parser.parse_args(tokens)
    from mjmimic.render.video import VIDEO_SUFFIXES

    if args.video is not None and args.video.suffix.lower() not in VIDEO_SUFFIXES:
        raise MjmimicError(f"--video {args.video}: use a name ending in .mp4 or .gif")
    from mjmimic.export.sim2sim import Sim2Sim
    from mjmimic.robots.profiles import robot_from_arg

    robot_file = robot_from_arg(args.robot).source
    runner = Sim2Sim(args.policy, robot_file, args.motion)
    report = runner.run(args.seconds, args.start, args.video)
    print(f"policy:              {args.policy} on {robot_file}")
    reference = runner.reference
    print(
        f"reference:           {reference.name}"
        if reference is not None
        else "reference:           none (the policy observes none; started at the rest pose)"
    )
    print(report.summary())
    if args.video is not None:
        print(f"video:               {args.video}")
    # As 'motion check' and 'robot check': the run completed and found the policy failing.
    return 1 if report.failures else 0
