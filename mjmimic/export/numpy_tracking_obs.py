"""The whole-body tracking observation and failure rules rebuilt in numpy, for one robot.

sim2sim's own code path for a tracking policy (format version 2), written from the
metadata and the formulas in docs/deploying.md, not from the training env's torch code:
the robot is read from ``MjData`` (MuJoCo's ``xpos``/``xquat`` and the free joint's
``qvel``), the reference from an embedded clip (``reference.ReferenceMotion``). It is what
a robot's control loop computes each control step, with the IMU giving the root
orientation and angular velocity and the encoders the joints:

=======================  ==============================================================
``command``              reference joint positions, then joint velocities, now
``motion_anchor_pos_b``  ``R_a^T (p*_a - p_a)``: the reference anchor in the robot
                         anchor's frame
``motion_anchor_ori_b``  ``R_a^T R*_a``, its first two columns row by row
                         (m00, m01, m10, m11, m20, m21)
``base_lin_vel``         root linear velocity in the root frame (an estimator's)
``base_ang_vel``         root angular velocity in the root frame (the gyro)
``projected_gravity``    ``R_root^T (0, 0, -1)``
``joint_pos``            encoder positions minus ``default_joint_pos``
``joint_vel``            encoder velocities
``actions``              the previous raw action (the model's output; 0 at the start)
=======================  ==============================================================

The reference anchor's orientation is composed down the body tree from the reference's
interpolated root and joint rotations, as training's forward kinematics does; its
position and the end effectors' are the clip's interpolated body positions.

Quaternions are (w, x, y, z), world z up.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from mjmimic.export.numpy_obs import RobotMap, assemble, quat_conj, quat_mul, quat_rotate
from mjmimic.export.reference import ReferenceFrame
from mjmimic.export.tracking_metadata import TrackingFallInfo, TrackingObservationInfo

GRAVITY = np.array([0.0, 0.0, -1.0])

# Why a tracking episode failed, as the report words it (falls.py's contact and height
# rules come first, under sim2sim's own names).
TRACKING_FAILURES = {
    "anchor_height": "anchor height off the reference's",
    "anchor_ori": "anchor tilted off the reference's",
    "end_effector_height": "end effector height off the reference's",
}


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrix (3, 3) of a unit quaternion (4,)."""
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def projected_gravity(q: np.ndarray) -> np.ndarray:
    """The gravity direction seen from the frame of ``q``: what an IMU measures at rest."""
    return quat_rotate(quat_conj(q), GRAVITY)


@dataclass
class RobotReading:
    """What the robot measures in one control step (world frame unless said)."""

    root_quat: np.ndarray  # (4,) IMU orientation
    root_lin_vel: np.ndarray  # (3,) root frame (a state estimator's)
    root_ang_vel: np.ndarray  # (3,) root frame (the gyro)
    anchor_pos: np.ndarray  # (3,)
    anchor_quat: np.ndarray  # (4,)
    joint_pos: np.ndarray  # (D,) encoders, joint_names order
    joint_vel: np.ndarray  # (D,)
    end_effector_z: np.ndarray  # (E,) heights of falls.end_effectors


@dataclass
class ReferenceCommand:
    """The reference at the same time, as the policy and the failure rules read it."""

    joint_pos: np.ndarray  # (D,)
    joint_vel: np.ndarray  # (D,)
    anchor_pos: np.ndarray  # (3,)
    anchor_quat: np.ndarray  # (4,)
    end_effector_z: np.ndarray  # (E,)


