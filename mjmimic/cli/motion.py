"""``mjmimic motion ...``: inspect, convert, edit, check and render motion clips.

    mjmimic motion info FILE [--robot MJCF]
    mjmimic motion convert IN OUT [--robot MJCF] [--format npz|mimickit|beyondmimic]
    mjmimic motion trim IN OUT (--frames A:B | --time A:B)
    mjmimic motion resample IN OUT --fps F
    mjmimic motion set-loop IN OUT wrap|clamp
    mjmimic motion check FILE --robot MJCF [--json]
    mjmimic motion render FILE --robot MJCF -o out.mp4|out.gif
    mjmimic motion view FILE --robot MJCF [--seconds S]   (a window; needs a display)
    mjmimic motion retarget SRC --robot g1|k1|t1 -o OUT.npz [--fps 30] [--mjcf PATH]
        [--preview side_by_side.mp4|.gif]

Reading options on every command: ``--robot`` (formats whose layout depends on the robot),
``--in-fps`` (CSV), ``--clip`` (multi-clip PHC files). Outputs never replace the input and
are written atomically (a temporary file in the same folder, renamed when complete).
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import json
from collections.abc import Callable
from pathlib import Path

from mjmimic.cli.parsing import ArgumentParser, number
from mjmimic.config.bounds import AT_LEAST_ONE, Bounds, out_of_bounds
from mjmimic.errors import ConfigError, MjmimicError, MotionError
from mjmimic.motion import edit
from mjmimic.motion.formats import WRITE_FORMATS, read_motion, write_motion
from mjmimic.motion.motion import LOOP_MODES, Motion
from mjmimic.paths import atomic_output
from mjmimic.robots.model import RobotModel
from mjmimic.robots.profiles import robot_from_arg

# Frame rates of clips read or written. The ceiling keeps a typo (--fps 30000) from
# resampling a clip into millions of frames; mocap tops out at a few hundred Hz.
FRAME_RATE = Bounds(0, 1000, low_open=True)


def _parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="mjmimic motion", description="inspect, convert and check motions")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)

    def command(
        name: str, help: str, output: bool, robot_required: bool = False
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.add_argument("input", type=Path, help="motion file")
        if output:
            p.add_argument("output", type=Path, help="file to write (never the input)")
            p.add_argument(
                "--format",
                choices=sorted(WRITE_FORMATS),
                help="output format (default: from the extension; .npz mjmimic, .pkl MimicKit)",
            )
        p.add_argument(
            "--robot",
            type=Path,
            required=robot_required,
            help="robot MJCF or profile name (g1, k1, ...)"
            + ("" if robot_required else " (needed by some formats)"),
        )
        p.add_argument("--in-fps", type=number(float, FRAME_RATE), help="frame rate of a CSV input")
        p.add_argument("--clip", help="clip name inside a multi-clip PHC .pkl")
        return p

    command("info", "print fps, frames, duration, loop mode and DoFs of a clip", False)
    command("convert", "write a clip in another format", True)
    trim = command("trim", "keep a frame or time range", True)
    group = trim.add_mutually_exclusive_group(required=True)
    group.add_argument("--frames", help="A:B, frames A to B-1 (Python slice)")
    group.add_argument("--time", help="A:B, seconds, both ends included")
    resample = command("resample", "resample to another frame rate (slerp/lerp)", True)
    resample.add_argument(
        "--fps", type=number(float, FRAME_RATE), required=True, help="new frame rate"
    )
    loop = command("set-loop", "set the loop mode", True)
    loop.add_argument("mode", choices=LOOP_MODES)
    check = command("check", "check a clip against a robot before training", False, True)
    check.add_argument("--json", action="store_true", help="print the findings as JSON")
    render = command("render", "render a clip on the robot to .mp4 or .gif", False, True)
    view = command("view", "play a clip on the robot in MuJoCo's viewer window", False, True)
    # Finite here; positive in _view, in the words 'mjmimic sim2sim --seconds' uses too.
    view.add_argument("--seconds", type=number(float), help="close the window after this long")
    for p in (check, render, view):
        p.add_argument(
            "--fill",
            action="append",
            default=[],
            metavar="JOINT=VALUE",
            help="constant for robot DoFs the clip lacks (glob allowed, repeatable), "
            "e.g. --fill '*wrist*=0' for 23-DoF G1 clips on the 29-DoF G1",
        )
    render.add_argument("-o", "--out", type=Path, required=True, help="video file")
    render.add_argument("--width", type=number(int, AT_LEAST_ONE), default=640)
    render.add_argument("--height", type=number(int, AT_LEAST_ONE), default=480)
    retarget = sub.add_parser(
        "retarget",
        help="retarget a human clip (humanoid .npz, DeepMimic .txt, BVH) to a robot",
        description="retarget a human clip (humanoid .npz, DeepMimic .txt, BVH) to a robot",
    )
    retarget.add_argument("input", type=Path, help="source clip")
    retarget.add_argument("--robot", required=True, help="robot profile: g1, k1, t1, ...")
    retarget.add_argument("--mjcf", type=Path, help="robot MJCF (default: the profile's)")
    retarget.add_argument("-o", "--out", type=Path, required=True, help="output .npz")
    retarget.add_argument(
        "--fps", type=number(float, FRAME_RATE), default=30.0, help="output frame rate (approx.)"
    )
    retarget.add_argument(
        "--source-robot", default="humanoid", help="profile of the robot a non-BVH clip is for"
    )
    retarget.add_argument(
        "--preview", type=Path, help="also write source | robot side by side (.mp4, .gif)"
    )
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "retarget":
        return _retarget(
            args.input, args.robot, args.mjcf, args.out, args.fps, args.source_robot, args.preview
        )
    robot = robot_from_arg(args.robot) if args.robot else None
    if args.command == "info":
        print(_info(args.input, robot, args.in_fps, args.clip))
        return 0
    if args.command == "check":
        fill = _fill_values(args.fill, robot)
        return _check(args.input, robot, args.in_fps, args.clip, args.json, fill)
    motion = read_motion(args.input, robot, fps=args.in_fps, clip=args.clip)
    if args.command in ("render", "view"):
        fill = _fill_values(args.fill, robot)
        motion = motion.align_to_robot(robot, args.input.name, fill)
        if args.command == "view":
            return _view(motion, robot, args.seconds)
        return _render(motion, robot, args.out, args.width, args.height, args.input)
    edits: dict[str, Callable[[Motion], Motion]] = {
        "convert": lambda m: m,
        "trim": lambda m: _trim(m, args.frames, args.time),
        "resample": lambda m: edit.resample(m, args.fps),
        "set-loop": lambda m: edit.set_loop(m, args.mode),
    }
    out = _write_atomic(edits[args.command](motion), args.input, args.output, robot, args.format)
    print(f"wrote {out}")
    return 0


def _info(path: Path, robot: RobotModel | None, fps: float | None, clip: str | None) -> str:
    if path.suffix.lower() == ".bvh":
        from mjmimic.motion.formats.bvh import read_bvh

        skel = read_bvh(path)
        rows = [
            ("kind", "human skeleton (retargeting source)"),
            ("fps", f"{skel.fps:g}"),
            ("frames", str(skel.num_frames)),
            ("duration", f"{skel.duration:.3f} s"),
            ("joints", f"{len(skel.joint_names)}: {', '.join(skel.joint_names)}"),
        ]
    else:
        m = read_motion(path, robot, fps=fps, clip=clip)
        names = ", ".join(m.joint_names) if m.joint_names else "(not stored in the file)"
        rows = [
            ("name", m.name),
            ("fps", f"{m.fps:g}"),
            ("frames", str(m.num_frames)),
            ("duration", f"{m.duration:.3f} s"),
            ("loop", m.loop_mode),
            ("dofs", str(m.num_dofs)),
            ("joint names", names),
        ]
    return "\n".join(f"{k + ':':<13}{v}" for k, v in [("file", str(path)), *rows])


def _fill_values(specs: list[str], robot: RobotModel) -> dict[str, float]:
    """``--fill JOINT=VALUE`` flags (JOINT may be a glob) as {robot DoF name: value}."""
    fill: dict[str, float] = {}
    for spec in specs:
        pattern, sep, text = spec.partition("=")
        try:
            value = float(text)
        except ValueError:
            value = None
        if not sep or value is None or out_of_bounds(value, None):
            raise ConfigError(
                f"--fill {spec!r}: expected JOINT=VALUE with a finite number VALUE, "
                "e.g. --fill '*wrist*=0'"
            )
        names = fnmatch.filter(robot.dof_names, pattern)
        if not names:
            raise ConfigError(
                f"--fill {spec!r}: no DoF of robot {Path(robot.source).name} matches '{pattern}'; "
                f"DoFs are: {', '.join(robot.dof_names)}"
            )
        fill.update(dict.fromkeys(names, value))
    return fill


def _check(
    path: Path,
    robot: RobotModel,
    fps: float | None,
    clip: str | None,
    as_json: bool,
    fill: dict[str, float],
) -> int:
    """Findings as text or JSON; exit 1 with any error. A clip that cannot be read (NaN,
    bad shapes, DoFs a reader cannot map) is one "unreadable" error, so ``--json`` always
    gets a report."""
    from mjmimic.motion.check import Finding, check_motion, format_report

    try:
        motion = read_motion(path, robot, fps=fps, clip=clip)
        if fill:
            motion = motion.align_to_robot(robot, path.name, fill)
    except MotionError as exc:
        findings = [Finding("error", "unreadable", str(exc))]
    else:
        findings = check_motion(motion, robot)
    if as_json:
        print(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        print(format_report(path.name, findings))
    return 1 if any(f.severity == "error" for f in findings) else 0


def _trim(motion: Motion, frames: str | None, times: str | None) -> Motion:
    text = frames if frames is not None else times
    parts = str(text).split(":")
    if len(parts) != 2:
        raise ConfigError(f"--{'frames' if frames else 'time'} must be A:B, found {text!r}")
    try:
        if frames is not None:
            start = int(parts[0]) if parts[0] else 0
            stop = int(parts[1]) if parts[1] else motion.num_frames
            return edit.trim_frames(motion, start, stop)
        t0 = float(parts[0]) if parts[0] else 0.0
        t1 = float(parts[1]) if parts[1] else motion.duration
    except ValueError:
        raise ConfigError(f"--{'frames' if frames else 'time'}: not numbers: {text!r}") from None
    if out_of_bounds([t0, t1], None):
        raise ConfigError(f"--time {text!r}: the times must be finite numbers of seconds")
    return edit.trim_time(motion, t0, t1)


def _write_atomic(
    motion: Motion, source: Path, out: Path, robot: RobotModel | None, fmt: str | None
) -> Path:
    if out.resolve() == source.resolve():
        raise MjmimicError(f"{out}: is the input file; write to another file (inputs are kept)")
    with atomic_output(out) as tmp:
        write_motion(motion, tmp, robot, fmt)
    return out


def _render(
    motion: Motion, robot: RobotModel, out: Path, width: int, height: int, source: Path
) -> int:
    from mjmimic.render.video import write_motion_video

    if out.resolve() == source.resolve():
        raise MjmimicError(f"{out}: is the input file; write to another file (inputs are kept)")
    write_motion_video(motion, robot, out, width, height)
    print(f"wrote {out}")
    return 0


def _view(motion: Motion, robot: RobotModel, seconds: float | None) -> int:
    from mjmimic.render.viewer import view_motion

    if seconds is not None and seconds <= 0:
        raise ConfigError(f"--seconds must be positive, found {seconds}")
    shown = view_motion(motion, robot, seconds)
    print(f"showed {shown} frames of {motion.name} ({motion.num_frames} in the clip)")
    return 0


def _retarget(
    source: Path,
    robot_name: str,
    mjcf: Path | None,
    out: Path,
    fps: float,
    source_robot: str,
    preview: Path | None,
) -> int:
    from mjmimic.retarget.retarget import retarget
    from mjmimic.retarget.source import load_source
    from mjmimic.robots.profiles import resolve_robot

    if out.suffix.lower() != ".npz":
        raise MjmimicError(f"{out}: retargeted clips are written as mjmimic .npz files")
    human_profile, human = resolve_robot(source_robot)
    profile, robot = resolve_robot(robot_name, mjcf)
    if not source.is_file():
        raise MotionError(f"{source.name}: motion file not found at {source}")
    if preview is not None and source.suffix.lower() == ".bvh":
        raise MjmimicError("--preview shows the source on its robot; a BVH skeleton has none")
    keypoints = load_source(source, human_profile, human)
    motion, report = retarget(keypoints, profile, robot, fps)
    _write_atomic(motion, source, out, robot, "npz")
    print(
        f"wrote {out}: {report.frames} frames at {motion.fps:g} fps, scale {report.scale:.3f}, "
        f"keypoint error {report.keypoint_error_cm:.1f} cm, limit violations "
        f"{report.limit_violations}, penetration {report.penetration_cm:.2f} cm, "
        f"stance foot skate {report.skate_cm_s:.1f} cm/s, {report.ms_per_frame:.1f} ms/frame"
    )
    if preview is not None:
        from mjmimic.render.video import write_side_by_side_video

        original = read_motion(source, human).align_to_robot(human, source.name)
        step = max(1, round(keypoints.fps / fps))  # the frames retarget kept
        shown = dataclasses.replace(
            original,
            fps=original.fps / step,
            root_pos=original.root_pos[::step],
            root_rot=original.root_rot[::step],
            dof_pos=original.dof_pos[::step],
        )
        write_side_by_side_video((shown, human), (motion, robot), preview)
        print(f"wrote {preview}")
    return 0
