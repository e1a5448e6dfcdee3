"""``mjmimic train`` and ``mjmimic test``: MimicKit's flags, arg files and YAML configs."""

from __future__ import annotations

import os
import random
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from mjmimic.agents.base import Agent
from mjmimic.config import (
    AT_LEAST_ONE,
    COMMAND_LINE,
    NON_NEGATIVE,
    POSITIVE,
    ArgFlag,
    ArgSpec,
    Bounds,
    ResolvedArgs,
    resolve_args,
)
from mjmimic.engines.mujoco_cpu import available_cores
from mjmimic.envs.base import Env
from mjmimic.envs.capabilities import ReferenceMotions, capability
from mjmimic.errors import ConfigError
from mjmimic.health.preflight import require_motions_fit
from mjmimic.paths import atomic_write_bytes, remove_stale_temporaries
from mjmimic.training import checkpoint, run_lock
from mjmimic.training.evaluation import failure_line, run_evaluation
from mjmimic.training.model_file import load_weights, read_model
from mjmimic.training.setup import (
    RunConfig,
    build_env_and_agent,
    build_test_env,
    check_devices,
)
from mjmimic.training.tracking_report import TrackingReport
from mjmimic.training.trainer import RunSettings, Trainer

_COMMON = [
    ArgFlag(
        "mode",
        str,
        "train",
        choices=("train", "test"),
        help="MimicKit's run mode (the subcommand sets it; accepted for MimicKit arg files)",
    ),
    ArgFlag(
        "engine_config", Path, help="engine YAML (default: MuJoCo CPU, 30/120 Hz, pos control)"
    ),
    ArgFlag(
        "env_config",
        Path,
        help="env YAML (env_name and the env's keys, flat or under env:; optional engine:)",
    ),
    ArgFlag("agent_config", Path, help="agent YAML (PPO)"),
    ArgFlag("num_envs", int, 64, help="parallel environments", bounds=AT_LEAST_ONE),
    ArgFlag("model_file", Path, help="model.pt to start from (train) or to evaluate (test)"),
    ArgFlag(
        "test_episodes",
        int,
        help="test episodes (default: the agent config's test_episodes)",
        bounds=AT_LEAST_ONE,
    ),
    ArgFlag(
        "rand_seed",
        int,
        help="random seed (default: from the clock; written to config.yaml)",
        bounds=NON_NEGATIVE,
    ),
    ArgFlag(
        "devices",
        list[str],
        ["cpu"],
        help="where the learner runs: cpu or one CUDA device (cuda:0); physics stays on the CPU",
    ),
    ArgFlag(
        "threads",
        int,
        help="CPU threads for physics and torch (default: all cores)",
        bounds=AT_LEAST_ONE,
    ),
    ArgFlag(
        "visualize", bool, False, help="accepted for MimicKit arg files; mjmimic trains headless"
    ),
    ArgFlag("video", str, help="test: write a video of policy beside reference to this .mp4"),
    ArgFlag(
        "master_port",
        int,
        help="accepted for MimicKit arg files; unused (one process)",
        bounds=Bounds(0, 65535),
    ),
]

TRAIN_SPEC = ArgSpec(
    [
        *_COMMON,
        ArgFlag(
            "out_dir",
            Path,
            Path("output"),
            help="output directory: new or empty (a run there continues with --resume)",
        ),
        ArgFlag(
            "max_samples",
            int,
            2**62,
            help="stop after this many env steps (samples), counted over resumed sessions",
            bounds=AT_LEAST_ONE,
        ),
        ArgFlag(
            "max_time",
            float,
            help="stop after this many minutes of training (Wall_Time, summed over resumes)",
            bounds=POSITIVE,
        ),
        ArgFlag(
            "logger", str, "txt", choices=("txt", "tb"), help="txt: log.txt; tb: also TensorBoard"
        ),
        ArgFlag(
            "resume",
            Path,
            help="continue the run in this output directory from its last checkpoint, up to "
            "its budget (the run's --max_samples/--max_time unless given again)",
        ),
        ArgFlag("save_int_models", bool, False, help="also keep int_models/model_<iter>.pt"),
        ArgFlag(
            "collect_threads",
            int,
            1,
            help="torch threads while collecting rollouts and test episodes (the update "
            "uses --threads); 1 leaves the cores to MuJoCo (docs/benchmarks.md)",
            bounds=AT_LEAST_ONE,
        ),
    ],
    prog="mjmimic train",
    description="Train a motion-imitation policy with PPO.",
)

