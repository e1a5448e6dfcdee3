"""``mjmimic sim2sim``: run an exported ONNX policy in a fresh MuJoCo simulation.

Only the ONNX file and a robot MJCF are used: the scene, PD gains, timing, observation
layout and reference clip all come from the policy's metadata, and the observation is
built by ``numpy_obs`` from ``MjData`` (not by the training env). One plain ``MjData``,
``mj_step`` per physics substep, onnxruntime once per control step. That is what a
deployment script does, so a policy that works here and not in yours points at your
script, and one that fails here points at the export.

PD: one MuJoCo actuator per joint computing ``clip(kp (q* - q) - kd q̇, ±effort)`` at every
substep with kp/kd/effort from the metadata (torque mode: a motor clipped to ±effort).
MuJoCo then integrates the kd term implicitly, exactly as in training; a hand-written PD
torque needs a smaller timestep for the same gains to stay stable.

Falls are what ended training episodes: a body outside ``falls.contact_bodies`` touching
the floor during any substep, or the root below ``falls.termination_height``. After a
fall the character is put back on the reference at the current motion time and the run
goes on, so one fall does not hide the rest of the clip.

A policy that observes no reference (AMP: no target frames, no phase) embeds no clip.
Without ``--motion`` it starts, and restarts after a fall, from the robot's rest pose
(the MJCF's ``qpos0``, at rest), and no tracking errors are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np
import onnxruntime as ort

from mjmimic.engines.scene import INTEGRATORS, SOLVERS, strip_demo_scene
from mjmimic.errors import MjmimicError
from mjmimic.export.metadata import PolicyMetadata, read_policy
from mjmimic.export.numpy_obs import RobotMap, observation, quat_angle
from mjmimic.export.reference import ReferenceMotion
from mjmimic.robots.model import load_mjcf

FLOOR = "sim2sim_floor"


@dataclass
class Sim2SimReport:
    """Per control step: tracking errors after the step; times (s) of falls."""

    seconds: float = 0.0
    steps: int = 0
    root_pos_err: list[float] = field(default_factory=list)  # m; empty without a reference
    joint_rot_err: list[float] = field(default_factory=list)  # rad, mean over moving joints
    fall_times: list[float] = field(default_factory=list)

    def summary(self) -> str:
        root, joint = np.asarray(self.root_pos_err), np.asarray(self.joint_rot_err)
        falls = ", ".join(f"{t:.2f}" for t in self.fall_times)
        lines = [
            f"simulated:           {self.seconds:.2f} s ({self.steps} control steps)",
            f"falls:               {len(self.fall_times)}" + (f" (at {falls} s)" if falls else ""),
        ]
        if root.size:
            lines += [
                f"root position err:   mean {root.mean():.4f} m, max {root.max():.4f} m",
                f"joint rotation err:  mean {joint.mean():.4f} rad, max {joint.max():.4f} rad",
            ]
        else:
            lines.append("tracking errors:     none (no reference motion)")
        return "\n".join(lines)


def build_scene(robot_file: Path, meta: PolicyMetadata) -> mujoco.MjModel:
    """The robot on a floor, with the policy's actuators, joint properties and options."""
    load_mjcf(robot_file)  # one-line errors for missing or broken files
    spec = mujoco.MjSpec.from_file(str(robot_file))
    strip_demo_scene(spec)
    for item in [*spec.actuators, *spec.sensors, *spec.keys]:
        spec.delete(item)
    phys = meta.physics
    names = {j.name for j in spec.joints}
    for i, name in enumerate(meta.joint_names):
        if name not in names:
            continue  # RobotMap reports every mismatch at once
        joint = spec.joint(name)
        joint.armature = phys.armature[i]
        joint.damping = np.full(3, phys.damping[i])
        joint.stiffness = np.full(3, phys.stiffness[i])
        joint.frictionloss = phys.frictionloss[i]
        act = spec.add_actuator(target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        effort = meta.effort_limit[i]
        if meta.control_mode == "pos":
            act.set_to_position(kp=meta.kp[i], kv=meta.kd[i])
            act.ctrllimited = 0
            if effort is not None:
                act.forcelimited = 1
                act.forcerange = [-effort, effort]
        else:
            act.set_to_motor()
            if effort is not None:
                act.ctrllimited = 1
                act.ctrlrange = [-effort, effort]
    floor = spec.worldbody.add_geom(
        name=FLOOR,
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        size=[0.0, 0.0, 0.05],
        friction=[phys.floor_friction, 0.005, 0.0001],
        condim=3,
    )
    floor.contype = floor.conaffinity = 1
    spec.option.timestep = meta.sim_dt
    spec.option.integrator = INTEGRATORS[phys.integrator]
    spec.option.solver = SOLVERS[phys.solver]
    spec.option.iterations = phys.iterations
    spec.option.ls_iterations = phys.ls_iterations
    try:
        return spec.compile()
    except ValueError as exc:
        raise MjmimicError(f"{robot_file}: cannot build the sim2sim scene: {exc}") from None


class Sim2Sim:
    """One robot in one ``MjData``, driven by the ONNX policy at the metadata's rates."""

    def __init__(self, policy_file: Path | str, robot_file: Path | str, motion: str | None = None):
        policy_file, robot_file = Path(policy_file), Path(robot_file)
        _, self.meta = read_policy(policy_file)
        meta = self.meta
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(policy_file), options, providers=["CPUExecutionProvider"]
        )
        width = self.session.get_inputs()[0].shape[-1]
        if width != meta.observation.size:
            raise MjmimicError(
                f"{policy_file}: model input has {width} numbers, metadata says "
                f"{meta.observation.size}"
            )
        self.robot_file = robot_file
        self.model = build_scene(robot_file, meta)
        self.data = mujoco.MjData(self.model)
        self.robot = RobotMap(self.model, meta, str(robot_file))
        self.reference = _reference(meta, self.robot, robot_file, motion)
        self.substeps = round(meta.control_dt / meta.sim_dt)
        self.floor = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_GEOM, FLOOR)
        allowed = meta.falls.contact_bodies
        self.check_contacts = bool(allowed)
        self.contact_ok = np.ones(self.model.nbody, dtype=bool)
        self.contact_ok[self.robot.body_ids] = False
        for name in allowed:
            self.contact_ok[mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, name)] = True
        self.motion_time = 0.0

    # ------------------------------------------------------------------------- stepping
    def reset(self, motion_time: float) -> None:
        """Put the character on the reference (pose and velocities) at ``motion_time``;
        without a reference, at the robot's rest pose."""
        mujoco.mj_resetData(self.model, self.data)
        if self.reference is not None:
            fr = self.reference.frame(motion_time)
            self.data.qpos[:] = self.robot.qpos(fr.root_pos, fr.root_rot, fr.dof_pos)
            self.data.qvel[:] = self.robot.qvel(
                fr.root_rot, fr.root_vel, fr.root_ang_vel, fr.dof_vel
            )
        mujoco.mj_forward(self.model, self.data)
        self.motion_time = motion_time

    def observe(self) -> np.ndarray:
        info = self.meta.observation
        dt = self.meta.control_dt
        targets = (
            [self.reference.pose(self.motion_time + s * dt) for s in info.tar_obs_steps]
            if info.enable_tar_obs
            else []
        )
        phase = self.reference.phase(self.motion_time) if info.enable_phase_obs else None
        return observation(info, self.robot.pose(self.data), targets, phase)

    def act(self, obs: np.ndarray) -> np.ndarray:
        meta = self.meta
        return self.session.run(meta.outputs[:1], {meta.inputs[0]: obs[None]})[0][0]

    def step(self, action: np.ndarray) -> bool:
        """Hold ``action`` for one control step; True if the character fell."""
        self.data.ctrl[:] = action
        touched = False
        for _ in range(self.substeps):
            mujoco.mj_step(self.model, self.data)
            touched = touched or self._forbidden_contact()
        # mj_step leaves body poses of the state before its last integration.
        mujoco.mj_kinematics(self.model, self.data)
        self.motion_time += self.meta.control_dt
        height = self.meta.falls.termination_height
        low = height is not None and self.data.xpos[self.robot.body_ids[0], 2] < height
        return touched or low

    def _forbidden_contact(self) -> bool:
        if not self.check_contacts:
            return False
        d, m = self.data, self.model
        for c in d.contact[: d.ncon]:
            if self.floor in (c.geom1, c.geom2):
                other = c.geom2 if c.geom1 == self.floor else c.geom1
                if not self.contact_ok[m.geom_bodyid[other]]:
                    return True
        return False

    def tracking_errors(self) -> tuple[float, float] | None:
        """(root position error m, mean joint rotation error rad) against the reference;
        None without one."""
        if self.reference is None:
            return None
        fr = self.reference.frame(self.motion_time)
        char = self.robot.pose(self.data)
        moving = self.robot.moving
        angle = quat_angle(char.joint_rot[moving], fr.joint_rot[moving])
        return float(np.linalg.norm(char.root_pos - fr.root_pos)), float(angle.mean())

    def run(self, seconds: float, start: float = 0.0, video: Path | None = None) -> Sim2SimReport:
        """Run from the reference at ``start`` for ``seconds``; optionally write a video of
        the character beside its reference."""
        if not seconds > 0:
            raise MjmimicError(f"--seconds must be positive, got {seconds}")
        steps = max(1, round(seconds / self.meta.control_dt))
        report = Sim2SimReport()
        self.reset(start)
        frames = []
        for k in range(steps):
            fell = self.step(self.act(self.observe()))
            errors = self.tracking_errors()
            if errors is not None:
                report.root_pos_err.append(errors[0])
                report.joint_rot_err.append(errors[1])
            if video is not None:
                frames.append((self.data.qpos.copy(), self._reference_qpos()))
            if fell:
                report.fall_times.append((k + 1) * self.meta.control_dt)
                self.reset(self.motion_time)
        report.seconds = steps * self.meta.control_dt
        report.steps = steps
        if video is not None:
            self._write_video(video, frames)
        return report

    def _reference_qpos(self) -> np.ndarray | None:
        if self.reference is None:
            return None
        fr = self.reference.frame(self.motion_time)
        return self.robot.qpos(fr.root_pos, fr.root_rot, fr.dof_pos)

    def _write_video(self, path: Path, frames: list[tuple[np.ndarray, np.ndarray]]) -> None:
        from mjmimic.render.offscreen import RobotView
        from mjmimic.render.video import open_video_writer

        offset = np.array([0.0, 1.0, 0.0])  # the reference stands beside, to the left
        ghost_on = self.reference is not None
        writer = open_video_writer(path, 1.0 / self.meta.control_dt)
        try:
            with RobotView(self.robot_file, ghost=ghost_on, ghost_offset=offset.tolist()) as view:
                for char, ghost in frames:
                    if ghost is not None:
                        ghost = ghost.copy()
                        ghost[self.robot.root_qpos : self.robot.root_qpos + 3] += offset
                    view.set_pose(char, ghost)
                    writer.append_data(view.render())
        finally:
            writer.close()


