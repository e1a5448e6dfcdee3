"""What is wrong with a clip before training on it: ``mjmimic motion check``.

Each check is a pure function returning ``Finding``s; ``check_motion`` runs them all.
Severity: "error" means training on the clip cannot work (wrong DoFs, wrong units,
quaternions in the wrong order); "warning" means it will train, probably badly (limits,
floor contact, spikes); "info" are facts worth seeing (root height range).

NaN/Inf values never get here: reading a clip refuses them and names the first frame
(``Motion.validate``); the CLI reports that as an "unreadable" error.

Thresholds are for human-sized characters and robots (0.3 m to 3 m tall).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import mujoco
import numpy as np
import torch

from mjmimic.motion.motion import Motion
from mjmimic.robots.joint_coordinates import unwrap_dof_trajectory
from mjmimic.robots.kinematics import Kinematics
from mjmimic.robots.model import RobotModel
from mjmimic.rotations import quat_rotate

Severity = Literal["error", "warning", "info"]

FPS_RANGE = (10.0, 500.0)  # plausible frame rates of mocap and retargeted clips
LIMIT_TOLERANCE = 0.02  # rad beyond a joint limit before it counts (rounding, retargeting)
PENETRATION = 0.02  # m below the floor
FLOATING = 0.05  # m above the floor, for the lowest point in all but 5% of frames
ROOT_SPEED = 10.0  # m/s: faster than any human sprint
DOF_SPEED = 30.0  # rad/s: beyond humanoid actuators
SPIKE_FACTOR = 100.0  # acceleration spikes: this many times the clip's median (real foot
# strikes reach ~80x on the reference G1 clips; a 1-rad one-frame glitch is ~1000x)
ACCEL_FLOOR = 5.0  # m/s^2 or rad/s^2: the "median" of a channel that barely moves
UPRIGHT_TILT = np.radians(45.0)  # "upright" root: its up axis within this of +z
MAX_LISTED = 8  # frame indices listed in a message
# Joint order: a hinge "far" outside its limits is beyond them by this much (rad) in this
# share of the frames; this many far hinges that another assignment of the clip's columns
# to the robot's joints brings back inside their limits is a DoF-order mismatch. (Only
# hinges: the per-axis limits of a ball joint split into 3 hinges are not its real range,
# and DeepMimic's own clips leave them by 2-4 rad.)
ORDER_EXCESS = 0.2
ORDER_SHARE = 0.2
ORDER_MIN_JOINTS = 3


@dataclass
class Finding:
    severity: Severity
    code: str  # stable identifier, e.g. "joint_limits"
    message: str  # one line, says what to do
    frames: list[int] = field(default_factory=list)  # first affected frames

    def as_dict(self) -> dict:
        return asdict(self)


def check_motion(motion: Motion, robot: RobotModel) -> list[Finding]:
    """Every check; robot-dependent ones only when the clip's DoFs fit the robot."""
    findings = check_fps(motion.fps) + check_units(motion)
    findings += check_quaternion_order(motion.root_rot)
    dof_findings = check_dofs(motion, robot)
    findings += dof_findings
    if not any(f.severity == "error" for f in findings):
        aligned = motion.align_to_robot(robot, motion.name or "motion")
        dof = unwrap_dof_trajectory(robot, aligned.dof_pos)
        findings += check_joint_order(dof, robot)
        findings += check_joint_limits(dof, robot)
        findings += check_floor(aligned.root_pos, aligned.root_rot, dof, robot)
        findings += check_spikes(aligned.root_pos, dof, aligned.fps, robot.dof_names)
    findings += check_root_height(motion.root_pos)
    return findings


def format_report(source: str, findings: list[Finding]) -> str:
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    lines = [f"{f.severity:<8}{f.code:<18}{f.message}" for f in findings]
    lines.append(f"{source}: {errors} error(s), {warnings} warning(s)")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ checks
def check_fps(fps: float) -> list[Finding]:
    lo, hi = FPS_RANGE
    if lo <= fps <= hi:
        return []
    return [
        Finding(
            "warning",
            "fps",
            f"fps {fps:g} is outside the usual {lo:g}-{hi:g}; check the file's frame rate "
            "(a frame time stored as fps, or fps stored as a frame time?)",
        )
    ]


