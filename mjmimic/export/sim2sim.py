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

A control step fails when the policy's action is not finite (it is not sent: MuJoCo
would zero the controls and the character would stand on its PD targets at 0) or when the
physics is (MuJoCo's bad-control/qpos/qvel/qacc warnings: it resets such a state to
``qpos0`` silently, or non-finite qpos/qvel). A failed step is counted and reported, its
tracking errors are not, and the character restarts on the reference as after a fall;
``mjmimic sim2sim`` then exits with status 1.

A policy that observes no reference (AMP: no target frames, no phase) embeds no clip.
Without ``--motion`` it starts, and restarts after a fall, from the robot's rest pose
(the MJCF's ``qpos0``, at rest), and no tracking errors are reported.

A whole-body tracking policy (format version 2) is run the same way with its own
observation (``numpy_tracking_obs``), its raw actions mapped to PD targets
(``default_joint_pos + action_scale * actions``) and its failure rules (anchor height and
tilt, end-effector heights) counted as falls, each with its cause.

The control rate is the trained one (``1 / control_dt``). Another rate changes what the
policy's feedback means (how long an action is held, the velocities and previous action it
sees) and is refused unless asked for (``control_timing``); the physics always steps at
the trained ``sim_dt``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from mjmimic.engines.scene import INTEGRATORS, SOLVERS, strip_demo_scene
from mjmimic.errors import MjmimicError
from mjmimic.export.metadata import PolicyMetadata, ReferenceClip, read_policy
from mjmimic.export.numpy_obs import RobotMap, observation, quat_angle
from mjmimic.export.numpy_tracking_obs import (
    TRACKING_FAILURES,
    TrackingBodies,
    tracking_failure,
    tracking_observation,
)
from mjmimic.export.reference import ReferenceMotion
from mjmimic.export.sim2sim_randomization import EpisodeRandomization, RandomizationRanges
from mjmimic.export.tracking_metadata import ACTIONS_DEFAULT_OFFSET, TASK_TRACKING
from mjmimic.robots.model import load_mjcf

FLOOR = "sim2sim_floor"


@dataclass
class Sim2SimReport:
    """Per control step: tracking errors after the step; times (s) and causes of falls."""

    seconds: float = 0.0
    steps: int = 0
    tracked: bool = True  # there is a reference to measure errors against
    root_pos_err: list[float] = field(default_factory=list)  # m; empty without a reference
    joint_rot_err: list[float] = field(default_factory=list)  # rad, mean over moving joints
    fall_times: list[float] = field(default_factory=list)
    fall_causes: list[str] = field(default_factory=list)  # FALLS keys, one per fall
    # (time s, FAILURES key) of every control step that failed; excluded from the errors.
    failures: list[tuple[float, str]] = field(default_factory=list)

    def failure_line(self) -> str | None:
        """``N of M control steps failed: ...`` (None when none did)."""
        if not self.failures:
            return None
        kinds = [kind for _, kind in self.failures]
        parts = [f"{kinds.count(k)} {FAILURES[k]}" for k in FAILURES if k in kinds]
        return (
            f"{len(self.failures)} of {self.steps} control steps failed ({', '.join(parts)}; "
            f"first at {self.failures[0][0]:.2f} s); the character restarted on the reference "
            "after each"
        )

    def summary(self) -> str:
        root, joint = np.asarray(self.root_pos_err), np.asarray(self.joint_rot_err)
        falls = ", ".join(f"{t:.2f}" for t in self.fall_times)
        causes = cause_counts(self.fall_causes)
        lines = [
            f"simulated:           {self.seconds:.2f} s ({self.steps} control steps)",
            f"falls:               {len(self.fall_times)}"
            + (f" (at {falls} s; {causes})" if falls else ""),
        ]
        failed = self.failure_line()
        if failed is not None:
            lines.append(f"failed steps:        {failed}")
        if root.size:
            lines += [
                f"root position err:   mean {root.mean():.4f} m, max {root.max():.4f} m",
                f"joint rotation err:  mean {joint.mean():.4f} rad, max {joint.max():.4f} rad",
            ]
        elif self.tracked:
            lines.append("tracking errors:     none (every control step failed)")
        else:
            lines.append("tracking errors:     none (no reference motion)")
        return "\n".join(lines)