TEST_SPEC = ArgSpec(
    [
        *_COMMON,
        ArgFlag("out_dir", Path, help="accepted for MimicKit arg files; unused by test"),
        ArgFlag("report", Path, help="write a per-body tracking report (heat map, JSON) here"),
    ],
    prog="mjmimic test",
    description="Evaluate a trained policy: returns, episode length and tracking errors.",
)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _resolve(tokens: list[str], command: str) -> ResolvedArgs:
    """The flags of ``mjmimic {command}``; the other mode's flags in the arg file (one file
    serves train and test, as in MimicKit) are ignored, with one note line."""
    spec, other = (TRAIN_SPEC, TEST_SPEC) if command == "train" else (TEST_SPEC, TRAIN_SPEC)
    args = resolve_args(tokens, spec, other)
    if args.ignored:
        flags = ", ".join(f"--{k}" for k in args.ignored)
        print(
            f"mjmimic: note: {args.arg_file}: flags of '{other.prog}' ignored here: {flags}",
            file=sys.stderr,
        )
    return args


def _check_mode(args: ResolvedArgs, command: str) -> None:
    """The subcommand is on the command line, so it wins over an arg file's ``--mode``
    (one arg file serves train and test, as in MimicKit); ``mjmimic train --mode test``
    contradicts itself and is refused rather than silently training."""
    if args.origin("mode") == COMMAND_LINE and args.mode != command:
        raise ConfigError(
            f"--mode {args.mode} contradicts the command 'mjmimic {command}'; give one of "
            f"them (MimicKit's form: mjmimic --mode {args.mode} ...)"
        )


def _set_threads(args: ResolvedArgs) -> int:
    threads = args.threads or available_cores()
    torch.set_num_threads(threads)
    return threads


def run_from_args(args: ResolvedArgs, threads: int) -> RunConfig:
    if args.env_config is None or args.agent_config is None:
        missing = [f"--{k}" for k in ("env_config", "agent_config") if getattr(args, k) is None]
        raise ConfigError(f"{' and '.join(missing)} required (or --arg_file with them)")
    seed = args.rand_seed if args.given("rand_seed") else int(time.time() * 1000) % 2**31
    run = RunConfig.from_files(
        args.engine_config,
        args.env_config,
        args.agent_config,
        args.num_envs,
        seed,
        check_devices(args.devices),
    )
    if run.engine.num_threads is None:
        run.engine.num_threads = threads
    return run


def train(tokens: list[str]) -> int:
    args = _resolve(tokens, "train")
    _check_mode(args, "train")
    threads = _set_threads(args)
    if args.resume is not None:
        out_dir, flag = args.resume, "--resume"
        resumed = _resumed_run(args, threads)
        if resumed is None:
            return 0
        run, stored, budget = resumed
    else:
        out_dir, flag = args.out_dir, "--out_dir"
        _check_new_out_dir(out_dir)
        run = run_from_args(args, threads)
        stored = None
        budget = _Budget(args.max_samples if args.given("max_samples") else None, args.max_time)
    _seed_everything(run.seed)
    # Everything that can fail on user input (robot, motions, configs) fails here,
    # before anything is written.
    env, agent = build_env_and_agent(run)
    if run.agent.health.enabled and run.agent.health.preflight_motions:
        require_motions_fit(env)  # a clip whose DoF order is not the robot's, say
    if args.model_file is not None:
        # A model of another robot or env config is one line naming the mismatch.
        load_weights(agent, env, read_model(args.model_file)["model"], args.model_file)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"{flag} {out_dir} cannot be created: {exc.strerror}; choose another {flag}"
        ) from None
    with run_lock.RunLock(out_dir, flag):
        if args.resume is None:
            _check_empty(out_dir)  # again, now that no other process can write it
        else:
            for directory in (out_dir, out_dir / "int_models"):  # a run killed mid-write
                if directory.is_dir():
                    remove_stale_temporaries(directory)
        # config.yaml records the budget that a plain --resume continues to.
        if stored is None or budget.to_dict() != stored.get(_BUDGET):
            data = {**(stored or run.to_dict()), _BUDGET: budget.to_dict()}
            atomic_write_bytes(
                out_dir / "config.yaml", yaml.safe_dump(data, sort_keys=False).encode()
            )
        return _train(args, run, env, agent, out_dir, budget, threads)


