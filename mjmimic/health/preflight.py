"""``mjmimic doctor --arg_file ...``: checks a run's settings before training.

Each check reads the built env (robot, PD table, motions, engine rates) or a few random
steps of it and returns ``Finding`` lines: what it looked at, the numbers, and, when
something is off, what to change. Nothing here trains or writes files.

For a task with ``ReferenceMotions`` (DeepMimic, AMP, ADD) every clip is checked against
the robot with the checks of ``mjmimic motion check`` (``motion/check.py``): DoF count and
names of the file, a DoF order that puts many joints far outside their limits, joint
limits, the lowest body point against the floor. A DoF count or name mismatch already
stops the env from loading (the reader's one-line error); ``mjmimic train`` runs the
cheap error-level part of the rest (``require_motions_fit``) before anything trains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from mjmimic.envs.capabilities import (
    EpisodeBounds,
    ReferenceMotions,
    ReturnBounds,
    capability,
)
from mjmimic.errors import MotionError
from mjmimic.health.checks import group_dims
from mjmimic.motion import check as motion_check
from mjmimic.motion.formats import read_motion
from mjmimic.paths import expand_path

Level = Literal["ok", "info", "warn", "error"]
RANDOM_STEPS = 30
_MAX_LISTED = 4
_LEVELS: dict[str, Level] = {"error": "error", "warning": "warn", "info": "info"}
# Frames of a clip put through the floor check (FK per frame); longer clips are strided.
_FLOOR_FRAMES = 3000


@dataclass
class Finding:
    level: Level
    topic: str
    message: str

    def line(self) -> str:
        return f"[{self.level:5}] {self.topic}: {self.message}"


def preflight(env, agent) -> list[Finding]:
    """All checks, in the order a user would fix things: rates, robot, motion, scales."""
    return [
        *check_rates(env),
        *check_action_bounds(env),
        *check_pd_gains(env),
        *check_motions(env),
        *check_motion_dofs(env),
        *check_random_steps(env, agent),
    ]


def check_rates(env) -> list[Finding]:
    e = env.engine
    sim, ctrl = 1.0 / e.sim_dt, 1.0 / e.control_dt
    out = [
        Finding(
            "ok",
            "rates",
            f"physics {sim:g} Hz, control {ctrl:g} Hz ({e.num_substeps} substeps per action)",
        )
    ]
    if sim < 100:
        out.append(
            Finding(
                "warn",
                "rates",
                f"physics at {sim:g} Hz: stiff PD on light links goes unstable below ~100 Hz; "
                "use engine.sim_freq 120-500",
            )
        )
    if not 15 <= ctrl <= 120:
        out.append(
            Finding(
                "warn",
                "rates",
                f"control at {ctrl:g} Hz is outside the usual 30-60 Hz (MimicKit: 30); "
                "very low rates cannot balance, very high ones shorten the discount horizon",
            )
        )
    return out


def check_action_bounds(env) -> list[Finding]:
    robot = env.robot
    low, high = (b.numpy() for b in env.action_bounds())
    unlimited = [
        robot.dof_names[d]
        for d in range(robot.num_dofs)
        if robot.dof_low[d] == -math.pi and robot.dof_high[d] == math.pi
    ]
    out = []
    if env.engine.control_mode == "pos":
        outside = np.maximum(robot.dof_low - low, high - robot.dof_high)
        worst = np.argsort(-outside)[:_MAX_LISTED]
        listed = [f"{robot.dof_names[d]} +{outside[d]:.2f} rad" for d in worst if outside[d] > 1e-6]
        out.append(
            Finding(
                "ok" if not listed else "info",
                "action bounds",
                "PD targets within joint limits"
                if not listed
                else "PD targets reach beyond joint limits (MimicKit's rule, lets the PD push "
                f"against the limit): {', '.join(listed)}",
            )
        )
    if unlimited:
        out.append(
            Finding(
                "warn",
                "action bounds",
                f"{len(unlimited)} DoF(s) have no range in the MJCF, so their action bounds "
                f"default to +-pi: {', '.join(unlimited[:_MAX_LISTED])}; add range= to the joints",
            )
        )
    return out


def check_pd_gains(env) -> list[Finding]:
    e = env.engine
    robot = env.robot
    if e.control_mode != "pos":
        return [Finding("ok", "PD gains", "torque control: no PD gains used")]
    pd = e.pd
    out = []
    zero = [robot.dof_names[d] for d in np.nonzero(pd.kp <= 0)[0]]
    if zero:
        out.append(
            Finding(
                "error",
                "PD gains",
                f"kp = 0 for {', '.join(zero[:_MAX_LISTED])}: these joints cannot follow "
                "targets; set engine.joint_gains",
            )
        )
    # Error (rad) above which the PD torque hits the effort limit.
    with np.errstate(divide="ignore", invalid="ignore"):
        saturation = np.where(pd.kp > 0, pd.effort / pd.kp, np.inf)
    tight = np.nonzero(saturation < 0.05)[0]
    if tight.size:
        names = [f"{robot.dof_names[d]} ({saturation[d]:.3f} rad)" for d in tight[:_MAX_LISTED]]
        out.append(
            Finding(
                "warn",
                "PD gains",
                f"effort limit / kp is under 0.05 rad for {tight.size} DoF(s), so the PD "
                f"saturates on small errors (bang-bang): {', '.join(names)}; lower kp or "
                "check effort",
            )
        )
    unlimited = int(np.isinf(pd.effort).sum())
    if unlimited:
        out.append(
            Finding(
                "info",
                "PD gains",
                f"{unlimited} DoF(s) have no effort limit: PD torques are kp x error, unbounded",
            )
        )
    kp = pd.kp[pd.kp > 0]
    if kp.size:
        out.append(
            Finding(
                "ok",
                "PD gains",
                f"kp {kp.min():g}-{kp.max():g}, kd {pd.kd.min():g}-{pd.kd.max():g}, effort "
                f"{np.min(pd.effort):g}-{np.max(pd.effort):g}",
            )
        )
    return out


def check_motions(env) -> list[Finding]:
    if capability(env, ReferenceMotions) is None:
        return []
    lib = env.motion_lib
    robot = env.robot
    ctrl = 1.0 / env.dt
    out = []
    durations = lib.clip_duration(torch.arange(lib.num_clips))
    frames = lib.clip_num_frames(torch.arange(lib.num_clips))
    for clip in range(lib.num_clips):
        name = lib.names[clip]
        fps = float(lib.clip_fps(torch.tensor([clip]))[0])
        text = (
            f"{name}: {int(frames[clip])} frames at {fps:g} fps ({float(durations[clip]):.2f} s), "
            f"{robot.num_dofs} robot DoFs"
        )
        level: Level = "ok"
        if fps < ctrl / 2:
            level = "warn"
            text += (
                f"; fps is under half the control rate ({ctrl:g} Hz): the reference "
                "between frames is interpolated, velocities are coarse"
            )
        if float(durations[clip]) < 2 * env.dt:
            level = "error"
            text += "; the clip is shorter than two control steps"
        out.append(Finding(level, "motion", text))
        out += _clip_fit(env, clip, floor=True)
    return out


def motion_errors(env) -> list[Finding]:
    """The error-level motion checks that are cheap enough to run before every training
    run (no FK): a DoF order that puts many joints far outside their limits."""
    if capability(env, ReferenceMotions) is None:
        return []
    found = []
    for clip in range(env.motion_lib.num_clips):
        found += [f for f in _clip_fit(env, clip, floor=False) if f.level == "error"]
    return found


def require_motions_fit(env) -> None:
    """Refuse to train on clips that do not fit the robot (``mjmimic train`` calls this
    after building the env: a DoF count or name mismatch has stopped the loading already)."""
    errors = motion_errors(env)
    if errors:
        raise MotionError(
            f"the reference motion does not fit robot {Path(env.robot.source).name}: "
            + " | ".join(f.message for f in errors)
            + " (mjmimic doctor --arg_file shows every check; agent.health.preflight_motions: "
            "false skips this one)"
        )


def _clip_fit(env, clip: int, floor: bool) -> list[Finding]:
    """``motion/check.py``'s robot checks on one clip of the library (aligned, unwrapped)."""
    lib, robot = env.motion_lib, env.robot
    name = lib.names[clip]
    root_pos, root_rot, dof = _clip_frames(lib, clip)
    found = motion_check.check_joint_order(dof, robot)
    found += motion_check.check_joint_limits(dof, robot)
    if floor:
        step = max(1, len(dof) // _FLOOR_FRAMES)
        found += motion_check.check_floor(root_pos[::step], root_rot[::step], dof[::step], robot)
    return [Finding(_LEVELS[f.severity], "motion", f"{name}: {f.message}") for f in found]


def _clip_frames(lib, clip: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Root position, root rotation (wxyz) and DoFs of every frame of ``clip``, float64."""
    ids = torch.arange(lib.num_clips)
    counts = lib.clip_num_frames(ids)
    start = int(counts[:clip].sum())
    n = int(counts[clip])
    dof = lib.dof_pos_frames[start : start + n].double().cpu().numpy()
    fps = float(lib.clip_fps(ids[clip : clip + 1])[0])
    duration = float(lib.clip_duration(ids[clip : clip + 1])[0])
    # Frame times; the last one just inside the clip (a wrapping clip's end is its start).
    times = torch.clamp(torch.arange(n, dtype=torch.float64) / fps, max=duration - 1e-6 / fps)
    state = lib.get_state(torch.full((n,), clip, dtype=torch.long), times)
    return (
        state.root_pos.double().cpu().numpy(),
        state.root_rot.double().cpu().numpy(),
        dof,
    )


def check_motion_dofs(env) -> list[Finding]:
    """The clip's own DoF count and names against the robot's (single-file motions; the
    clips of a dataset YAML are aligned the same way when loaded)."""
    if capability(env, ReferenceMotions) is None:
        return []
    path = Path(expand_path(env.motion_source()))
    if not path.is_file():
        return []
    files = [path]
    if path.suffix.lower() in (".yaml", ".yml"):
        files = _dataset_files(path)
    return [finding for f in files for finding in _file_dofs(f, env.robot)]


def _dataset_files(path: Path) -> list[Path]:
    """The clip files a dataset YAML lists (relative to the YAML), those that exist."""
    import yaml

    try:
        entries = (yaml.safe_load(path.read_text()) or {}).get("motions") or []
    except (OSError, yaml.YAMLError, AttributeError):
        return []
    files = []
    for entry in entries:
        name = entry.get("file") if isinstance(entry, dict) else None
        if name:
            clip = Path(expand_path(str(name)))
            clip = clip if clip.is_absolute() else path.parent / clip
            if clip.is_file():
                files.append(clip)
    return files


def _file_dofs(path: Path, robot) -> list[Finding]:
    """One file's own DoF layout against the robot: unnamed columns (taken in robot
    order), names in another order (matched by name), robot DoFs the file lacks."""
    try:
        motion = read_motion(path, robot)
    except MotionError as exc:  # a dataset clip the env did not load this way
        return [Finding("error", "motion DoFs", str(exc))]
    if motion.joint_names is None or _is_mimickit_pkl(path):
        return [
            Finding(
                "ok",
                "motion DoFs",
                f"{path.name}: {motion.num_dofs} unnamed DoFs = the robot's {robot.num_dofs}, "
                "taken in robot order (the file names no joints: the joint-order check of "
                "the motion lines is what catches another order)",
            )
        ]
    missing = [d for d in robot.dof_names if d not in motion.joint_names]
    text = f"{path.name}: {motion.num_dofs} named DoFs for a {robot.num_dofs}-DoF robot"
    shared = [n for n in motion.joint_names if n in robot.dof_names]
    in_robot_order = [n for n in robot.dof_names if n in motion.joint_names]
    if shared != in_robot_order:
        moved = [n for n, m in zip(shared, in_robot_order, strict=True) if n != m]
        text += (
            f", in another order ({len(moved)} differ, e.g. {', '.join(moved[:3])}): "
            "matched to the robot's joints by name"
        )
    if not missing:
        return [Finding("ok", "motion DoFs", text)]
    return [
        Finding(
            "info",
            "motion DoFs",
            f"{text}; {len(missing)} robot DoF(s) not in the clip are held at their "
            f"env.motion_fill_missing_joints values: {', '.join(missing[: _MAX_LISTED * 2])}",
        )
    ]


def _is_mimickit_pkl(path: Path) -> bool:
    """A MimicKit .pkl: its reader gives the robot's DoF names to unnamed columns."""
    if path.suffix.lower() not in (".pkl", ".pickle"):
        return False
    from mjmimic.motion.formats.phc_pkl import is_phc_data
    from mjmimic.motion.safe_pickle import safe_load

    try:
        return not is_phc_data(safe_load(path))
    except MotionError:
        return False


def check_random_steps(env, agent, steps: int = RANDOM_STEPS) -> list[Finding]:
    """Reward and observation scales on the untrained policy's first steps."""
    labels = env.obs_labels()
    agent.eval_mode()
    obs = env.reset()
    all_obs, rewards, dones = [obs.clone()], [], 0
    terms: dict[str, list[torch.Tensor]] = {}
    for _ in range(steps):
        action = agent.act(obs.to(agent.device), deterministic=False).to(env.device)
        obs, reward, done, info = env.step(action)
        all_obs.append(obs.clone())
        rewards.append(reward)
        for k, v in info["reward_terms"].items():
            terms.setdefault(k, []).append(v)
        ids = torch.nonzero(done).flatten()
        dones += ids.numel()
        if ids.numel():
            obs = env.reset(ids)
    x = torch.stack(all_obs).reshape(-1, env.obs_dim)
    r = torch.stack(rewards)
    out = []
    if not torch.isfinite(x).all() or not torch.isfinite(r).all():
        bad = torch.nonzero((~torch.isfinite(x)).any(0)).flatten().tolist()
        out.append(
            Finding(
                "error",
                "observation",
                f"non-finite values in the first {steps} steps: dims "
                f"{', '.join(group_dims(bad, labels))}",
            )
        )
        return out
    term_text = ", ".join(f"{k} {float(torch.stack(v).mean()):.3f}" for k, v in terms.items())
    bounds, best_returns = capability(env, EpisodeBounds), capability(env, ReturnBounds)
    best = ""
    if bounds is not None and best_returns is not None:
        per_step = best_returns.best_episode_return() / bounds.full_episode_steps()
        best = f", best possible {float(per_step.max()):g}"
    if not terms and not r.any():
        # AMP: the task rewards nothing; the learner's discriminator does.
        text = "the task gives none (no reward terms): the learner supplies it (AMP)"
    else:
        text = (
            f"per-step reward {float(r.mean()):.3f} (min {float(r.min()):.3f}, max "
            f"{float(r.max()):.3f}{best}); terms: {term_text}"
        )
    out.append(Finding("ok", "reward", text))
    dead = [k for k, v in terms.items() if float(torch.stack(v).mean()) < 1e-3]
    if dead:
        out.append(
            Finding(
                "warn",
                "reward",
                f"term(s) {', '.join(dead)} are ~0 even near the reference: their "
                "env.reward_*_scale is too large, so they give no gradient",
            )
        )
    if dones > env.num_envs * steps * 0.3:
        out.append(
            Finding(
                "warn",
                "episodes",
                f"{dones} episode ends in {steps} steps of {env.num_envs} envs: early "
                "termination fires almost at once (contact_bodies? initial state?)",
            )
        )
    big = torch.nonzero(x.abs().amax(0) > 100).flatten().tolist()
    std = x.std(0)
    out.append(
        Finding(
            "ok" if not big else "warn",
            "observation",
            f"{env.obs_dim} dims, |value| up to {float(x.abs().max()):.3g}"
            + (f"; dims beyond 100: {', '.join(group_dims(big, labels))}" if big else ""),
        )
    )
    near = torch.nonzero((std < 1e-6) & (x.amax(0) > x.amin(0))).flatten().tolist()
    reference = [d for d in near if labels[d].startswith("tar")]
    simulated = [d for d in near if not labels[d].startswith("tar")]
    if simulated:
        out.append(
            Finding(
                "warn",
                "observation",
                f"dims {', '.join(group_dims(simulated, labels))} barely change (std < 1e-6 "
                "but not constant): the normalizer will amplify their noise; drop the term "
                "or fix the MJCF if a body never moves relative to the root",
            )
        )
    if reference:
        out.append(
            Finding(
                "info",
                "observation",
                f"target dims {', '.join(group_dims(reference, labels))} are constant up to "
                "float rounding: the motion never moves them relative to its root",
            )
        )
    agent.train_mode()
    return out
