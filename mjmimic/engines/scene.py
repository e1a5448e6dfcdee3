"""Compose the simulated scene from a robot MJCF: one robot on a flat floor.

The robot file is left untouched on disk; on a copy (``mujoco.MjSpec``) we

* remove what the file brought for its own demo scene: floor planes and lights in the
  worldbody, keyframes (their ctrl size no longer fits) and sensors (they would be
  recomputed every substep for nothing);
* replace the actuators with one per DoF in robot DoF order: ``pos`` mode = a PD actuator
  ``tau = clip(kp (target - q) - kd qdot, ±effort)`` evaluated by MuJoCo at every physics
  substep (kd enters the implicit integrator, which keeps stiff gains stable); ``torque``
  mode = a motor whose control is the joint torque, clipped to ±effort;
* add our floor, a light, and one contact sensor per body against the floor (the
  per-body ground-contact flags and forces);
* set the timestep and solver options from the engine config.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from mjmimic.engines.actuation import PDTable, config_gains_for
from mjmimic.engines.config import EngineConfig
from mjmimic.errors import AssetError
from mjmimic.robots.model import RobotModel

FLOOR_NAME = "mjmimic_floor"

# MuJoCo's enums by the names engine configs (and policy metadata) use.
INTEGRATORS = {
    "euler": mujoco.mjtIntegrator.mjINT_EULER,
    "rk4": mujoco.mjtIntegrator.mjINT_RK4,
    "implicit": mujoco.mjtIntegrator.mjINT_IMPLICIT,
    "implicitfast": mujoco.mjtIntegrator.mjINT_IMPLICITFAST,
}
SOLVERS = {
    "newton": mujoco.mjtSolver.mjSOL_NEWTON,
    "cg": mujoco.mjtSolver.mjSOL_CG,
    "pgs": mujoco.mjtSolver.mjSOL_PGS,
}


def build_scene(robot: RobotModel, cfg: EngineConfig, pd: PDTable) -> mujoco.MjModel:
    spec = mujoco.MjSpec.from_file(robot.source)
    strip_demo_scene(spec)
    for a in list(spec.actuators):
        spec.delete(a)
    for s in list(spec.sensors):
        spec.delete(s)
    for k in list(spec.keys):
        spec.delete(k)
    if cfg.control_mode == "pos" and robot.has_ball_joints:
        raise AssetError(
            f"{robot.source}: ball joints cannot be PD-driven by MuJoCo actuators; use "
            "control_mode: torque or model the joint as 3 hinges"
        )
    passive = {
        mujoco.mj_id2name(robot.mj_model, mujoco.mjtObj.mjOBJ_JOINT, j)
        for j in pd.passive_from_joint
    }
    for joint in spec.joints:
        if joint.name in passive:
            joint.stiffness = np.zeros(3)
            joint.damping = np.zeros(3)
        gains = config_gains_for(cfg.joint_gains, joint.name)
        if gains is not None and gains.armature is not None:
            joint.armature = gains.armature
    for joint in robot.joints:
        for k in range(joint.dof_count):
            d = joint.dof_start + k
            if joint.kind == "ball":  # three motors about the ball's local x, y, z axes
                target, gear = joint.name, np.eye(3)[k]
            else:
                target, gear = joint.hinge_names[k], np.array([1.0, 0.0, 0.0])
            _add_actuator(spec, target, gear, cfg.control_mode, pd.kp[d], pd.kd[d], pd.effort[d])
    floor = spec.worldbody.add_geom(
        name=FLOOR_NAME,
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        size=[0.0, 0.0, 0.05],  # size 0 = infinite plane
        friction=[cfg.floor_friction, 0.005, 0.0001],
        condim=3,
        rgba=[0.45, 0.5, 0.55, 1.0],
    )
    floor.contype = 1
    floor.conaffinity = 1
    spec.worldbody.add_light(
        pos=[0, 0, 4], dir=[0, 0, -1], type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL
    )
    for name in robot.body_names:
        sensor = spec.add_sensor(
            type=mujoco.mjtSensor.mjSENS_CONTACT,
            objtype=mujoco.mjtObj.mjOBJ_BODY,
            objname=name,
            reftype=mujoco.mjtObj.mjOBJ_GEOM,
            refname=FLOOR_NAME,
        )
        # data = found | force (bits 1|2), reduce = netforce (3), one slot.
        sensor.intprm = [3, 3, 1]
    spec.option.timestep = 1.0 / cfg.sim_freq
    spec.option.integrator = INTEGRATORS[cfg.integrator]
    spec.option.solver = SOLVERS[cfg.solver]
    spec.option.iterations = cfg.iterations
    spec.option.ls_iterations = cfg.ls_iterations
    try:
        return spec.compile()
    except ValueError as exc:
        raise AssetError(f"{robot.source}: cannot build the simulation scene: {exc}") from None


def strip_demo_scene(spec: mujoco.MjSpec) -> None:
    for geom in list(spec.worldbody.geoms):
        if geom.type in (mujoco.mjtGeom.mjGEOM_PLANE, mujoco.mjtGeom.mjGEOM_HFIELD):
            spec.delete(geom)
    for light in list(spec.worldbody.lights):
        spec.delete(light)


def _add_actuator(
    spec: mujoco.MjSpec,
    joint: str,
    gear: np.ndarray,
    mode: str,
    kp: float,
    kd: float,
    effort: float,
) -> None:
    act = spec.add_actuator(target=joint, trntype=mujoco.mjtTrn.mjTRN_JOINT)
    act.gear = np.r_[gear, np.zeros(3)]
    limited = math.isfinite(effort)
    if mode == "pos":
        act.gaintype = mujoco.mjtGain.mjGAIN_FIXED
        act.biastype = mujoco.mjtBias.mjBIAS_AFFINE
        act.gainprm = np.r_[kp, np.zeros(9)]
        act.biasprm = np.r_[0.0, -kp, -kd, np.zeros(7)]
        act.ctrllimited = 0
        act.forcelimited = 1 if limited else 0
        if limited:
            act.forcerange = [-effort, effort]
    else:
        act.gaintype = mujoco.mjtGain.mjGAIN_FIXED
        act.biastype = mujoco.mjtBias.mjBIAS_NONE
        act.gainprm = np.r_[1.0, np.zeros(9)]
        act.ctrllimited = 1 if limited else 0
        if limited:
            act.ctrlrange = [-effort, effort]
