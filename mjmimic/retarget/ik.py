"""Per-frame keypoint inverse kinematics on MuJoCo, by damped least squares.

Why not ``mink`` (a QP-based IK on MuJoCo): it is not installable in our environments
and a QP is not needed here. Each frame solves, by a few Levenberg-Marquardt steps,

    min_dq  sum_k wp_k^2 |p_k* - p_k(q+dq)|^2 + wr_k^2 |log(R_k* R_k(q+dq)^T)|^2
            + smooth |q + dq - q_prev|^2 + damping |dq|^2

linearised with MuJoCo's body Jacobians (``mj_jac``), over all velocity DoFs (the free
root included), then projects hinge angles back into their limits (clamping). Warm
starting from the previous frame plus the ``smooth`` term keeps the solution temporally
consistent; with the clamp after each step, limits hold exactly.
"""

from __future__ import annotations

import mujoco
import numpy as np

DAMPING = 1e-4  # Levenberg-Marquardt damping on |dq|^2: keeps singular poses solvable
SMOOTH = 2e-3  # pull towards the previous frame's pose (per tangent-space unit)


class KeypointIK:
    def __init__(self, model: mujoco.MjModel, bodies: list[int], offsets: np.ndarray):
        """``bodies``: MuJoCo body ids carrying the keypoints; ``offsets`` (K, 3): the
        keypoints in those bodies' frames."""
        self.model = model
        self.data = mujoco.MjData(model)
        self.bodies = bodies
        self.offsets = np.asarray(offsets, dtype=np.float64)
        limited = [
            j
            for j in range(model.njnt)
            if model.jnt_limited[j] and model.jnt_type[j] == mujoco.mjtJoint.mjJNT_HINGE
        ]
        self.limit_adr = model.jnt_qposadr[limited]
        self.limit_low = model.jnt_range[limited, 0]
        self.limit_high = model.jnt_range[limited, 1]
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))

    def keypoints(self, qpos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World positions (K, 3) and rotations (K, 4) of the keypoints at ``qpos``."""
        self.data.qpos[:] = qpos
        mujoco.mj_kinematics(self.model, self.data)
        return self._positions(), self.data.xquat[self.bodies].copy()

    def _positions(self) -> np.ndarray:
        mats = self.data.xmat[self.bodies].reshape(-1, 3, 3)
        return self.data.xpos[self.bodies] + np.einsum("kij,kj->ki", mats, self.offsets)

    def clamp(self, qpos: np.ndarray) -> np.ndarray:
        qpos[self.limit_adr] = np.clip(qpos[self.limit_adr], self.limit_low, self.limit_high)
        return qpos

    def solve(
        self,
        qpos: np.ndarray,
        target_pos: np.ndarray,
        target_rot: np.ndarray,
        w_pos: np.ndarray,
        w_rot: np.ndarray,
        q_prev: np.ndarray | None,
        iterations: int,
    ) -> np.ndarray:
        """``qpos`` moved towards the targets; weights 0 drop a term."""
        m, d = self.model, self.data
        q = self.clamp(qpos.copy())
        residual = np.zeros(3)
        tangent = np.zeros(m.nv)
        for _ in range(iterations):
            d.qpos[:] = q
            mujoco.mj_kinematics(m, d)
            mujoco.mj_comPos(m, d)
            points = self._positions()
            rows, errors = [], []
            for k, body in enumerate(self.bodies):
                if w_pos[k] <= 0 and w_rot[k] <= 0:
                    continue
                mujoco.mj_jac(m, d, self._jacp, self._jacr, points[k], body)
                if w_pos[k] > 0:
                    rows.append(w_pos[k] * self._jacp)
                    errors.append(w_pos[k] * (target_pos[k] - points[k]))
                if w_rot[k] > 0:
                    # subQuat gives the rotation from current to target in the body frame;
                    # the Jacobian is in the world frame.
                    mujoco.mju_subQuat(residual, target_rot[k], d.xquat[body])
                    rows.append(w_rot[k] * self._jacr)
                    errors.append(w_rot[k] * (d.xmat[body].reshape(3, 3) @ residual))
            jac, err = np.concatenate(rows), np.concatenate(errors)
            hessian = jac.T @ jac + (DAMPING + (SMOOTH if q_prev is not None else 0.0)) * np.eye(
                m.nv
            )
            gradient = jac.T @ err
            if q_prev is not None:
                mujoco.mj_differentiatePos(m, tangent, 1.0, q_prev, q)
                gradient -= SMOOTH * tangent
            step = np.linalg.solve(hessian, gradient)
            mujoco.mj_integratePos(m, q, step, 1.0)
            self.clamp(q)
        return q