# Why the character fell, as the report words it: training's fall rules, then a tracking
# policy's failure rules.
FALLS = {
    "contact": "a body outside falls.contact_bodies on the floor",
    "root_height": "root below falls.termination_height",
    **TRACKING_FAILURES,
}


def cause_counts(causes: list[str]) -> str:
    """``contact 2, anchor_ori 1``: how often each cause occurred, in ``FALLS`` order."""
    return ", ".join(f"{k} {causes.count(k)}" for k in FALLS if k in causes)


# Why a control step failed, as the report words it.
FAILURES = {
    "action": "on a non-finite action",
    "physics": "on unstable physics (MuJoCo reset or dropped a bad state or control)",
}
# MuJoCo's warnings of a state or control it replaced (mj_resetData or zeroed ctrl).
_BAD_WARNINGS = (
    mujoco.mjtWarning.mjWARN_BADCTRL,
    mujoco.mjtWarning.mjWARN_BADQPOS,
    mujoco.mjtWarning.mjWARN_BADQVEL,
    mujoco.mjtWarning.mjWARN_BADQACC,
)


def control_timing(
    meta: PolicyMetadata, control_freq: float | None, allow_change: bool
) -> tuple[float, int, str | None]:
    """(control period s, physics substeps per control step, a warning or None) for
    running the policy at ``control_freq`` Hz (None: the trained rate).

    A rate other than the trained one is refused unless ``allow_change``: the policy's
    feedback was learned for actions held ``control_dt`` long and for the joint
    velocities and previous action at that rate, so at another rate its gains are off
    (a known cause of policies that shake or fall on the robot). The physics keeps the
    trained ``sim_dt``, so the rate must divide the physics rate."""
    trained = 1.0 / meta.control_dt
    substeps = round(meta.control_dt / meta.sim_dt)
    if control_freq is None or math.isclose(control_freq, trained, rel_tol=1e-6):
        return meta.control_dt, substeps, None
    if not allow_change:
        raise MjmimicError(
            f"--control_freq {control_freq:g}: the policy was trained at {trained:g} Hz; at "
            "another rate each action is held for another time and the joint velocities "
            "and previous action it observes change meaning, so its learned feedback is "
            "off and it typically oscillates or falls; run it at "
            f"{trained:g} Hz (on the robot too), or pass --allow_control_freq_change to try"
        )
    sim_freq = 1.0 / meta.sim_dt
    ratio = sim_freq / control_freq
    if round(ratio) < 1 or not math.isclose(ratio, round(ratio), rel_tol=1e-6):
        raise MjmimicError(
            f"--control_freq {control_freq:g}: the physics runs at {sim_freq:g} Hz (the "
            "trained sim_dt); give a control rate that divides it, e.g. "
            f"{sim_freq / (substeps * 2):g} or {sim_freq / max(substeps // 2, 1):g} Hz"
        )
    warning = (
        f"running the policy at {control_freq:g} Hz, trained at {trained:g} Hz "
        "(--allow_control_freq_change): expect worse tracking or instability"
    )
    return 1.0 / control_freq, round(ratio), warning


def build_scene(robot_file: Path, meta: PolicyMetadata) -> mujoco.MjModel:
    """The robot on a floor, with the policy's actuators, joint properties and options."""
    spec = scene_spec(robot_file, meta)
    try:
        return spec.compile()
    except ValueError as exc:
        raise MjmimicError(f"{robot_file}: cannot build the sim2sim scene: {exc}") from None


def write_scene_mjcf(robot_file: Path, meta: PolicyMetadata, path: Path) -> None:
    """The sim2sim scene as an MJCF file at ``path`` (mesh and texture folders made
    absolute): the robot as it was trained, for a deploy script that reads an MJCF and
    takes only the PD gains from the policy (``examples/mjlab_style_deploy.py``)."""
    spec = scene_spec(robot_file, meta)
    folder = Path(robot_file).resolve().parent
    spec.meshdir = str(folder / spec.meshdir)
    spec.texturedir = str(folder / spec.texturedir)
    path.write_text(spec.to_xml())


