"""What a whole-body tracking policy observes: only what a robot measures, plus the command.

Policy terms, in order (names are mjlab's observation term names, which its ONNX metadata
lists as ``observation_names`` and deploy code assembles in that order):

=======================  =====  ======================================================
``command``              2D     reference joint positions, then joint velocities, now
``motion_anchor_pos_b``  3      reference anchor position in the robot anchor's frame
``motion_anchor_ori_b``  6      reference anchor orientation in the robot anchor's
                                frame, first two rotation-matrix columns row by row
``base_lin_vel``         3      root linear velocity in the root frame (only with
                                ``base_lin_vel_obs``: a robot needs an estimator)
``base_ang_vel``         3      root angular velocity in the root frame (IMU gyro)
``projected_gravity``    3      gravity direction in the root frame (IMU)
``joint_pos``            D      encoder joint positions minus the default pose
``joint_vel``            D      encoder joint velocities
``actions``              D      the previous raw action
=======================  =====  ======================================================

With ``privileged_critic`` the observation continues with terms only the critic reads
(asymmetric actor-critic; the exported policy takes the policy part alone):
``critic.base_lin_vel`` (3), ``critic.body_pos_b`` (3 per tracked body: robot bodies in
the robot anchor's frame) and ``critic.body_ori_b`` (6 per tracked body).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mjmimic.envs.deepmimic.observations import ObsTerm, obs_term, vec_labels
from mjmimic.envs.motion_tracking.frames import (
    BodyFrames,
    in_frame,
    projected_gravity,
    relative_rotation,
    rotation_6d,
)
from mjmimic.rotations import quat_rotate_inverse

ROT6D = ("m00", "m01", "m10", "m11", "m20", "m21")


@dataclass(frozen=True)
class TrackingObsSettings:
    base_lin_vel_obs: bool = False
    privileged_critic: bool = True


@dataclass(frozen=True)
class TrackingObsInputs:
    """Everything the observation reads, gathered by the env (N envs)."""

    robot: BodyFrames  # the simulated bodies
    ref: BodyFrames  # the reference bodies at the same time
    anchor: int  # body index of the anchor
    tracked: torch.Tensor  # (K,) body indices of the tracked bodies
    ref_dof_pos: torch.Tensor  # (N, D)
    ref_dof_vel: torch.Tensor  # (N, D)
    joint_pos: torch.Tensor  # (N, D) as the encoders read them (bias included)
    joint_vel: torch.Tensor  # (N, D)
    default_joint_pos: torch.Tensor  # (D,)
    last_action: torch.Tensor  # (N, D) raw


def policy_layout(dof_names: list[str], settings: TrackingObsSettings) -> list[ObsTerm]:
    """The policy terms and their labels, in order."""
    joints = list(dof_names)
    terms = [
        obs_term(
            "command",
            [f"command.{kind}[{j}]" for kind in ("joint_pos", "joint_vel") for j in joints],
        ),
        obs_term("motion_anchor_pos_b", vec_labels("motion_anchor_pos_b")),
        obs_term("motion_anchor_ori_b", [f"motion_anchor_ori_b.{m}" for m in ROT6D]),
    ]
    if settings.base_lin_vel_obs:
        terms.append(obs_term("base_lin_vel", vec_labels("base_lin_vel")))
    terms += [
        obs_term("base_ang_vel", vec_labels("base_ang_vel")),
        obs_term("projected_gravity", vec_labels("projected_gravity")),
        obs_term("joint_pos", [f"joint_pos[{j}]" for j in joints]),
        obs_term("joint_vel", [f"joint_vel[{j}]" for j in joints]),
        obs_term("actions", [f"actions[{j}]" for j in joints]),
    ]
    return terms


def critic_layout(tracked_names: list[str], settings: TrackingObsSettings) -> list[ObsTerm]:
    """The critic-only terms that follow the policy part (none without a privileged critic)."""
    if not settings.privileged_critic:
        return []
    pos = [label for b in tracked_names for label in vec_labels(f"critic.body_pos_b[{b}]")]
    ori = [f"critic.body_ori_b[{b}].{m}" for b in tracked_names for m in ROT6D]
    return [
        obs_term("critic.base_lin_vel", vec_labels("critic.base_lin_vel")),
        obs_term("critic.body_pos_b", pos),
        obs_term("critic.body_ori_b", ori),
    ]


def policy_terms(x: TrackingObsInputs, settings: TrackingObsSettings) -> dict[str, torch.Tensor]:
    """Each policy term's (N, size) values, noise-free, by name."""
    robot, ref, a = x.robot, x.ref, x.anchor
    anchor_pos, anchor_quat = robot.pos[:, a], robot.quat[:, a]
    root_quat = robot.quat[:, 0]
    terms = {
        "command": torch.cat([x.ref_dof_pos, x.ref_dof_vel], dim=-1),
        "motion_anchor_pos_b": in_frame(anchor_pos, anchor_quat, ref.pos[:, a : a + 1])[:, 0],
        "motion_anchor_ori_b": rotation_6d(
            relative_rotation(anchor_quat, ref.quat[:, a : a + 1])[:, 0]
        ),
        "base_ang_vel": quat_rotate_inverse(root_quat, robot.ang_vel[:, 0]),
        "projected_gravity": projected_gravity(root_quat),
        "joint_pos": x.joint_pos - x.default_joint_pos,
        "joint_vel": x.joint_vel,
        "actions": x.last_action,
    }
    if settings.base_lin_vel_obs:
        terms["base_lin_vel"] = quat_rotate_inverse(root_quat, robot.lin_vel[:, 0])
    return terms


def critic_terms(x: TrackingObsInputs) -> dict[str, torch.Tensor]:
    """The privileged terms' (N, size) values by name."""
    robot, a = x.robot, x.anchor
    anchor_pos, anchor_quat = robot.pos[:, a], robot.quat[:, a]
    n = anchor_pos.shape[0]
    tracked_pos = robot.pos[:, x.tracked]
    tracked_quat = robot.quat[:, x.tracked]
    return {
        "critic.base_lin_vel": quat_rotate_inverse(robot.quat[:, 0], robot.lin_vel[:, 0]),
        "critic.body_pos_b": in_frame(anchor_pos, anchor_quat, tracked_pos).reshape(n, -1),
        "critic.body_ori_b": rotation_6d(relative_rotation(anchor_quat, tracked_quat)).reshape(
            n, -1
        ),
    }


def assemble(layout: list[ObsTerm], values: dict[str, torch.Tensor]) -> torch.Tensor:
    """The terms of ``layout`` concatenated in order, (N, sum of sizes)."""
    return torch.cat([values[t.name] for t in layout], dim=-1)
