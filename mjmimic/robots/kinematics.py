"""Batched forward kinematics in torch that agrees with MuJoCo's ``mj_kinematics``.

Bodies are processed one tree depth at a time (all bodies at depth d in one batched
operation), so the cost is a handful of tensor ops per depth level instead of per body:
the humanoid has 4 levels below the root for 14 bodies, the G1 7 for 29.

Every joint is stored as up to three hinge "slots" (axis, DoF index); a slot a body does
not use points at an extra zero column and rotates by 0. Ball joints are applied as a
quaternion after the slots. All joints of a body share one anchor point (``RobotModel``
enforces it), which is what makes the anchor correction a single step per body:
``pos = A - R_after * a`` with ``A = pos_before + R_before * a`` the fixed world anchor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mjmimic.robots.model import RobotModel
from mjmimic.rotations import (
    exp_map_to_quat,
    matrix_to_quat,
    quat_from_axis_angle,
    quat_identity,
    quat_mul,
    quat_rotate,
    quat_to_exp_map,
    quat_to_matrix,
)


@dataclass
class _Level:
    bodies: torch.Tensor  # (k,) body indices at this depth
    parents: torch.Tensor  # (k,) their parents
    local_pos: torch.Tensor  # (k, 3) body offset in the parent frame
    local_quat: torch.Tensor  # (k, 4)
    local_mat: torch.Tensor  # (k, 3, 3) the same rotation as a matrix
    slot_axes: torch.Tensor  # (k, S, 3)
    slot_dofs: torch.Tensor  # (k, S) DoF index, or num_dofs for the zero column
    anchor: torch.Tensor | None  # (k, 3) joint anchor in the body frame; None if all zero
    ball_dofs: torch.Tensor | None  # (k, 3) ball DoF indices; None if no ball at this level


class Kinematics:
    """FK, body velocities and joint rotations for one ``RobotModel``."""

    def __init__(self, robot: RobotModel, device="cpu", dtype=torch.float32):
        self.robot = robot
        self.device = torch.device(device)
        self.dtype = dtype
        nd, nb = robot.num_dofs, robot.num_bodies
        depth = np.zeros(nb, dtype=np.int64)
        for b in range(1, nb):
            depth[b] = depth[robot.parents[b]] + 1
        slots = max([j.axes.shape[0] for j in robot.joints] + [1])
        axes = np.zeros((nb, slots, 3))
        axes[..., 0] = 1.0  # unused slots: any unit axis, their angle is always 0
        dofs = np.full((nb, slots), nd, dtype=np.int64)
        anchors = np.zeros((nb, 3))
        ball = np.full((nb, 3), nd, dtype=np.int64)
        is_ball = np.zeros(nb, dtype=bool)
        for j in robot.joints:
            if j.anchors.shape[0]:
                anchors[j.body] = j.anchors[0]
            if j.kind == "ball":
                ball[j.body] = np.arange(j.dof_start, j.dof_start + 3)
                is_ball[j.body] = True
            for s in range(j.axes.shape[0]):
                axes[j.body, s] = j.axes[s]
                dofs[j.body, s] = j.dof_start + s

        def t(x, dt=dtype):
            return torch.as_tensor(np.asarray(x), dtype=dt, device=self.device)

        self._levels: list[_Level] = []
        for d in range(1, int(depth.max()) + 1):
            idx = np.nonzero(depth == d)[0]
            self._levels.append(
                _Level(
                    bodies=t(idx, torch.long),
                    parents=t([robot.parents[b] for b in idx], torch.long),
                    local_pos=t(robot.body_local_pos[idx]),
                    local_quat=t(robot.body_local_quat[idx]),
                    local_mat=quat_to_matrix(t(robot.body_local_quat[idx])),
                    slot_axes=t(axes[idx]),
                    slot_dofs=t(dofs[idx], torch.long),
                    anchor=t(anchors[idx]) if np.abs(anchors[idx]).max() > 0 else None,
                    ball_dofs=t(ball[idx], torch.long) if is_ball[idx].any() else None,
                )
            )
        # Level-order tables for forward_kinematics_matrices (root first, then depth 1, ...).
        levels = range(1, int(depth.max()) + 1)
        order = np.concatenate([[0], *[np.nonzero(depth == d)[0] for d in levels]])
        rank = np.argsort(order)
        self._fk_order = t(order[1:] - 1, torch.long)  # non-root bodies in level order
        self._fk_inverse = t(rank, torch.long)
        self._fk_local_pos = t(robot.body_local_pos[order[1:]])
        self._fk_local_mat = quat_to_matrix(t(robot.body_local_quat[order[1:]]))
        fk_anchor = anchors[order[1:]]
        self._fk_anchor = t(fk_anchor[..., None]) if np.abs(fk_anchor).max() > 0 else None
        self._fk_slices = []
        start = 1
        for d in levels:
            members = order[depth[order] == d]
            stop = start + len(members)
            parents = [int(rank[robot.parents[b]]) for b in members]
            self._fk_slices.append((start, stop, t(parents, torch.long)))
            start = stop
        self._joint_axes = t(axes[1:])
        self._joint_dofs = t(dofs[1:], torch.long)
        self._joint_ball = t(ball[1:], torch.long) if is_ball.any() else None
        self._hinge_qpos0 = t(robot.hinge_qpos0)
        # Rodrigues tables: R = I + sin(a) K + (1 - cos(a)) K^2 with K the axis' skew matrix.
        ax = axes[1:]
        skew = np.zeros((nb - 1, slots, 3, 3))
        skew[..., 0, 1], skew[..., 0, 2] = -ax[..., 2], ax[..., 1]
        skew[..., 1, 0], skew[..., 1, 2] = ax[..., 2], -ax[..., 0]
        skew[..., 2, 0], skew[..., 2, 1] = -ax[..., 1], ax[..., 0]
        self._skew = t(skew)
        self._skew2 = self._skew @ self._skew
        self._eye = torch.eye(3, dtype=dtype, device=self.device)

    # ----------------------------------------------------------------------------- helpers
    @staticmethod
    def _padded(dof: torch.Tensor) -> torch.Tensor:
        """DoF vector plus one zero column that unused slots index."""
        return torch.cat([dof, dof.new_zeros((*dof.shape[:-1], 1))], dim=-1)

    def _slot_rotations(
        self, axes: torch.Tensor, dofs: torch.Tensor, angles: torch.Tensor
    ) -> list[torch.Tensor]:
        """One (N, k, 4) quaternion per slot."""
        return [
            quat_from_axis_angle(axes[:, s], angles[:, dofs[:, s]]) for s in range(dofs.shape[1])
        ]

    def _joint_quat(self, lv: _Level, angles: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        slot_q = self._slot_rotations(lv.slot_axes, lv.slot_dofs, angles)
        q = slot_q[0]
        for sq in slot_q[1:]:
            q = quat_mul(q, sq)
        if lv.ball_dofs is not None:
            q = quat_mul(q, exp_map_to_quat(raw[:, lv.ball_dofs]))
        return q

    # -------------------------------------------------------------------------------- FK
    def forward_kinematics_matrices(
        self,
        root_pos: torch.Tensor,
        root_rot: torch.Tensor,
        dof_pos: torch.Tensor,
        joint_rot: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """World body positions (N, B, 3) and rotation matrices (N, B, 3, 3).

        This is the hot path (every env step). Bodies are kept in level order so each
        level is a contiguous slice, the constant body offsets are folded into the joint
        transforms for all bodies at once, and each level then costs one matrix product
        and one matrix-vector product. Pass ``joint_rot`` (from ``joint_rotations``) when
        the caller has it anyway: converting it is cheaper than Rodrigues' formula.
        """
        n = root_pos.shape[0]
        joint = (
            quat_to_matrix(joint_rot) if joint_rot is not None else self._joint_matrices(dof_pos)
        )
        joint = joint.index_select(1, self._fk_order)  # (N, B-1, 3, 3)
        local_mat = self._fk_local_mat @ joint
        local_off = self._fk_local_pos
        if self._fk_anchor is not None:  # rotating about an off-origin anchor shifts the body
            local_off = local_off + ((self._fk_local_mat - local_mat) @ self._fk_anchor).squeeze(-1)
        else:
            local_off = local_off.expand(n, -1, -1)
        pos = root_pos.new_empty((n, self.robot.num_bodies, 3))
        mat = root_pos.new_empty((n, self.robot.num_bodies, 3, 3))
        pos[:, 0] = root_pos
        mat[:, 0] = quat_to_matrix(root_rot)
        for start, stop, parents in self._fk_slices:
            parent_mat = mat.index_select(1, parents)
            mat[:, start:stop] = parent_mat @ local_mat[:, start - 1 : stop - 1]
            pos[:, start:stop] = pos.index_select(1, parents) + (
                parent_mat @ local_off[:, start - 1 : stop - 1, :, None]
            ).squeeze(-1)
        return pos.index_select(1, self._fk_inverse), mat.index_select(1, self._fk_inverse)

    def forward_kinematics(
        self, root_pos: torch.Tensor, root_rot: torch.Tensor, dof_pos: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """World body positions (N, B, 3) and rotations (N, B, 4, wxyz)."""
        pos, mat = self.forward_kinematics_matrices(root_pos, root_rot, dof_pos)
        return pos, matrix_to_quat(mat)

    def _joint_matrices(self, dof_pos: torch.Tensor) -> torch.Tensor:
        """Rotation matrix of every non-root joint (N, B-1, 3, 3) by Rodrigues' formula."""
        angles = self._padded(dof_pos - self._hinge_qpos0)[:, self._joint_dofs]  # (N, B-1, S)
        sin = torch.sin(angles)[..., None, None]
        one_minus_cos = (1.0 - torch.cos(angles))[..., None, None]
        slot_mats = self._eye + sin * self._skew + one_minus_cos * self._skew2  # (N, B-1, S, 3, 3)
        mat = slot_mats[:, :, 0]
        for s in range(1, slot_mats.shape[2]):
            mat = mat @ slot_mats[:, :, s]
        if self._joint_ball is not None:
            ball = exp_map_to_quat(self._padded(dof_pos)[:, self._joint_ball])
            mat = mat @ quat_to_matrix(ball)
        return mat

    def body_velocities(
        self,
        body_pos: torch.Tensor,
        body_rot: torch.Tensor,
        root_lin_vel: torch.Tensor,
        root_ang_vel: torch.Tensor,
        dof_pos: torch.Tensor,
        dof_vel: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """World linear velocity of every body frame origin and world angular velocity
        (N, B, 3) each, from FK poses and the root's world-frame velocities."""
        n = body_pos.shape[0]
        angles = self._padded(dof_pos - self._hinge_qpos0)
        qd = self._padded(dof_vel)
        lin = torch.zeros_like(body_pos)
        ang = torch.zeros_like(body_pos)
        lin[:, 0] = root_lin_vel
        ang[:, 0] = root_ang_vel
        for lv in self._levels:
            p = body_pos[:, lv.bodies]
            w_parent = ang[:, lv.parents]
            v = lin[:, lv.parents] + torch.cross(w_parent, p - body_pos[:, lv.parents], dim=-1)
            frame = quat_mul(body_rot[:, lv.parents], lv.local_quat.expand(n, -1, -1))
            w_joint = torch.zeros_like(p)
            for s, sq in enumerate(self._slot_rotations(lv.slot_axes, lv.slot_dofs, angles)):
                # A hinge axis is unchanged by its own rotation, so the frame before it works.
                axis_w = quat_rotate(frame, lv.slot_axes[:, s].expand(n, -1, -1))
                w_joint = w_joint + axis_w * qd[:, lv.slot_dofs[:, s]][..., None]
                frame = quat_mul(frame, sq)
            if lv.ball_dofs is not None:
                # Ball qvel is the angular velocity expressed in the child body frame.
                w_joint = w_joint + quat_rotate(body_rot[:, lv.bodies], qd[:, lv.ball_dofs])
            if lv.anchor is not None:
                anchor_w = p + quat_rotate(body_rot[:, lv.bodies], lv.anchor.expand(n, -1, -1))
                v = v + torch.cross(w_joint, p - anchor_w, dim=-1)
            lin[:, lv.bodies] = v
            ang[:, lv.bodies] = w_parent + w_joint
        return lin, ang

    def joint_rotations(self, dof_pos: torch.Tensor) -> torch.Tensor:
        """Local joint rotation of every non-root body (N, B-1, 4); identity when fixed."""
        angles = self._padded(dof_pos - self._hinge_qpos0)
        q = quat_identity(
            (dof_pos.shape[0], self.robot.num_bodies - 1), dof_pos.dtype, dof_pos.device
        )
        for sq in self._slot_rotations(self._joint_axes, self._joint_dofs, angles):
            q = quat_mul(q, sq)
        if self._joint_ball is not None:
            q = quat_mul(q, exp_map_to_quat(self._padded(dof_pos)[:, self._joint_ball]))
        return q

    # ------------------------------------------------------------------- qpos <-> dofs
    def qpos_to_dof(self, joint_qpos: torch.Tensor) -> torch.Tensor:
        """MuJoCo qpos without the 7 root numbers -> DoF vector (ball quats -> exp-maps)."""
        if not self.robot.has_ball_joints:
            return joint_qpos
        parts = []
        for j in self.robot.joints:
            start = j.qpos_adr - 7
            if j.kind == "ball":
                parts.append(quat_to_exp_map(joint_qpos[:, start : start + 4]))
            elif j.dof_count:
                parts.append(joint_qpos[:, start : start + j.dof_count])
        return torch.cat(parts, dim=-1)

    def dof_to_qpos(self, dof_pos: torch.Tensor) -> torch.Tensor:
        """DoF vector -> MuJoCo qpos without the 7 root numbers."""
        if not self.robot.has_ball_joints:
            return dof_pos
        parts = []
        for j in self.robot.joints:
            d = dof_pos[:, j.dof_start : j.dof_start + j.dof_count]
            if j.dof_count:
                parts.append(exp_map_to_quat(d) if j.kind == "ball" else d)
        return torch.cat(parts, dim=-1)