def check_dofs(motion: Motion, robot: RobotModel) -> list[Finding]:
    """DoF count and names against the robot; both lists are given on a mismatch."""
    if motion.joint_names is None:
        if motion.num_dofs == robot.num_dofs:
            return [
                Finding(
                    "info",
                    "dof_names",
                    f"the clip names no joints; its {motion.num_dofs} columns are taken in "
                    "robot order",
                )
            ]
        return [
            Finding(
                "error",
                "dof_count",
                f"the clip has {motion.num_dofs} DoFs and no joint names, the robot has "
                f"{robot.num_dofs}: {', '.join(robot.dof_names)}; use the robot the clip was "
                "made for or re-export the clip with joint names",
            )
        ]
    extra = [n for n in motion.joint_names if n not in robot.dof_names]
    missing = [n for n in robot.dof_names if n not in motion.joint_names]
    if not extra and not missing:
        return []
    return [
        Finding(
            "error",
            "dof_names",
            f"clip DoFs ({motion.num_dofs}) do not match the robot's ({robot.num_dofs}): not in "
            f"the robot: {', '.join(extra) or 'none'}; missing from the clip: "
            f"{', '.join(missing) or 'none'}; retarget the clip or fill the missing DoFs "
            f"(fill_missing) [clip: {', '.join(motion.joint_names)}] [robot: "
            f"{', '.join(robot.dof_names)}]",
        )
    ]


def check_units(motion: Motion) -> list[Finding]:
    """Degrees stored as radians, centimetres or millimetres stored as metres."""
    findings = []
    height = float(np.median(motion.root_pos[:, 2]))
    for name, scale in (("centimetres", 100.0), ("millimetres", 1000.0)):
        if 0.2 <= height / scale <= 3.0 and height > 5.0:
            findings.append(
                Finding(
                    "error",
                    "units_length",
                    f"median root height is {height:.1f} m: the positions look like {name}; "
                    f"divide them by {scale:g}",
                )
            )
            break
    if motion.num_dofs:
        peak = np.abs(motion.dof_pos).max(axis=0)
        wild = peak > 2 * np.pi + 0.5
        if wild.any():
            in_degrees = np.radians(motion.dof_pos)
            span = np.abs(in_degrees).max() <= np.pi
            names = motion.joint_names or [f"column {i}" for i in range(motion.num_dofs)]
            listed = [names[i] for i in np.nonzero(wild)[0][:MAX_LISTED]]
            if span:
                findings.append(
                    Finding(
                        "error",
                        "units_angle",
                        f"joint angles up to {peak.max():.0f} (e.g. {', '.join(listed)}): they "
                        "look like degrees; convert them to radians",
                    )
                )
            else:
                findings.append(
                    Finding(
                        "warning",
                        "units_angle",
                        f"joint angles up to {peak.max():.1f} rad (more than a turn) in "
                        f"{', '.join(listed)}; check the units and the unwrapping",
                    )
                )
    return findings


def check_quaternion_order(root_rot: np.ndarray) -> list[Finding]:
    """(x, y, z, w) data read as (w, x, y, z) tilts a walking root far from upright,
    while the reordered quaternions stand it up: that contrast is the tell."""
    as_stored = _median_tilt(root_rot)
    reordered = _median_tilt(root_rot[:, [3, 0, 1, 2]])
    if as_stored > UPRIGHT_TILT and reordered < UPRIGHT_TILT / 2:
        return [
            Finding(
                "error",
                "quaternion_order",
                f"the root is tilted {np.degrees(as_stored):.0f} deg from upright (median) but "
                f"{np.degrees(reordered):.0f} deg if its quaternions are read as (x, y, z, w): "
                "the file's quaternions look like xyzw; store them as wxyz (or use the "
                "reader for that format)",
            )
        ]
    return []


def check_joint_limits(dof: np.ndarray, robot: RobotModel) -> list[Finding]:
    """Which joints leave their range, by how much, in what share of frames."""
    below = robot.dof_low - dof
    above = dof - robot.dof_high
    excess = np.maximum(np.maximum(below, above), 0.0)
    bad = excess > LIMIT_TOLERANCE
    if not bad.any():
        return []
    parts = []
    order = np.argsort(-excess.max(axis=0))
    for d in order[: int(bad.any(axis=0).sum())]:
        parts.append(
            f"{robot.dof_names[d]} by up to {excess[:, d].max():.3f} rad "
            f"({np.degrees(excess[:, d].max()):.1f} deg) in {100 * bad[:, d].mean():.0f}% of "
            f"frames (clip {dof[:, d].min():.2f} to {dof[:, d].max():.2f}, limits "
            f"{robot.dof_low[d]:.2f} to {robot.dof_high[d]:.2f})"
        )
    frames = np.nonzero(bad.any(axis=1))[0]
    hinges = [j.dof_start for j in robot.joints if j.kind == "hinge"]  # see ORDER_EXCESS
    far = int(((excess[:, hinges] > ORDER_EXCESS).mean(axis=0) >= ORDER_SHARE).sum())
    hint = (
        f"; {far} hinge(s) this far outside usually mean the clip's DoF order, units or "
        "robot model are not this robot's"
        if far
        else ""
    )
    return [
        Finding(
            "warning",
            "joint_limits",
            f"{len(parts)} joint(s) outside their limits: {'; '.join(parts)}; the simulated "
            f"robot cannot follow there (retarget with limits){hint}",
            frames[:MAX_LISTED].tolist(),
        )
    ]


