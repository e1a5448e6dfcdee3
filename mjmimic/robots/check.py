"""``mjmimic robot check``: is a robot profile right for its MJCF, before any training?

Three parts: the DoF table (limits, axes, gains, effort, as the profile applies them), the
mass and collision geoms, and a **joint sweep**: with the base welded in the air, gravity
and contacts off, each joint in turn follows a slow sine over most of its range under the
profile's PD (as the engine applies it: kp (q* - q) - kd qdot, clipped to the effort)
while the others hold the default pose. A joint whose tracking error is large has a kp
too small for the inertia it moves, an effort limit too low for the swing, or limits
that put the swing where the link cannot go (kp 100x too small lags by a large part of
the swing). Gravity is off because sagging under load is a fact of the G1's mjlab-derived
gains (the waist sags ~0.3 rad when the upper body hangs off it), not an error; the
policy learns to offset it. The fixed-base model is built here from the MJCF, not by the
engine, so the check does not inherit an engine bug it is meant to reveal.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from mjmimic.errors import AssetError
from mjmimic.robots.model import RobotModel
from mjmimic.robots.profiles import RobotProfile

SWEEP_PERIOD = 6.0  # s per sine period: slow, so the error is the PD's, not inertia's
SWEEP_FRACTION = 0.8  # of the joint range covered by the sine
SIM_FREQ = 500  # Hz
# A joint is flagged when its RMS tracking error exceeds this fraction of the sine
# amplitude. Without gravity the error is the PD's lag, (kd/kp) * velocity: with the
# mjlab rule kd/kp = 2 zeta / w = 0.064 s, an RMS of 0.047 of the amplitude at this
# period, plus inertia; kp 100x too small lags by most of the amplitude.
FLAG_FRACTION = 0.15


@dataclass(frozen=True)
class SweepResult:
    joint: str
    amplitude: float  # rad
    rms_error: float  # rad
    max_error: float  # rad

    @property
    def flagged(self) -> bool:
        return self.rms_error > FLAG_FRACTION * self.amplitude


def dof_table(profile: RobotProfile, robot: RobotModel) -> str:
    model = robot.mj_model
    header = (
        f"{'joint':<26}{'axis':>12}{'low':>8}{'high':>8}{'kp':>9}{'kd':>8}{'effort':>8}"
        f"{'armature':>10}"
    )
    lines = [header]
    for d, name in enumerate(robot.dof_names):
        j = profile.joints[name]
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)
        axis = " ".join(
            f"{a:+.0f}" if abs(a) in (0.0, 1.0) else f"{a:+.2f}" for a in model.jnt_axis[jid]
        )
        armature = (
            j.armature
            if j.armature is not None
            else float(model.dof_armature[model.jnt_dofadr[jid]])
        )
        lines.append(
            f"{name:<26}{axis:>12}{robot.dof_low[d]:>8.2f}{robot.dof_high[d]:>8.2f}"
            f"{j.kp:>9.2f}{j.kd:>8.3f}{j.effort:>8.1f}{armature:>10.5f}"
        )
    return "\n".join(lines)


def collision_geoms(robot: RobotModel) -> dict[str, int]:
    """Body name -> number of geoms that collide (contype or conaffinity set)."""
    model = robot.mj_model
    counts: dict[str, int] = {}
    for g in range(model.ngeom):
        body = int(model.geom_bodyid[g])
        if body == 0 or not (model.geom_contype[g] or model.geom_conaffinity[g]):
            continue
        name = robot.body_names[body - 1]
        counts[name] = counts.get(name, 0) + 1
    return counts


def total_mass(robot: RobotModel) -> float:
    return float(robot.mj_model.body_subtreemass[1])


def joint_sweep(
    profile: RobotProfile, robot: RobotModel, joints: list[str] | None = None
) -> list[SweepResult]:
    """Sweep every joint (or those named) one at a time; see the module docstring."""
    model = _fixed_base_model(profile, robot)
    data = mujoco.MjData(model)
    default = np.array([profile.joints[n].default for n in robot.dof_names])
    qadr = [model.jnt_qposadr[_joint_id(model, n)] for n in robot.dof_names]
    steps = int(SWEEP_PERIOD * SIM_FREQ)
    settle = steps // 4  # the first quarter period: the start transient
    results = []
    for d, name in enumerate(robot.dof_names):
        if joints is not None and name not in joints:
            continue
        mid = 0.5 * (robot.dof_low[d] + robot.dof_high[d])
        amplitude = 0.5 * SWEEP_FRACTION * (robot.dof_high[d] - robot.dof_low[d])
        target = default.copy()
        target[d] = mid
        mujoco.mj_resetData(model, data)
        data.qpos[qadr] = target
        errors = np.empty(steps)
        omega = 2 * np.pi / SWEEP_PERIOD
        for k in range(steps):
            phase = omega * k / SIM_FREQ
            target[d] = mid + amplitude * np.sin(phase)
            data.ctrl[:] = target
            mujoco.mj_step(model, data)
            errors[k] = data.qpos[qadr[d]] - target[d]
        tail = np.abs(errors[settle:])
        results.append(
            SweepResult(name, amplitude, float(np.sqrt(np.mean(tail**2))), float(tail.max()))
        )
    return results


def format_sweep(results: list[SweepResult]) -> str:
    lines = [f"{'joint':<26}{'amplitude':>10}{'rms err':>10}{'max err':>10}  (rad)"]
    for r in results:
        flag = "  LARGE: check gains, effort, limits" if r.flagged else ""
        lines.append(
            f"{r.joint:<26}{r.amplitude:>10.3f}{r.rms_error:>10.4f}{r.max_error:>10.4f}{flag}"
        )
    return "\n".join(lines)


def _joint_id(model: mujoco.MjModel, name: str) -> int:
    return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)


def _fixed_base_model(profile: RobotProfile, robot: RobotModel) -> mujoco.MjModel:
    """The robot welded 1 m above its MJCF pose, contacts off, one PD actuator per joint
    (control = target angle) with the profile's kp, kd, effort and armature."""
    spec = mujoco.MjSpec.from_file(robot.source)
    for a in list(spec.actuators):
        spec.delete(a)
    for s in list(spec.sensors):
        spec.delete(s)
    for k in list(spec.keys):
        spec.delete(k)
    for joint in list(spec.joints):
        if joint.type == mujoco.mjtJoint.mjJNT_FREE:
            root = joint.parent
            spec.delete(joint)
            root.pos = np.asarray(root.pos) + np.array([0.0, 0.0, 1.0])
    spec.option.disableflags |= mujoco.mjtDisableBit.mjDSBL_CONTACT
    spec.option.gravity = [0.0, 0.0, 0.0]
    spec.option.timestep = 1.0 / SIM_FREQ
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    by_name = {j.name: j for j in spec.joints}
    for name in robot.dof_names:
        j = profile.joints[name]
        if j.armature is not None:
            by_name[name].armature = j.armature
        # MimicKit-style MJCFs encode the PD as joint springs; the profile's PD replaces them.
        by_name[name].stiffness = np.zeros(3)
        by_name[name].damping = np.zeros(3)
        act = spec.add_actuator(target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        # A position servo: MuJoCo's implicit integrator treats kd implicitly, as in the
        # engine (explicit damping is unstable for kd ~100 on light links).
        act.gaintype = mujoco.mjtGain.mjGAIN_FIXED
        act.biastype = mujoco.mjtBias.mjBIAS_AFFINE
        act.gainprm = np.r_[j.kp, np.zeros(9)]
        act.biasprm = np.r_[0.0, -j.kp, -j.kd, np.zeros(7)]
        act.ctrllimited = 0  # MJCF defaults may limit controls (MimicKit's: +-1)
        act.forcelimited = 1
        act.forcerange = [-j.effort, j.effort]
    try:
        return spec.compile()
    except ValueError as exc:
        raise AssetError(f"{robot.source}: cannot build the fixed-base model: {exc}") from None