def _train(
    args: ResolvedArgs,
    run: RunConfig,
    env: Env,
    agent: Agent,
    out_dir: Path,
    budget: _Budget,
    threads: int,
) -> int:
    test_episodes = (
        args.test_episodes if args.test_episodes is not None else run.agent.test_episodes
    )
    settings = RunSettings(
        out_dir=out_dir,
        # No recorded limit: the flag's default (2**62), as good as none.
        max_samples=args.max_samples if budget.max_samples is None else budget.max_samples,
        max_minutes=budget.max_time,
        iters_per_output=run.agent.iters_per_output,
        test_episodes=test_episodes,
        logger=args.logger,
        save_int_models=args.save_int_models,
        collect_threads=args.collect_threads,
    )
    test_env = build_test_env(run, env, test_episodes)
    run_config = {**run.to_dict(), _BUDGET: budget.to_dict()}  # as config.yaml has it
    trainer = Trainer(env, agent, settings, run_config, test_env=test_env)
    if args.resume is not None:
        trainer.restore(out_dir / "checkpoint.pt")
    motions = capability(env, ReferenceMotions)
    clips = f"{motions.motion_lib.num_clips} clip(s) | " if motions is not None else ""
    print(
        f"mjmimic train: {run.env_name} | {env.robot.source} | {clips}"
        f"{run.num_envs} envs | obs {env.obs_dim} | actions {env.action_dim} | "
        f"{threads} threads | seed {run.seed} | out {out_dir}"
    )
    trainer.train()
    env.engine.close()
    test_env.engine.close()
    if trainer.stopped_by is not None:
        print(
            f"stopped by {trainer.stopped_by} after iteration {trainer.iteration} "
            f"({trainer.samples:,} samples): model.pt and checkpoint.pt saved; continue with "
            f"mjmimic train --resume {out_dir}",
            file=sys.stderr,
        )
        return 128 + int(getattr(signal, trainer.stopped_by))
    test = trainer.last_test
    print(
        f"done: {trainer.samples:,} samples, {trainer.iteration} iterations; "
        f"test return {test.get('return', float('nan')):.3f}, "
        f"normalized {test.get('normalized_return', float('nan')):.3f}"
    )
    return 0


# config.yaml's record of how far the run trains: {max_samples, max_time}, None = no limit.
_BUDGET = "budget"


@dataclass
class _Budget:
    max_samples: int | None
    max_time: float | None  # minutes of Wall_Time

    def to_dict(self) -> dict[str, Any]:
        return {"max_samples": self.max_samples, "max_time": self.max_time}