def check_joint_order(dof: np.ndarray, robot: RobotModel) -> list[Finding]:
    """Many hinges far outside their limits, while the same columns fit the limits in
    another order: the clip's DoFs are not in the robot's order (a MimicKit .pkl, CSV or
    plain array made for another joint order or another model of the robot)."""
    from scipy.optimize import linear_sum_assignment

    hinges = [j.dof_start for j in robot.joints if j.kind == "hinge"]
    if len(hinges) < ORDER_MIN_JOINTS or dof.shape[0] == 0:
        return []
    low, high = robot.dof_low[hinges], robot.dof_high[hinges]
    x = dof[:, hinges]
    excess = np.maximum(low - x, x - high)  # (T, H), each column against its own joint
    share = (excess > ORDER_EXCESS).mean(axis=0)
    bad = np.nonzero(share >= ORDER_SHARE)[0]
    if bad.size < ORDER_MIN_JOINTS:
        return []
    # Every column against every joint (on at most ~1000 frames): the assignment of
    # columns to joints with the least mean excess beyond the limits.
    sub = x[:: max(1, x.shape[0] // 1000)]
    over = np.maximum(low[None, None, :] - sub[:, :, None], sub[:, :, None] - high[None, None, :])
    far = (over > ORDER_EXCESS).mean(axis=0)  # far[c, j]
    rows, cols = linear_sum_assignment(np.maximum(over, 0.0).mean(axis=0))
    best = np.empty(len(hinges), dtype=int)
    best[rows] = cols
    remaining = int((far[np.arange(len(hinges)), best] >= ORDER_SHARE).sum())
    if remaining > bad.size // 3:
        return []  # no order explains it: the limits finding says how far each joint is
    names = [robot.dof_names[d] for d in hinges]
    worst = bad[np.argsort(-excess[:, bad].max(axis=0))]
    listed = [
        f"{names[c]} by up to {excess[:, c].max():.2f} rad in {100 * share[c]:.0f}% of frames "
        f"(clip {x[:, c].min():.2f} to {x[:, c].max():.2f}, limits {low[c]:.2f} to {high[c]:.2f})"
        for c in worst[:MAX_LISTED]
    ]
    if worst.size > MAX_LISTED:
        listed.append(f"{worst.size - MAX_LISTED} more")
    frames = np.nonzero((excess[:, bad] > ORDER_EXCESS).any(axis=1))[0]
    return [
        Finding(
            "error",
            "joint_order",
            f"{bad.size} of {len(hinges)} joints are far outside their limits ("
            + "; ".join(listed)
            + "), but the clip's columns fit the robot's limits in another order: the "
            "clip's DoF order is likely not the robot's. Write the clip with the "
            f"robot's DoFs in this order: {', '.join(robot.dof_names)} (a MimicKit .pkl "
            "carries no joint names), or use a file with joint names",
            frames[:MAX_LISTED].tolist(),
        )
    ]


def check_floor(
    root_pos: np.ndarray, root_rot: np.ndarray, dof: np.ndarray, robot: RobotModel
) -> list[Finding]:
    """The robot's lowest point (its collision geometry placed by MuJoCo) against z = 0."""
    lowest = lowest_points(root_pos, root_rot, dof, robot)
    findings = []
    sunk = np.nonzero(lowest < -PENETRATION)[0]
    deepest = int(lowest.argmin())
    if sunk.size:
        findings.append(
            Finding(
                "warning",
                "floor_penetration",
                f"the robot is up to {-lowest.min():.3f} m below the floor in "
                f"{100 * sunk.size / lowest.size:.0f}% of frames (deepest at frame {deepest}: "
                f"lowest point z = {lowest[deepest]:.3f} m); raise the root or fix the "
                "retargeting",
                sunk[:MAX_LISTED].tolist(),
            )
        )
    # Flight phases are fine; a clip that (almost) never comes down to the floor is not.
    grounded = float(np.percentile(lowest, 5))
    if grounded > FLOATING:
        findings.append(
            Finding(
                "warning",
                "floating",
                f"the robot's lowest point stays {grounded:.3f} m or more above the floor in "
                f"95% of frames (nearest the floor at frame {deepest}: z = "
                f"{lowest[deepest]:.3f} m): the clip floats; lower the root",
                [deepest],
            )
        )
    return findings


def check_spikes(
    root_pos: np.ndarray, dof: np.ndarray, fps: float, dof_names: list[str]
) -> list[Finding]:
    """Implausible speeds, and accelerations far above the clip's own typical level
    (a glitch frame, a missing frame or a wrap-around jump)."""
    findings = []
    root_speed = np.linalg.norm(np.diff(root_pos, axis=0), axis=1) * fps
    dof_speed = np.abs(np.diff(dof, axis=0)) * fps if dof.shape[1] else np.zeros((0, 0))
    fast_root = np.nonzero(root_speed > ROOT_SPEED)[0]
    if fast_root.size:
        findings.append(
            Finding(
                "warning",
                "root_speed",
                f"root moves at up to {root_speed.max():.1f} m/s (> {ROOT_SPEED:g}) between "
                f"{fast_root.size} frame pair(s); a teleport or a unit mix-up",
                fast_root[:MAX_LISTED].tolist(),
            )
        )
    if dof_speed.size and (dof_speed > DOF_SPEED).any():
        rows, cols = np.nonzero(dof_speed > DOF_SPEED)
        names = sorted({dof_names[c] for c in cols})
        findings.append(
            Finding(
                "warning",
                "dof_speed",
                f"joint speeds up to {dof_speed.max():.1f} rad/s (> {DOF_SPEED:g}) in "
                f"{', '.join(names[:MAX_LISTED])}; a glitch or a missing frame",
                np.unique(rows)[:MAX_LISTED].tolist(),
            )
        )
    series = np.concatenate([root_pos, dof], axis=1)
    if series.shape[0] >= 5:
        acc = np.abs(np.diff(series, n=2, axis=0)) * fps**2
        # A floor for still channels, whose median acceleration is ~0.
        typical = np.maximum(np.median(acc, axis=0), ACCEL_FLOOR)
        spikes = np.nonzero((acc > SPIKE_FACTOR * typical).any(axis=1))[0]
        if spikes.size:
            findings.append(
                Finding(
                    "warning",
                    "acceleration",
                    f"acceleration spikes (> {SPIKE_FACTOR:g}x the clip's median) at "
                    f"{spikes.size} frame(s); smooth the clip or cut the glitch",
                    (spikes + 1)[:MAX_LISTED].tolist(),
                )
            )
    return findings


def check_root_height(root_pos: np.ndarray) -> list[Finding]:
    z = root_pos[:, 2]
    finding = Finding(
        "info",
        "root_height",
        f"root height {z.min():.3f} to {z.max():.3f} m (median {np.median(z):.3f})",
    )
    if z.min() < 0:
        finding.severity = "warning"
        finding.message += "; the root goes below the floor"
        finding.frames = np.nonzero(z < 0)[0][:MAX_LISTED].tolist()
    return [finding]


# ----------------------------------------------------------------------------- helpers
def lowest_points(
    root_pos: np.ndarray, root_rot: np.ndarray, dof: np.ndarray, robot: RobotModel
) -> np.ndarray:
    """Per frame, the lowest z of the robot's collision geoms (all geoms if none collide):
    exact for spheres, capsules and boxes, the bounding box for other shapes."""
    model = robot.mj_model
    data = mujoco.MjData(model)
    geoms = np.nonzero((model.geom_contype | model.geom_conaffinity) != 0)[0]
    geoms = geoms[model.geom_bodyid[geoms] > 0]
    if geoms.size == 0:
        geoms = np.nonzero(model.geom_bodyid > 0)[0]
    kin = Kinematics(robot, dtype=torch.float64)
    joints = kin.dof_to_qpos(torch.as_tensor(dof, dtype=torch.float64)).numpy()
    qpos = np.concatenate([root_pos, root_rot, joints], axis=1)
    corners = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).reshape(3, -1).T  # (8, 3)
    lowest = np.empty(qpos.shape[0])
    for t, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        lowest[t] = min(_geom_bottom(model, data, g, corners) for g in geoms)
    return lowest


def _geom_bottom(model: mujoco.MjModel, data: mujoco.MjData, g: int, corners) -> float:
    z = data.geom_xpos[g, 2]
    size = model.geom_size[g]
    kind = model.geom_type[g]
    if kind == mujoco.mjtGeom.mjGEOM_SPHERE:
        return z - size[0]
    up = data.geom_xmat[g].reshape(3, 3)[2]  # world z of the geom's local axes
    if kind == mujoco.mjtGeom.mjGEOM_CAPSULE:
        return z - abs(up[2]) * size[1] - size[0]
    if kind == mujoco.mjtGeom.mjGEOM_BOX:
        return z - float(np.abs(up) @ size)
    center, half = model.geom_aabb[g, :3], model.geom_aabb[g, 3:]
    return z + float(((center + corners * half) @ up).min())


def _median_tilt(quats: np.ndarray) -> float:
    """Median angle between the root's up axis and world +z."""
    q = torch.as_tensor(quats, dtype=torch.float64)
    q = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    up = quat_rotate(q, torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64).expand_as(q[:, 1:]))
    return float(np.median(np.arccos(np.clip(up[:, 2].numpy(), -1.0, 1.0))))
