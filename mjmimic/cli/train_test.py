"""``mjmimic train`` and ``mjmimic test``: MimicKit's flags, arg files and YAML configs."""

from __future__ import annotations

import random
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from mjmimic.config import COMMAND_LINE, ArgFlag, ArgSpec, ResolvedArgs, resolve_args
from mjmimic.engines.mujoco_cpu import available_cores
from mjmimic.envs.capabilities import ReferenceMotions, capability
from mjmimic.errors import ConfigError
from mjmimic.health.preflight import require_motions_fit
from mjmimic.training import checkpoint
from mjmimic.training.evaluation import run_evaluation
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
    ArgFlag("num_envs", int, 64, help="parallel environments"),
    ArgFlag("model_file", Path, help="model.pt to start from (train) or to evaluate (test)"),
    ArgFlag("test_episodes", int, help="test episodes (default: the agent config's test_episodes)"),
    ArgFlag("rand_seed", int, help="random seed (default: from the clock; written to config.yaml)"),
    ArgFlag(
        "devices",
        list[str],
        ["cpu"],
        help="where the learner runs: cpu or one CUDA device (cuda:0); physics stays on the CPU",
    ),
    ArgFlag("threads", int, help="CPU threads for physics and torch (default: all cores)"),
    ArgFlag(
        "visualize", bool, False, help="accepted for MimicKit arg files; mjmimic trains headless"
    ),
    ArgFlag("video", str, help="test: write a video of policy beside reference to this .mp4"),
    ArgFlag("master_port", int, help="accepted for MimicKit arg files; unused (one process)"),
]

TRAIN_SPEC = ArgSpec(
    [
        *_COMMON,
        ArgFlag(
            "out_dir", Path, Path("output"), help="output directory (refused if it holds a run)"
        ),
        ArgFlag("max_samples", int, 2**62, help="stop after this many env steps (samples)"),
        ArgFlag("max_time", float, help="stop after this many minutes of training (wall clock)"),
        ArgFlag(
            "logger", str, "txt", choices=("txt", "tb"), help="txt: log.txt; tb: also TensorBoard"
        ),
        ArgFlag("resume", Path, help="continue the run in this output directory where it stopped"),
        ArgFlag("save_int_models", bool, False, help="also keep int_models/model_<iter>.pt"),
        ArgFlag(
            "collect_threads",
            int,
            1,
            help="torch threads while collecting rollouts and test episodes (the update "
            "uses --threads); 1 leaves the cores to MuJoCo (docs/benchmarks.md)",
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
        out_dir = args.resume
        saved = out_dir / "config.yaml"
        if not (out_dir / "checkpoint.pt").is_file() or not saved.is_file():
            raise ConfigError(f"--resume {out_dir}: no checkpoint.pt and config.yaml there")
        run = RunConfig.from_dict(yaml.safe_load(saved.read_text()), str(saved))
        # The learner's device: --devices if given, else the run's (checked on this machine).
        run.device = check_devices(args.devices if args.given("devices") else [run.device])
    else:
        out_dir = args.out_dir
        if (out_dir / "checkpoint.pt").exists():
            raise ConfigError(
                f"--out_dir {out_dir} already holds a run; continue it with --resume {out_dir} "
                "or choose another --out_dir"
            )
        run = run_from_args(args, threads)
    _seed_everything(run.seed)
    # Everything that can fail on user input (robot, motions, configs) fails here,
    # before anything is written.
    env, agent = build_env_and_agent(run)
    if run.agent.health.enabled and run.agent.health.preflight_motions:
        require_motions_fit(env)  # a clip whose DoF order is not the robot's, say
    if args.model_file is not None:
        agent.load_model_state_dict(
            checkpoint.load(args.model_file, checkpoint.MODEL_FORMAT)["model"]
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.resume is None:
        (out_dir / "config.yaml").write_text(yaml.safe_dump(run.to_dict(), sort_keys=False))
    test_episodes = (
        args.test_episodes if args.test_episodes is not None else run.agent.test_episodes
    )
    settings = RunSettings(
        out_dir=out_dir,
        max_samples=args.max_samples,
        max_minutes=args.max_time,
        iters_per_output=run.agent.iters_per_output,
        test_episodes=test_episodes,
        logger=args.logger,
        save_int_models=args.save_int_models,
        collect_threads=args.collect_threads,
    )
    test_env = build_test_env(run, env, test_episodes)
    trainer = Trainer(env, agent, settings, run.to_dict(), test_env=test_env)
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


def test(tokens: list[str]) -> int:
    args = _resolve(tokens, "test")
    _check_mode(args, "test")
    threads = _set_threads(args)
    if args.model_file is None:
        raise ConfigError("--model_file required: the model.pt to evaluate")
    model = checkpoint.load(args.model_file, checkpoint.MODEL_FORMAT)
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
    agent.load_model_state_dict(model["model"])
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
