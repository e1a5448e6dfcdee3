"""Human keypoints -> a robot clip: scale, detect stance, IK per frame, fix the ground.

1. **Scale** the source by the ratio of leg lengths (pelvis-knee-ankle bone lengths) and
   move its floor to the robot's (``contact.scale_positions``).
2. **Orientations**: robot body b is asked to turn like its source keypoint relative to
   the rest poses, ``R_b* = R_src R_src_rest^-1 Y^-1 R_b_rest``, where ``Y`` turns the
   source's rest pose to face +x like the robot's. Only pelvis, torso, head and feet get
   orientation costs: hands and elbows differ between a T-pose and an arms-down rest.
   Knee and foot targets are moved out to the robot's hip width (``contact.widen``).
3. **Stance**: a source foot that is low and slow is in stance; its target is pinned to
   one point on the floor for the whole stance and its orientation levelled (blended in
   and out over two frames either side), and the IK weights it up
   (``contact.detect_stance``, ``pin_stance``).
4. **IK** frame by frame, warm-started from the previous frame (``ik.KeypointIK``).
5. **Ground**: per frame the robot's lowest collision point is moved onto the floor
   while a foot is in stance and out of it otherwise (``contact.ground_shift``).

``RetargetReport`` has the quality numbers of ``bench/retarget_quality.py``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import mujoco
import numpy as np
import torch

from mjmimic.motion.check import lowest_points
from mjmimic.motion.motion import Motion
from mjmimic.retarget import contact
from mjmimic.retarget.ik import KeypointIK
from mjmimic.retarget.source import HumanKeypoints
from mjmimic.robots.kinematics import Kinematics
from mjmimic.robots.model import RobotModel
from mjmimic.robots.profiles import RobotProfile
from mjmimic.rotations import heading_quat, quat_rotate, quat_slerp

# IK weights: position per metre, orientation per radian (0.1 rad ~ 1 cm at weight 0.1).
POSITION_WEIGHTS = {
    "pelvis": 1.0,
    "torso": 0.5,
    "head": 0.3,
    "left_elbow": 0.3,
    "right_elbow": 0.3,
    "left_hand": 0.5,
    "right_hand": 0.5,
    "left_knee": 0.5,
    "right_knee": 0.5,
    "left_foot": 1.0,
    "right_foot": 1.0,
}
ROTATION_WEIGHTS = {"pelvis": 0.3, "torso": 0.3, "head": 0.1, "left_foot": 0.2, "right_foot": 0.2}
STANCE_BOOST = 3.0  # weight factor of a pinned foot
FIRST_FRAME_ITERATIONS = 100
ITERATIONS = 10
FEET = ("left_foot", "right_foot")


@dataclass
class RetargetReport:
    frames: int
    scale: float
    keypoint_error_cm: float  # mean distance robot keypoint - scaled source keypoint
    limit_violations: int  # DoF values outside the joint limits (frames x DoFs)
    penetration_cm: float  # deepest point below the floor
    skate_cm_s: float  # mean horizontal speed of feet in stance (frame to frame)
    stance_fraction: float  # of foot-frames
    ms_per_frame: float


def retarget(
    source: HumanKeypoints, profile: RobotProfile, robot: RobotModel, fps: float = 30.0
) -> tuple[Motion, RetargetReport]:
    start_time = time.perf_counter()
    step = max(1, round(source.fps / fps))
    src = source.every(step)
    names = [k for k in src.keypoints if k in profile.keypoints]
    sidx = [src.index(k) for k in names]
    model = robot.mj_model
    bodies = [robot.body_index(profile.keypoints[k].body) + 1 for k in names]
    ik = KeypointIK(model, bodies, np.array([profile.keypoints[k].offset for k in names]))

    # Robot rest: all joints 0, standing on the floor.
    rest_q = model.qpos0.copy()
    rest_pos, rest_rot = ik.keypoints(rest_q)
    rest_low = lowest_points(
        rest_q[None, :3], rest_q[None, 3:7], np.zeros((1, robot.num_dofs)), robot
    )[0]
    feet = [names.index(f) for f in FEET]
    pelvis = names.index("pelvis")
    robot_floor = float(np.mean(rest_pos[feet, 2])) - rest_low
    src_feet = [src.index(f) for f in FEET]

    def legs(pos: np.ndarray, index: list[int]) -> float:
        pelvis_at, left_knee, left_foot = (pos[i] for i in index)
        return contact.leg_length(pelvis_at, left_knee, left_foot)

    leg_keypoints = ("pelvis", "left_knee", "left_foot")
    scale = legs(rest_pos, [names.index(k) for k in leg_keypoints]) / legs(
        src.rest_pos, [src.index(k) for k in leg_keypoints]
    )
    source_floor = contact.standing_foot_height(src.pos[:, src_feet, 2])
    target_pos = contact.scale_positions(src.pos[:, sidx], scale, source_floor, robot_floor)
    target_rot = _target_rotations(src, sidx, rest_rot)
    _widen_legs(target_pos, target_rot[:, pelvis], names, rest_pos)

    stance = np.stack(
        [contact.detect_stance(target_pos[:, f], src.fps, robot_floor) for f in feet], axis=1
    )
    pinned = target_pos.copy()
    for i, f in enumerate(feet):
        pinned[:, f], weight = contact.pin_stance(
            target_pos[:, f], stance[:, i], robot_floor, contact.PIN_RAMP
        )
        source_rot = torch.as_tensor(target_rot[:, f])
        level = quat_slerp(source_rot, heading_quat(source_rot), torch.as_tensor(weight))
        target_rot[:, f] = level.numpy()

    w_pos = np.array([POSITION_WEIGHTS[k] for k in names])
    w_rot = np.array([ROTATION_WEIGHTS.get(k, 0.0) for k in names])
    q = rest_q.copy()
    q[:3] = pinned[0, pelvis] + (rest_q[:3] - rest_pos[pelvis])
    q[3:7] = target_rot[0, pelvis]
    qpos = np.empty((src.pos.shape[0], model.nq))
    for t in range(src.pos.shape[0]):
        wp, wr = w_pos.copy(), w_rot.copy()
        wp[feet] *= np.where(stance[t], STANCE_BOOST, 1.0)
        wr[feet] *= np.where(stance[t], STANCE_BOOST, 1.0)
        first = t == 0
        q = ik.solve(
            q,
            pinned[t],
            target_rot[t],
            wp,
            wr,
            None if first else qpos[t - 1],
            FIRST_FRAME_ITERATIONS if first else ITERATIONS,
        )
        qpos[t] = q

    kin = Kinematics(robot, dtype=torch.float64)
    dof = kin.qpos_to_dof(torch.as_tensor(qpos[:, 7:])).numpy()
    root_pos = qpos[:, :3].copy()
    root_rot = qpos[:, 3:7].copy()
    lowest = lowest_points(root_pos, root_rot, dof, robot)
    root_pos[:, 2] += contact.ground_shift(lowest, stance.any(axis=1))
    qpos[:, :3] = root_pos
    elapsed = time.perf_counter() - start_time

    motion = Motion(
        fps=src.fps,
        loop_mode=src.loop_mode,  # type: ignore[arg-type]
        root_pos=root_pos,
        root_rot=root_rot,
        dof_pos=dof,
        joint_names=list(robot.dof_names),
        name=f"{src.name}_{profile.name}",
    )
    report = _report(ik, qpos, dof, robot, target_pos, feet, stance, src.fps, scale, elapsed)
    return motion, report


def _widen_legs(
    target_pos: np.ndarray,
    pelvis_rot: np.ndarray,
    names: list[str],
    rest_pos: np.ndarray,
) -> None:
    """Move knee and foot targets out to the robot's hip width (``contact.widen``)."""

    left = quat_rotate(
        torch.as_tensor(pelvis_rot),
        torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64).expand(len(pelvis_rot), 3),
    ).numpy()
    lf, rf = names.index("left_foot"), names.index("right_foot")
    robot = 0.5 * float(np.linalg.norm(rest_pos[lf, :2] - rest_pos[rf, :2]))
    # The source's typical stance width in its own motion: its rest pose may not be a
    # natural stance (CMU's has the legs spread).
    lateral = np.einsum("ti,ti->t", target_pos[:, lf] - target_pos[:, rf], left)
    source = 0.5 * float(np.median(lateral))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        for part in ("knee", "foot"):
            name = f"{side}_{part}"
            if name in names:
                k = names.index(name)
                target_pos[:, k] = contact.widen(target_pos[:, k], left, sign * (robot - source))


