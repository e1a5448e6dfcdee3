"""``mjmimic doctor``: a post-mortem of a run directory, or a pre-flight of an arg file.

mjmimic doctor output/my_run                 # what went wrong, from the files
mjmimic doctor output/my_run --video blowup.mp4   # and the saved physics states, rendered
mjmimic doctor --arg_file args/x.txt         # check the settings before training
mjmimic doctor logs/rsl_rl/go2_run           # another tool's run: rsl_rl/mjlab, MimicKit
mjmimic doctor grpo.csv --columns ratio=mean_ratio   # any per-step metrics file
"""

from __future__ import annotations

from pathlib import Path

from mjmimic.errors import MjmimicError

USAGE = """usage: mjmimic doctor RUN_DIR [--video out.mp4|out.gif [--env I]]
       mjmimic doctor LOG [--columns ROLE=NAME,...] [--out DIR]
       mjmimic doctor --arg_file FILE [train flags]

RUN_DIR: diagnose a finished, stopped or crashed run from log.txt, config.yaml,
health_events.jsonl and checkpoint.pt; writes diagnosis.md and diagnosis.json there.
--video: render the physics states a physics stop saved (physics_history.npz), up to
the last finite one, for saved env I (default 0: the first offender).
LOG: another tool's run, from its logs only: a MimicKit output directory (log.txt
and/or TensorBoard events), an rsl_rl/mjlab log directory (TensorBoard events), or a
.csv/.jsonl file of per-step metrics with any column names. --columns maps the names
not recognised to roles (loss, policy_loss, value_loss, kl, ratio, advantage_mean,
advantage_std, log_prob_current, log_prob_ref, reward_mean, reward_std, entropy,
action_std, learning_rate, grad_norm). Writes diagnosis.md/json into --out (default:
the log's directory).
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
    if not (args.run_dir / "config.yaml").is_file():
        if args.video is not None:
            raise MjmimicError(
                f"{args.run_dir}: --video needs an mjmimic run directory (config.yaml and "
                "physics_history.npz); this is another tool's log"
            )
        return _metric_log(args.run_dir, args.columns, args.out)
    if args.columns or args.out:
        raise MjmimicError(
            f"{args.run_dir} is an mjmimic run: --columns and --out are for other tools' logs"
        )
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
    parser.add_argument("--columns", help="ROLE=NAME,... for another tool's log")
    parser.add_argument("--out", type=Path, help="where diagnosis.md/json go (other logs)")
    return parser


def _metric_log(path: Path, columns: str | None, out: Path | None) -> int:
    from mjmimic.health.diagnosis import MD_FILE
    from mjmimic.health.metric_logs.report import default_out_dir, diagnose_log
    from mjmimic.health.metric_logs.roles import parse_column_roles

    target = out or default_out_dir(path)
    report = diagnose_log(path, parse_column_roles(columns), target)
    print(f"log:    {path} (read as {report['tool']}: {report['steps']['rows']} logged steps)")
    print(f"status: {report['status']}")
    first = report.get("first_problem")
    if first:
        print(f"first:  [{first['kind']}] step {first['iteration']}: {first['message']}")
    for event in report["chain"][:4]:
        print(f"then:   [{event['kind']}] step {event['iteration']}")
    for i, cause in enumerate(report["causes"][:3], start=1):
        print(f"cause {i}: {cause['cause']}")
        for change in cause["try"][:2]:
            print(f"   try: {change}")
    for note in report["notes"]:
        print(f"note:   {note}")
    print(f"report: {target / MD_FILE}")
    return 0


def _physics_video(run_dir: Path, video: Path, env_index: int | None) -> None:
    from mjmimic.config import load_yaml
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
    config, _ = load_yaml(run_dir / "config.yaml")
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