def scene_spec(robot_file: Path, meta: PolicyMetadata) -> mujoco.MjSpec:
    """``build_scene``'s scene before compiling: what a deploy MJCF of the robot as it was
    trained holds (``MjSpec.to_xml``)."""
    load_mjcf(robot_file)  # one-line errors for missing or broken files
    phys = meta.physics
    spec = mujoco.MjSpec.from_file(str(robot_file))
    strip_demo_scene(spec)
    for item in [*spec.actuators, *spec.sensors, *spec.keys]:
        spec.delete(item)
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
    return spec


class Sim2Sim:
    """One robot in one ``MjData``, driven by the ONNX policy at the metadata's rates
    (or at ``control_freq``, see ``control_timing``)."""

    def __init__(
        self,
        policy_file: Path | str,
        robot_file: Path | str,
        motion: str | None = None,
        control_freq: float | None = None,
        allow_control_freq_change: bool = False,
        randomization: RandomizationRanges | None = None,
        seed: int = 0,
    ):
        policy_file, robot_file = Path(policy_file), Path(robot_file)
        proto, self.meta = read_policy(policy_file)
        meta = self.meta
        self.control_dt, self.substeps, self.rate_warning = control_timing(
            meta, control_freq, allow_control_freq_change
        )
        _require_finite_weights(proto, policy_file)
        self.session = _session(policy_file, meta)
        self.policy_file, self.robot_file = policy_file, robot_file
        self.model = self.nominal_model = build_scene(robot_file, meta)
        self.data = mujoco.MjData(self.model)
        self.robot = RobotMap(self.model, meta, str(robot_file))
        # --randomize: each episode a new robot (sim2sim_randomization.py); None: nominal.
        self.randomization = (
            None
            if randomization is None
            else EpisodeRandomization(
                randomization,
                meta,
                self.nominal_model,
                self.robot.root_qpos,
                self.robot.root_dof,
                seed,
            )
        )
        self.motion = motion  # --motion: an embedded clip's name or a motion file
        self.reference = self._reference(motion)
        self.tracking = (
            TrackingBodies(self.robot, meta.observation, meta.falls)
            if meta.task == TASK_TRACKING
            else None
        )
        self.default_joint_pos = np.asarray(meta.default_joint_pos)
        self.action_scale = np.asarray(meta.action_scale)
        self.floor = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_GEOM, FLOOR)
        allowed = meta.falls.contact_bodies
        self.check_contacts = bool(allowed)
        self.contact_ok = np.ones(self.model.nbody, dtype=bool)
        self.contact_ok[self.robot.body_ids] = False
        for name in allowed:
            self.contact_ok[mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, name)] = True
        self.motion_time = 0.0
        self.last_action = np.zeros(len(meta.joint_names))  # the policy's previous output
        self.last_failure: str | None = None  # FAILURES key of the last step, if it failed

    # ------------------------------------------------------------------------ reference
    def embedded_clip(self, clip: ReferenceClip) -> ReferenceMotion:
        """One of the policy's embedded clips, ready to follow."""
        where = f"{self.policy_file}: embedded clip '{clip.name}'"
        return ReferenceMotion(clip.arrays(where), self.robot, clip.name, where)

    def _reference(self, motion: str | None) -> ReferenceMotion | None:
        """The embedded clip named ``motion`` (default: the first), or a motion file; None
        for a policy that embeds none and observes none (AMP) when no ``motion`` is given."""
        meta = self.meta
        clips = {c.name: c for c in meta.reference_motions}
        if motion is None and not clips:  # a tracking policy always embeds its clips
            obs = meta.observation
            if not (obs.enable_phase_obs or obs.enable_tar_obs):
                return None
        if motion is None or motion in clips:
            if not clips:
                raise MjmimicError("the policy embeds no reference motion; give one with --motion")
            return self.embedded_clip(clips[motion] if motion else meta.reference_motions[0])
        return _motion_file(motion, meta, self.robot, self.robot_file, list(clips))

    # ------------------------------------------------------------------------- stepping
    def start_episode(self, motion_time: float) -> None:
        """``reset`` on a new robot: under ``--randomize`` its physics, encoder bias and
        latency are drawn anew (a fall later in the episode keeps the same robot)."""
        if self.randomization is not None:
            self.model = self.randomization.new_robot()
        self.reset(motion_time)

    def reset(self, motion_time: float) -> None:
        """Put the character on the reference (pose and velocities) at ``motion_time``;
        without a reference, at the robot's rest pose. The previous action is 0."""
        mujoco.mj_resetData(self.model, self.data)
        if self.reference is not None:
            fr = self.reference.frame(motion_time)
            self.data.qpos[:] = self.robot.qpos(fr.root_pos, fr.root_rot, fr.dof_pos)
            self.data.qvel[:] = self.robot.qvel(
                fr.root_rot, fr.root_vel, fr.root_ang_vel, fr.dof_vel
            )
        mujoco.mj_forward(self.model, self.data)
        self.motion_time = motion_time
        self.last_action[:] = 0.0
        if self.randomization is not None:
            self.randomization.episode_start(self.data.qpos[self.robot.qpos_adr])

    def observe(self) -> np.ndarray:
        info = self.meta.observation
        if self.tracking is not None:
            command = self.tracking.command(self.reference.frame(self.motion_time))
            reading = self.tracking.read(self.data)
            if self.randomization is not None:
                reading.joint_pos = self.randomization.encoders(reading.joint_pos)
            return self._randomized(
                tracking_observation(
                    info, reading, command, self.default_joint_pos, self.last_action
                )
            )
        dt = self.meta.control_dt  # target frames are trained control steps ahead
        targets = (
            [self.reference.pose(self.motion_time + s * dt) for s in info.tar_obs_steps]
            if info.enable_tar_obs
            else []
        )
        phase = self.reference.phase(self.motion_time) if info.enable_phase_obs else None
        return self._randomized(observation(info, self.robot.pose(self.data), targets, phase))

    def _randomized(self, obs: np.ndarray) -> np.ndarray:
        return obs if self.randomization is None else self.randomization.observe(obs)

    def act(self, obs: np.ndarray) -> np.ndarray:
        feed = _feeds(self.meta, obs[None], self.motion_time / self.meta.control_dt)
        return self.session.run(self.meta.outputs[:1], feed)[0][0]

    def command(self, action: np.ndarray) -> np.ndarray:
        """The joint command of a policy output: itself, or for a tracking policy the PD
        target ``default_joint_pos + action_scale * action``."""
        if self.meta.action_mapping == ACTIONS_DEFAULT_OFFSET:
            return self.default_joint_pos + self.action_scale * action
        return action

    def step(self, action: np.ndarray) -> str | None:
        """Hold ``action`` for one control step; the ``FALLS`` key if the character fell,
        else None. A step that failed (module docstring) is no fall: ``last_failure`` says
        why, else it is None."""
        self.last_failure = None
        self.motion_time += self.control_dt
        if not np.isfinite(action).all():
            # Not sent: MuJoCo would zero every control and step on as if nothing happened.
            self.last_failure = "action"
            return None
        command = self.command(action)
        if self.randomization is not None:
            command = self.randomization.command(command)
        self.data.ctrl[:] = command
        self.last_action[:] = action
        warnings = self.data.warning
        for w in _BAD_WARNINGS:
            warnings[w].number = 0
        touched = False
        for _ in range(self.substeps):
            mujoco.mj_step(self.model, self.data)
            touched = touched or self._forbidden_contact()
        # mj_step leaves body poses of the state before its last integration.
        mujoco.mj_kinematics(self.model, self.data)
        if self.randomization is not None:
            self.randomization.push(self.data)  # after the physics step, as in training
        if any(warnings[w].number for w in _BAD_WARNINGS) or not (
            np.isfinite(self.data.qpos).all() and np.isfinite(self.data.qvel).all()
        ):
            self.last_failure = "physics"
            return None
        height = self.meta.falls.termination_height
        if touched:
            return "contact"
        if height is not None and self.data.xpos[self.robot.body_ids[0], 2] < height:
            return "root_height"
        if self.tracking is not None:
            command = self.tracking.command(self.reference.frame(self.motion_time))
            return tracking_failure(self.meta.falls, self.tracking.read(self.data), command)
        return None

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
        dt = self.control_dt
        steps = max(1, round(seconds / dt))
        report = Sim2SimReport(tracked=self.reference is not None)
        self.start_episode(start)
        frames = []
        for k in range(steps):
            fell = self.step(self.act(self.observe()))
            if self.last_failure is not None:
                report.failures.append(((k + 1) * dt, self.last_failure))
                self.reset(self.motion_time)
                if video is not None:
                    frames.append((self.data.qpos.copy(), self._reference_qpos()))
                continue
            errors = self.tracking_errors()
            if errors is not None:
                report.root_pos_err.append(errors[0])
                report.joint_rot_err.append(errors[1])
            if video is not None:
                frames.append((self.data.qpos.copy(), self._reference_qpos()))
            if fell:
                report.fall_times.append((k + 1) * dt)
                report.fall_causes.append(fell)
                self.reset(self.motion_time)
        report.seconds = steps * dt
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
        writer = open_video_writer(path, 1.0 / self.control_dt)
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


