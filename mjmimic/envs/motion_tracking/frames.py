"""The anchor frames of whole-body tracking: pure functions on batched tensors.

BeyondMimic compares the robot with the reference *relative to an anchor body* (the G1's
torso): the reference is moved so that its anchor sits where the robot's anchor is,
horizontally and in heading, keeping the reference's own height. A policy that drifts a
metre while dancing well is then judged by its dance, and the drift is one term of its own
(the anchor position error).

Quaternions are wxyz, world z-up (``mjmimic/rotations.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mjmimic.rotations import (
    heading_quat,
    quat_conjugate,
    quat_mul,
    quat_rotate,
    quat_rotate_inverse,
    quat_to_matrix,
)

GRAVITY_DIRECTION = (0.0, 0.0, -1.0)


@dataclass(frozen=True)
class BodyFrames:
    """World poses and velocities of a character's bodies, (N, B, ·) each."""

    pos: torch.Tensor  # (N, B, 3)
    quat: torch.Tensor  # (N, B, 4) wxyz
    lin_vel: torch.Tensor  # (N, B, 3) world
    ang_vel: torch.Tensor  # (N, B, 3) world


def reanchored_reference(
    ref: BodyFrames, robot_anchor_pos: torch.Tensor, robot_anchor_quat: torch.Tensor, anchor: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference bodies' positions (N, B, 3) and orientations (N, B, 4) moved so the
    reference anchor is at the robot anchor's x, y and heading, at the reference's height.

    ``delta = yaw(q_robot_anchor * q_ref_anchor^-1)``, ``p' = [x_r, y_r, z_ref] +
    delta (p - p_ref_anchor)``, ``q' = delta q``.
    """
    ref_anchor_pos = ref.pos[:, anchor]
    delta = heading_quat(quat_mul(robot_anchor_quat, quat_conjugate(ref.quat[:, anchor])))
    origin = torch.cat([robot_anchor_pos[:, :2], ref_anchor_pos[:, 2:]], dim=-1)
    b = ref.pos.shape[1]
    delta_b = delta[:, None].expand(-1, b, -1)
    pos = origin[:, None] + quat_rotate(delta_b, ref.pos - ref_anchor_pos[:, None])
    return pos, quat_mul(delta_b, ref.quat)


def in_frame(frame_pos: torch.Tensor, frame_quat: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """Points ``pos`` (N, K, 3) in the frame at ``frame_pos`` (N, 3), ``frame_quat`` (N, 4)."""
    k = pos.shape[1]
    return quat_rotate_inverse(frame_quat[:, None].expand(-1, k, -1), pos - frame_pos[:, None])


def rotation_6d(quat: torch.Tensor) -> torch.Tensor:
    """The first two columns of the rotation matrix, row by row (m00, m01, m10, m11, m20,
    m21): BeyondMimic's continuous orientation encoding, (..., 6)."""
    return quat_to_matrix(quat)[..., :, :2].reshape(*quat.shape[:-1], 6)


def relative_rotation(frame_quat: torch.Tensor, quat: torch.Tensor) -> torch.Tensor:
    """``frame^-1 * quat``: ``quat`` (N, K, 4) seen from ``frame_quat`` (N, 4)."""
    k = quat.shape[1]
    return quat_mul(quat_conjugate(frame_quat)[:, None].expand(-1, k, -1), quat)


def projected_gravity(quat: torch.Tensor) -> torch.Tensor:
    """The gravity direction in the body frame of ``quat`` (N, 4): what an IMU measures
    at rest, (N, 3)."""
    g = quat.new_tensor(GRAVITY_DIRECTION).expand(quat.shape[0], 3)
    return quat_rotate_inverse(quat, g)
