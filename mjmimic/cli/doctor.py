"""``mjmimic doctor``: a post-mortem of a run directory, or a pre-flight of an arg file.

mjmimic doctor output/my_run                 # what went wrong, from the files
mjmimic doctor --arg_file args/x.txt         # check the settings before training
"""

from __future__ import annotations

from pathlib import Path

from mjmimic.errors import MjmimicError

USAGE = """usage: mjmimic doctor RUN_DIR
       mjmimic doctor --arg_file FILE [train flags]

RUN_DIR: diagnose a finished, stopped or crashed run from log.txt, config.yaml,
health_events.jsonl and checkpoint.pt; writes diagnosis.md and diagnosis.json there.
--arg_file: pre-flight the run's settings (rates, action bounds, PD gains, motion,
reward and observation scales on a few random steps) without training."""


def main(tokens: list[str]) -> int:
    if not tokens or tokens[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if tokens[0].startswith("--"):
        return _preflight(tokens)
    if len(tokens) != 1:
        raise MjmimicError(f"doctor takes one run directory, got {' '.join(tokens)}")
    return _post_mortem(Path(tokens[0]))


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
    from mjmimic.health.preflight import preflight
    from mjmimic.training.setup import build_env_and_agent

    args = resolve_args(tokens, TRAIN_SPEC)
    run = run_from_args(args, threads=args.threads or 1)
    env, agent = build_env_and_agent(run, num_envs=min(run.num_envs, 16))
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