def _target_rotations(src: HumanKeypoints, sidx: list[int], robot_rest: np.ndarray) -> np.ndarray:
    """(T, K, 4) robot keypoint rotations: the source's rotation relative to its rest pose,
    applied to the robot's rest pose (module docstring, step 2)."""
    left = src.rest_pos[src.index("left_foot")] - src.rest_pos[src.index("right_foot")]
    yaw = 0.5 * math.pi - math.atan2(left[1], left[0])
    face = np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])
    out = np.empty((src.pos.shape[0], len(sidx), 4))
    rest_inv, face_inv, tmp = np.empty(4), np.empty(4), np.empty(4)
    mujoco.mju_negQuat(face_inv, face)
    for k, s in enumerate(sidx):
        mujoco.mju_negQuat(rest_inv, src.rest_rot[s])
        offset = np.empty(4)
        mujoco.mju_mulQuat(tmp, face_inv, robot_rest[k])
        mujoco.mju_mulQuat(offset, rest_inv, tmp)
        for t in range(src.pos.shape[0]):
            mujoco.mju_mulQuat(out[t, k], src.rot[t, s], offset)
    return out


def _report(
    ik: KeypointIK,
    qpos: np.ndarray,
    dof: np.ndarray,
    robot: RobotModel,
    target_pos: np.ndarray,
    feet: list[int],
    stance: np.ndarray,
    fps: float,
    scale: float,
    elapsed: float,
) -> RetargetReport:
    reached = np.stack([ik.keypoints(q)[0] for q in qpos])
    # Skate: foot speed between consecutive frames that are both in stance (a central
    # difference at a stance boundary would count the lift-off swing).
    speed = np.linalg.norm(np.diff(reached[:, feet, :2], axis=0), axis=-1) * fps
    held = stance[1:] & stance[:-1]
    lowest = lowest_points(qpos[:, :3], qpos[:, 3:7], dof, robot)
    violations = (dof < robot.dof_low - 1e-9) | (dof > robot.dof_high + 1e-9)
    return RetargetReport(
        frames=len(qpos),
        scale=scale,
        keypoint_error_cm=100 * float(np.linalg.norm(reached - target_pos, axis=-1).mean()),
        limit_violations=int(violations.sum()),
        penetration_cm=100 * max(0.0, -float(lowest.min())),
        skate_cm_s=100 * float(speed[held].mean()) if held.any() else 0.0,
        stance_fraction=float(stance.mean()),
        ms_per_frame=1000 * elapsed / len(qpos),
    )
