"""``mjmimic doctor``: a post-mortem of a run directory, or a pre-flight of an arg file.

mjmimic doctor output/my_run                 # what went wrong, from the files
mjmimic doctor output/my_run --video blowup.mp4   # and the saved physics states, rendered
mjmimic doctor --arg_file args/x.txt         # check the settings before training
"""

from __future__ import annotations

from pathlib import Path

from mjmimic.errors import MjmimicError

USAGE = """usage: mjmimic doctor RUN_DIR [--video out.mp4|out.gif [--env I]]
       mjmimic doctor --arg_file FILE [train flags]

RUN_DIR: diagnose a finished, stopped or crashed run from log.txt, config.yaml,
health_events.jsonl and checkpoint.pt; writes diagnosis.md and diagnosis.json there.
--video: render the physics states a physics stop saved (physics_history.npz), up to
the last finite one, for saved env I (default 0: the first offender).
--arg_file: pre-flight the run's settings (rates, action bounds, PD gains, each clip
against the robot: DoF count, names and order, joint limits, floor; reward and
observation scales on a few random steps) without training; exit 1 on errors."""


def main(tokens: list[str]) -> int:
    if not tokens or tokens[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if tokens[0].startswith("--"):
        return _preflight(tokens)
    args = _post_mortem_parser().parse_args(tokens)
    if args.env is not None and args.video is None:
        raise MjmimicError("--env picks the env of --video; add --video out.mp4")
    code = _post_mortem(args.run_dir)
    if args.video is not None:
        _physics_video(args.run_dir, args.video, args.env)
    return code


def _post_mortem_parser():
    from mjmimic.cli.parsing import ArgumentParser

    parser = ArgumentParser(prog="mjmimic doctor", usage=USAGE.splitlines()[0][7:])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--video", type=Path, help="render physics_history.npz (.mp4, .gif)")
    parser.add_argument("--env", type=int, help="index into the saved envs (default 0)")
    return parser


def _physics_video(run_dir: Path, video: Path, env_index: int | None) -> None:
    import yaml

    from mjmimic.health.monitor import HISTORY_FILE
    from mjmimic.health.physics_history import saved_poses
    from mjmimic.render.video import write_qpos_video
    from mjmimic.robots.model import RobotModel

    history = run_dir / HISTORY_FILE
    if not history.is_file():
        raise MjmimicError(
            f"{history}: not there; physics states are saved only when a run stops on a "
            "physics problem (health.physics_history > 0)"
        )
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    robot = RobotModel.from_file(config["env"]["char_file"])
    nq = robot.mj_model.nq
    qpos, env_id, dropped = saved_poses(history, env_index or 0, nq)
    if len(qpos) == 0:
        raise MjmimicError(f"{history}: env {env_id} has no finite saved state to show")
    write_qpos_video(robot.source, qpos, video, float(config["engine"]["control_freq"]))
    tail = f"; the last {dropped} saved step(s) are non-finite and not shown" if dropped else ""
    print(f"video:  {video} ({len(qpos)} control steps of env {env_id}{tail})")


def _post_mortem(run_dir: Path) -> int:
    from mjmimic.health.diagnosis import MD_FILE
    from mjmimic.health.doctor import diagnose_run

    if not run_dir.is_dir():
        raise MjmimicError(f"{run_dir}: no such directory")
    report = diagnose_run(run_dir)
    print(f"run:    {run_dir}")
    print(f"status: {report['status']}")
    first = report.get("first_problem")
    if first:
        print(f"first:  [{first['kind']}] iteration {first['iteration']}: {first['message']}")
    for i, cause in enumerate(report["causes"][:3], start=1):
        print(f"cause {i}: {cause['cause']}")
        for change in cause["try"][:2]:
            print(f"   try: {change}")
    print(f"report: {run_dir / MD_FILE}")
    return 0


def _preflight(tokens: list[str]) -> int:
    from mjmimic.cli.train_test import TRAIN_SPEC, run_from_args
    from mjmimic.config import resolve_args
    from mjmimic.errors import MotionError
    from mjmimic.health.preflight import Finding, preflight
    from mjmimic.training.setup import build_env_and_agent

    args = resolve_args(tokens, TRAIN_SPEC)
    run = run_from_args(args, threads=args.threads or 1)
    try:
        env, agent = build_env_and_agent(run, num_envs=min(run.num_envs, 16))
    except MotionError as exc:
        # A clip that does not fit the robot (DoF count, names) stops the env from loading:
        # that is the pre-flight's answer, not a crash of it.
        findings = [Finding("error", "motion", str(exc))]
    else:
        try:
            findings = preflight(env, agent)
        finally:
            env.engine.close()
    for finding in findings:
        print(finding.line())
    worst = {f.level for f in findings}
    summary = "errors" if "error" in worst else "warnings" if "warn" in worst else "no problems"
    print(f"pre-flight: {summary} ({len(findings)} checks)")
    return 1 if "error" in worst else 0