def _reference(
    meta: PolicyMetadata, robot: RobotMap, robot_file: Path, motion: str | None
) -> ReferenceMotion | None:
    """The embedded clip named ``motion`` (default: the first), or a motion file; None for
    a policy that embeds none and observes none (AMP) when no ``motion`` is given."""
    clips = {c.name: c for c in meta.reference_motions}
    if motion is None and not clips:
        obs = meta.observation
        if not (obs.enable_phase_obs or obs.enable_tar_obs):
            return None
    if motion is None or motion in clips:
        if not clips:
            raise MjmimicError("the policy embeds no reference motion; give one with --motion")
        clip = clips[motion] if motion else meta.reference_motions[0]
        return ReferenceMotion(clip.arrays(), robot, clip.name)
    path = Path(motion)
    if not path.is_file():
        raise MjmimicError(
            f"--motion {motion}: neither an embedded clip ({', '.join(clips) or 'none'}) "
            "nor a motion file"
        )
    from mjmimic.motion.formats import read_motion
    from mjmimic.robots.model import RobotModel

    model = RobotModel.from_file(robot_file)
    clip = read_motion(path, model).align_to_robot(model, str(path))
    order = [model.dof_names.index(n) for n in meta.joint_names]
    arrays = {
        "fps": np.array(clip.fps),
        "loop_mode": np.array(clip.loop_mode),
        "root_pos": clip.root_pos,
        "root_rot": clip.root_rot,
        "dof_pos": clip.dof_pos[:, order],
    }
    return ReferenceMotion(arrays, robot, path.stem)