def _session(policy_file: Path, meta: PolicyMetadata) -> ort.InferenceSession:
    """onnxruntime on ``policy_file``, checked to map one observation of the metadata's
    size to one action per joint under the metadata's input and output names."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    size, joints = meta.observation.size, len(meta.joint_names)
    try:
        session = ort.InferenceSession(
            str(policy_file), options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own types for invalid graphs
        raise MjmimicError(
            f"{policy_file}: onnxruntime cannot load the model ({_first_line(exc)})"
        ) from None
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = [o.name for o in session.get_outputs()]
    for key, listed, names in (
        ("inputs", meta.inputs, inputs),
        ("outputs", meta.outputs, outputs),
    ):
        for name in listed:
            if name not in names:
                raise MjmimicError(
                    f"{policy_file}: metadata mjmimic.{key} names '{name}', the model has "
                    f"{', '.join(names)}"
                )
    width = inputs[meta.inputs[0]].shape[-1]
    if isinstance(width, int) and width != size:
        raise MjmimicError(f"{policy_file}: model input has {width} numbers, metadata says {size}")
    try:
        out = session.run(meta.outputs[:1], _feeds(meta, np.zeros((1, size), np.float32), 0))[0]
    except Exception as exc:  # a graph that loads can still refuse this input
        raise MjmimicError(
            f"{policy_file}: the model does not run on a (1, {size}) float32 observation "
            f"({_first_line(exc)})"
        ) from None
    if np.shape(out) != (1, joints):
        raise MjmimicError(
            f"{policy_file}: the model outputs shape {np.shape(out)} for one observation, "
            f"the metadata lists {joints} joints (expected (1, {joints}))"
        )
    return session


def _feeds(meta: PolicyMetadata, obs: np.ndarray, time_step: float) -> dict[str, np.ndarray]:
    """The model's inputs for ``obs`` (1, size): a tracking graph also takes ``time_step``,
    the control steps since its clip's start (it selects the graph's reference outputs,
    which sim2sim does not read: it follows the embedded clips)."""
    feed = {meta.inputs[0]: obs}
    if meta.task == TASK_TRACKING:
        feed[meta.inputs[1]] = np.full((1, 1), round(time_step), np.float32)
    return feed


def _require_finite_weights(proto: onnx.ModelProto, policy_file: Path) -> None:
    """Refuse NaN/inf in the graph's constants: such a policy outputs NaN, or (clipped by
    Min/Max, whose NaN handling varies between runtimes) a joint limit, never an action."""
    graph = proto.graph
    constants = [*graph.initializer]
    constants += [
        a.t for n in graph.node if n.op_type == "Constant" for a in n.attribute if a.HasField("t")
    ]
    for tensor in constants:
        values = numpy_helper.to_array(tensor)
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            bad = int((~np.isfinite(values)).sum())
            raise MjmimicError(
                f"{policy_file}: weight '{tensor.name}' holds {bad} non-finite value(s) of "
                f"{values.size}: the policy cannot act; export a model saved before the run "
                "diverged"
            )


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _motion_file(
    motion: str, meta: PolicyMetadata, robot: RobotMap, robot_file: Path, clips: list[str]
) -> ReferenceMotion:
    """A motion file (any format mjmimic reads) as the reference, in the policy's joint
    order."""
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