def _check_new_out_dir(out_dir: Path) -> None:
    """Before anything is built: ``--out_dir`` must be a directory that can be created, or
    an empty one that no other process uses. A directory that holds files (another tool's
    log.txt, a run killed before its first checkpoint) is never written over."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(
            f"--out_dir {out_dir} is a file, not a directory; give the path of a new or "
            "empty directory"
        )
    if not out_dir.exists():
        ancestor = next(p for p in out_dir.absolute().parents if p.exists())
        if not ancestor.is_dir():
            raise ConfigError(
                f"--out_dir {out_dir} cannot be created: {ancestor} is a file; choose "
                "another --out_dir"
            )
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise ConfigError(
                f"--out_dir {out_dir} cannot be created: no write permission in {ancestor}; "
                "choose another --out_dir"
            )
        return
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise ConfigError(f"--out_dir {out_dir}: no write permission; choose another --out_dir")
    run_lock.check_free(out_dir, "--out_dir")
    _check_empty(out_dir)


def _check_empty(out_dir: Path) -> None:
    if (out_dir / "checkpoint.pt").exists():
        raise ConfigError(
            f"--out_dir {out_dir} already holds a run; continue it with --resume {out_dir} "
            "or choose another --out_dir"
        )
    # The lock file is this process's (after RunLock) or a dead one's (check_free).
    found = sorted(p.name for p in out_dir.iterdir() if p.name != run_lock.LOCK_FILE)
    if found:
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        raise ConfigError(
            f"--out_dir {out_dir} is not empty ({shown}) and holds no checkpoint.pt to "
            "resume; choose another --out_dir, or empty this one"
        )


def _resumed_run(
    args: ResolvedArgs, threads: int
) -> tuple[RunConfig, dict[str, Any], _Budget] | None:
    """The run in ``--resume``'s directory, checked before anything is built: its
    config.yaml, the flags that would change it (refused), and the budget left. None
    when the run has already reached its budget (one line says so)."""
    out_dir = args.resume
    saved = out_dir / "config.yaml"
    if not (out_dir / "checkpoint.pt").is_file() or not saved.is_file():
        raise ConfigError(f"--resume {out_dir}: no checkpoint.pt and config.yaml there")
    run_lock.check_free(out_dir, "--resume")
    stored = _read_saved_config(saved)
    run = RunConfig.from_dict(stored, str(saved))
    # The learner's device: --devices if given, else the run's (checked on this machine).
    run.device = check_devices(args.devices if args.given("devices") else [run.device])
    if args.given("threads"):
        run.engine.num_threads = threads  # a machine's setting, not the run's
    _check_unchanged(args, run)
    state = checkpoint.load(out_dir / "checkpoint.pt", checkpoint.CHECKPOINT_FORMAT)
    budget = _resume_budget(args, stored, saved)
    reached = _reached(budget, state["samples"], state["wall_time"] / 60.0)
    if reached is None:
        return run, stored, budget
    flag, what = reached
    print(
        f"mjmimic train: {out_dir} has reached its budget ({what}) at iteration "
        f"{state['iteration']}; nothing to train: to train on, pass a larger {flag}"
    )
    return None


# The flags naming a run's config files, and the sections of config.yaml each one fills
# (an env YAML's engine: block overrides engine keys).
_RUN_FILES = {
    "engine_config": ("engine",),
    "env_config": ("env_name", "env", "engine"),
    "agent_config": ("agent",),
}
_KEEP = "--resume keeps a run's settings: drop --{flag}, or start a new run with another --out_dir"


def _check_unchanged(args: ResolvedArgs, run: RunConfig) -> None:
    """``--resume`` continues the run as its config.yaml describes it. A flag that would
    change the run is refused rather than ignored: half a run with one setting and half
    with another is a run nobody asked for. Config files are compared by content, so the
    arg file that started a run also resumes it."""
    out_dir = args.resume
    if args.model_file is not None:
        raise ConfigError(
            f"--model_file {args.model_file} with --resume {out_dir}: the run continues from "
            "its checkpoint.pt's weights; drop --model_file, or start a new run from it with "
            "another --out_dir"
        )
    if args.given("out_dir") and args.out_dir.absolute() != out_dir.absolute():
        print(
            f"mjmimic: note: --out_dir {args.out_dir} ({args.origin('out_dir')}) ignored: "
            f"--resume writes to {out_dir}",
            file=sys.stderr,
        )
    for flag, stored_value in (("num_envs", run.num_envs), ("rand_seed", run.seed)):
        value = getattr(args, flag)
        if args.given(flag) and value != stored_value:
            raise ConfigError(
                f"--{flag} {value}: the run in {out_dir} has {flag} {stored_value} "
                f"(config.yaml); {_KEEP.format(flag=flag)}"
            )
    given_files = [flag for flag in _RUN_FILES if args.given(flag)]
    if not given_files:
        return
    stored = run.to_dict()
    given = _given_run(args, run).to_dict()
    # Physics threads are this machine's choice (--threads), not the run's.
    given["engine"]["num_threads"] = stored["engine"]["num_threads"]
    for flag in given_files:
        differences = [
            d
            for section in _RUN_FILES[flag]
            for d in _differences(stored[section], given[section], section)
        ]
        if differences:
            key, was, now = differences[0]
            more = f" (and {len(differences) - 1} more)" if len(differences) > 1 else ""
            raise ConfigError(
                f"--{flag} {getattr(args, flag)}: {key} is {_short(now)} there, "
                f"{_short(was)} in the run in {out_dir} (config.yaml){more}; "
                + _KEEP.format(flag=flag)
            )


def _given_run(args: ResolvedArgs, run: RunConfig) -> RunConfig:
    """The run the given config files describe; the run's own sections (from
    config.yaml) stand in for the files not given."""
    stored = run.to_dict()
    with tempfile.TemporaryDirectory() as tmp:

        def stand_in(name: str, data: dict[str, Any]) -> Path:
            path = Path(tmp) / name
            path.write_text(yaml.safe_dump(data, sort_keys=False))
            return path

        return RunConfig.from_files(
            args.engine_config or stand_in("engine.yaml", stored["engine"]),
            args.env_config
            or stand_in("env.yaml", {"env_name": stored["env_name"], "env": stored["env"]}),
            args.agent_config or stand_in("agent.yaml", stored["agent"]),
            run.num_envs,
            run.seed,
            run.device,
        )


def _differences(was: Any, now: Any, key: str) -> list[tuple[str, Any, Any]]:
    """``(key path, stored value, given value)`` of every leaf that differs."""
    if isinstance(was, dict) and isinstance(now, dict):
        keys = [*was, *(k for k in now if k not in was)]
        return [d for k in keys for d in _differences(was.get(k), now.get(k), f"{key}.{k}")]
    return [] if was == now else [(key, was, now)]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _read_saved_config(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problem = str(exc).splitlines()[0]
        raise ConfigError(
            f"{path}: not readable YAML ({problem}); the run cannot be resumed"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: not an mjmimic run config (a mapping); the run cannot be resumed"
        )
    return data


def _resume_budget(args: ResolvedArgs, stored: dict[str, Any], saved: Path) -> _Budget:
    """--max_samples / --max_time if given (they become the run's budget), else the run's."""
    recorded = stored.get(_BUDGET)
    given = args.given("max_samples") or args.given("max_time")
    if not isinstance(recorded, dict):
        if not given:
            raise ConfigError(
                f"{saved} records no budget (a run of an older mjmimic); give --max_samples "
                "(or --max_time) to say how far --resume trains"
            )
        recorded = {}
    return _Budget(
        args.max_samples if args.given("max_samples") else recorded.get("max_samples"),
        args.max_time if args.given("max_time") else recorded.get("max_time"),
    )


def _reached(budget: _Budget, samples: int, minutes: float) -> tuple[str, str] | None:
    """The budget flag the run has reached and how far it is; None if none."""
    if budget.max_samples is not None and samples >= budget.max_samples:
        return "--max_samples", f"{samples:,} samples of --max_samples {budget.max_samples}"
    if budget.max_time is not None and minutes >= budget.max_time:
        return "--max_time", f"{minutes:.2f} minutes of --max_time {budget.max_time:g}"
    return None


def test(tokens: list[str]) -> int:
    args = _resolve(tokens, "test")
    _check_mode(args, "test")
    threads = _set_threads(args)
    if args.model_file is None:
        raise ConfigError("--model_file required: the model.pt to evaluate")
    model = read_model(args.model_file)
    if args.env_config is not None or args.agent_config is not None:
        run = run_from_args(args, threads)
    else:
        run = RunConfig.from_dict(model["config"], f"{args.model_file} (saved config)")
        run.engine.num_threads = threads
        run.device = check_devices(args.devices)  # this machine's, not the training run's
    episodes = args.test_episodes if args.test_episodes is not None else run.agent.test_episodes
    if args.given("num_envs"):
        run.num_envs = args.num_envs
    else:
        # The run's env count is a training choice: 4 test episodes need 4 envs, not 512.
        run.num_envs = max(1, min(run.num_envs, episodes))
    _seed_everything(args.rand_seed if args.rand_seed is not None else run.seed)
    env, agent = build_env_and_agent(run)
    load_weights(agent, env, model["model"], args.model_file)
    criteria = getattr(run.agent, "evaluation", None)
    evaluation = run_evaluation(env, agent, episodes, criteria=criteria)
    result, report = evaluation.summary, evaluation.report
    print(f"model:               {args.model_file} (iteration {model.get('iteration')})")
    for line in result_lines(result, report, env.dt, run.num_envs):
        print(line)
    if args.report is not None:
        from mjmimic.logging.tracking_report_files import write_tracking_report

        if report is None:
            raise ConfigError(
                f"--report: the {run.env_name} task has no reference to report tracking "
                "errors against"
            )
        title = f"{args.model_file} (iteration {model.get('iteration')})"
        paths = write_tracking_report(report, args.report, title)
        print(f"report:              {', '.join(str(p) for p in paths)}")
    if args.video:
        from mjmimic.render.video import record_policy_video

        threshold = report.criteria.body_threshold if report is not None else None
        path = record_policy_video(env, agent, Path(args.video), marker_threshold=threshold)
        marks = f" (red: key bodies > {threshold:g} m off)" if threshold is not None else ""
        print(f"video:               {path}{marks}")
    env.engine.close()
    return 0


def result_lines(
    result: dict[str, float], report: TrackingReport | None, dt: float, num_envs: int
) -> list[str]:
    """The printed summary of ``mjmimic test``: what the task measured, one line each."""
    lines = [f"episodes:            {int(result['episodes'])} over {num_envs} envs"]
    failed = failure_line(result)
    if failed is not None:
        lines.append(f"failed episodes:     {failed}")
    lines.append(f"mean return:         {result['return']:.4f}")
    if "normalized_return" in result:
        lines.append(
            f"normalized return:   {result['normalized_return']:.4f}  (return / best possible)"
        )
    lines.append(
        f"mean episode length: {result['episode_length']:.1f} steps "
        f"({result['episode_length'] * dt:.2f} s)"
    )
    if "episode_length_fraction" in result:
        lines.append(
            f"episode length:      {result['episode_length_fraction']:.1%} of the full length "
            "(1 = no episode ended early)"
        )
        lines.append(
            f"full length:         {result['full_length_rate']:.1%} of the episodes ran their "
            "full length"
        )
    if report is None:
        return lines
    lines += [
        f"joint rotation err:  {result['joint_rot_err']:.4f} rad",
        f"root position err:   {result['root_pos_err']:.4f} m",
        f"key body pos err:    {result['key_pos_err']:.4f} m",
    ]
    thr = report.criteria
    lines.append(
        f"success rate:        {result['success_rate']:.1%} (no fall, key bodies within "
        f"{thr.body_threshold:g} m and root within {thr.root_threshold:g} m in every frame)"
    )
    worst = report.worst_body
    if worst is not None:
        over = result["frames_over_threshold"]
        lines.append(
            f"worst body err:      {result['worst_body_err']:.4f} m ({worst.name}, max over "
            f"frames; {over:.1%} of its frames > {thr.body_threshold:g} m)"
        )
    return lines + report.table()