class TrackingBodies:
    """The anchor and end-effector bodies of a tracking policy in a MuJoCo model, and the
    chain of joints from the root to the anchor."""

    def __init__(
        self, robot: RobotMap, info: TrackingObservationInfo, falls: TrackingFallInfo
    ) -> None:
        model, names = robot.model, info.body_names
        self.robot = robot
        self.anchor_index = names.index(info.anchor_body)  # into body order
        self.anchor_id = int(robot.body_ids[self.anchor_index])
        self.end_effector_index = [names.index(n) for n in falls.end_effectors]
        self.end_effector_ids = robot.body_ids[self.end_effector_index]
        index_of = {int(b): i for i, b in enumerate(robot.body_ids)}
        chain, body = [], self.anchor_index
        while body != 0:  # up to the root
            chain.append(body)
            body = index_of[int(model.body_parentid[robot.body_ids[body]])]
        self.chain = chain[::-1]
        self.rest = model.body_quat[robot.body_ids[self.chain]].copy()

    def read(self, data: mujoco.MjData) -> RobotReading:
        """The robot now (``mj_kinematics`` must have run on its qpos)."""
        r, d = self.robot.root_qpos, self.robot.root_dof
        root_quat = data.qpos[r + 3 : r + 7] / np.linalg.norm(data.qpos[r + 3 : r + 7])
        return RobotReading(
            root_quat=root_quat,
            # The free joint: linear velocity in world axes, angular in the root's.
            root_lin_vel=quat_rotate(quat_conj(root_quat), data.qvel[d : d + 3]),
            root_ang_vel=data.qvel[d + 3 : d + 6].copy(),
            anchor_pos=data.xpos[self.anchor_id].copy(),
            anchor_quat=data.xquat[self.anchor_id].copy(),
            joint_pos=data.qpos[self.robot.qpos_adr].copy(),
            joint_vel=data.qvel[self.robot.dof_adr].copy(),
            end_effector_z=data.xpos[self.end_effector_ids, 2].copy(),
        )

    def command(self, frame: ReferenceFrame) -> ReferenceCommand:
        """The reference ``frame`` as the policy observes it."""
        quat = frame.root_rot
        for rest, body in zip(self.rest, self.chain, strict=True):
            quat = quat_mul(quat_mul(quat, rest), frame.joint_rot[body - 1])
        return ReferenceCommand(
            joint_pos=frame.dof_pos,
            joint_vel=frame.dof_vel,
            anchor_pos=frame.body_pos[self.anchor_index],
            anchor_quat=quat / np.linalg.norm(quat),
            end_effector_z=frame.body_pos[self.end_effector_index, 2],
        )


def tracking_observation(
    info: TrackingObservationInfo,
    reading: RobotReading,
    command: ReferenceCommand,
    default_joint_pos: np.ndarray,
    last_action: np.ndarray,
) -> np.ndarray:
    """The policy input (float32, ``info.size``): the terms the metadata lists, in order."""
    anchor_inv = quat_conj(reading.anchor_quat)
    relative = quat_mul(anchor_inv, command.anchor_quat)
    terms = {
        "command": np.concatenate([command.joint_pos, command.joint_vel]),
        "motion_anchor_pos_b": quat_rotate(anchor_inv, command.anchor_pos - reading.anchor_pos),
        "motion_anchor_ori_b": quat_to_matrix(relative)[:, :2],
        "base_lin_vel": reading.root_lin_vel,
        "base_ang_vel": reading.root_ang_vel,
        "projected_gravity": projected_gravity(reading.root_quat),
        "joint_pos": reading.joint_pos - default_joint_pos,
        "joint_vel": reading.joint_vel,
        "actions": last_action,
    }
    return assemble(info.terms, terms)


def tracking_failure(
    falls: TrackingFallInfo, reading: RobotReading, command: ReferenceCommand
) -> str | None:
    """The ``TRACKING_FAILURES`` key of the first rule the robot breaks, or None."""
    height = falls.anchor_height_threshold
    if height is not None and abs(command.anchor_pos[2] - reading.anchor_pos[2]) > height:
        return "anchor_height"
    tilt = falls.anchor_ori_threshold
    if tilt is not None:
        gz = projected_gravity(command.anchor_quat)[2] - projected_gravity(reading.anchor_quat)[2]
        if abs(gz) > tilt:
            return "anchor_ori"
    # Re-anchoring the reference turns it about z only, so it keeps the clip's heights.
    limit = falls.end_effector_height_threshold
    if (
        limit is not None
        and (np.abs(command.end_effector_z - reading.end_effector_z) > limit).any()
    ):
        return "end_effector_height"
    return None
