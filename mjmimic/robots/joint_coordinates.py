"""Joint rotations -> robot DoF coordinates, the inverse of ``Kinematics.joint_rotations``.

Used offline by the motion importers (DeepMimic quaternions, MimicKit exp-maps), so it
works in numpy float64 with scipy and returns a torch tensor like its input.

Per joint kind (see ``robots/model.py`` for the DoF convention):

* hinge: the signed twist angle of the local rotation about the hinge axis, in [-pi, pi]
  (plus the hinge ``ref``). A rotation that is not about the axis loses its swing part.
* spherical (three orthogonal hinges in one body, any order and sign of axes): the three
  intrinsic Euler angles about those axes, first hinge outermost. With the axis matrix
  ``M = [a1 a2 a3]`` (a proper rotation, after flipping ``a3`` and its angle if needed),
  ``R = R_a1(t1) R_a2(t2) R_a3(t3) = M Rx(t1) Ry(t2) Rz(t3) M^T``, so the angles are
  scipy's intrinsic ``"XYZ"`` Euler angles of ``M^T R M``. Of the two Euler solutions the
  one with ``t2`` in [-pi/2, pi/2] is returned, unless the other one violates the joint
  limits less (hip flexion past 90 degrees, for instance).
* ball: the exp-map of the rotation (angle in [0, pi]).

``unwrap_dof_trajectory`` then removes 2*pi jumps over time and keeps spherical joints on
one continuous Euler branch, so that frames can be interpolated linearly.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from mjmimic.robots.kinematics import Kinematics
from mjmimic.robots.model import Joint, RobotModel

_TWO_PI = 2.0 * np.pi


def dof_from_joint_rotations(
    robot: RobotModel, kin: Kinematics | None, quats: torch.Tensor
) -> torch.Tensor:
    """Local joint rotations (N, B-1, 4, wxyz) -> DoF vectors (N, num_dofs).

    ``kin`` is accepted for symmetry with ``Kinematics.joint_rotations`` and may be None;
    the joint layout comes from ``robot``. The result has ``quats``' dtype and device.
    """
    if kin is not None and kin.robot.num_dofs != robot.num_dofs:
        raise ValueError("kin was built for a different robot")
    if quats.ndim != 3 or quats.shape[1:] != (robot.num_bodies - 1, 4):
        raise ValueError(
            f"expected joint rotations of shape (N, {robot.num_bodies - 1}, 4), "
            f"got {tuple(quats.shape)}"
        )
    q = quats.detach().cpu().numpy().astype(np.float64)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True).clip(min=1e-12)
    dof = np.zeros((q.shape[0], robot.num_dofs))
    for j in robot.joints:
        if j.dof_count == 0:
            continue
        qj = q[:, j.body - 1]
        sl = slice(j.dof_start, j.dof_start + j.dof_count)
        if j.kind == "hinge":
            dof[:, sl] = _twist_angle(qj, j.axes[0])[:, None]
        elif j.kind == "spherical":
            dof[:, sl] = _spherical_angles(qj, j, robot)
        else:  # ball
            dof[:, sl] = Rotation.from_quat(qj[:, [1, 2, 3, 0]]).as_rotvec()
    dof += robot.hinge_qpos0
    return torch.as_tensor(dof, dtype=quats.dtype, device=quats.device)


def unwrap_dof_trajectory(robot: RobotModel, dof: np.ndarray) -> np.ndarray:
    """Make a DoF trajectory (T, D) continuous in time (returns a new float64 array).

    Every frame keeps its rotation; only its coordinates change:

    * hinge and Euler angles get ``np.unwrap`` (no frame-to-frame jump above pi);
    * a spherical joint whose two Euler solutions swap between frames (near gimbal lock)
      is kept on the branch closest to the previous frame;
    * of the continuous trajectories left (which branch the clip starts on, whole 2*pi
      shifts of each angle), the one with the smallest total joint-limit violation is
      returned; on a tie, the one closest to the input;
    * ball exp-maps are replaced by the equivalent vector closest to the previous frame.
    """
    dof = np.array(dof, dtype=np.float64)
    if dof.ndim != 2 or dof.shape[1] != robot.num_dofs:
        raise ValueError(f"expected (T, {robot.num_dofs}) DoFs, got {dof.shape}")
    for j in robot.joints:
        sl = slice(j.dof_start, j.dof_start + j.dof_count)
        low, high = robot.dof_low[sl], robot.dof_high[sl]
        if j.kind == "hinge":
            dof[:, sl] = _shift_into_limits(np.unwrap(dof[:, sl], axis=0), low, high)[0]
        elif j.kind == "spherical":
            dof[:, sl] = _continuous_euler(dof[:, sl], robot.hinge_qpos0[sl], low, high)
        elif j.kind == "ball":
            dof[:, sl] = _continuous_exp_map(dof[:, sl])
    return dof


# ------------------------------------------------------------------------------- helpers
def _wrap(angle: np.ndarray) -> np.ndarray:
    return np.remainder(angle + np.pi, _TWO_PI) - np.pi


def _twist_angle(q: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Signed rotation angle about ``axis`` in [-pi, pi] (swing-twist decomposition)."""
    sign = np.where(q[:, 0] < 0, -1.0, 1.0)
    return 2.0 * np.arctan2(sign * (q[:, 1:] @ axis), sign * q[:, 0])


def _axis_frame(axes: np.ndarray) -> tuple[np.ndarray, float]:
    """Rotation matrix whose columns are the hinge axes, and the sign of the third angle."""
    m = np.asarray(axes, dtype=np.float64).T.copy()
    m /= np.linalg.norm(m, axis=0, keepdims=True)
    if np.linalg.det(m) < 0:
        m[:, 2] *= -1.0
        return m, -1.0
    return m, 1.0


def _spherical_angles(q: np.ndarray, joint: Joint, robot: RobotModel) -> np.ndarray:
    m, third_sign = _axis_frame(joint.axes)
    r = Rotation.from_quat(q[:, [1, 2, 3, 0]]).as_matrix()
    local = m.T @ r @ m
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # gimbal lock: scipy picks one solution
        ang = Rotation.from_matrix(local).as_euler("XYZ")
    alt = _wrap(np.stack([ang[:, 0] + np.pi, np.pi - ang[:, 1], ang[:, 2] + np.pi], axis=-1))
    ang[:, 2] *= third_sign
    alt[:, 2] *= third_sign
    sl = slice(joint.dof_start, joint.dof_start + 3)
    low = robot.dof_low[sl] - robot.hinge_qpos0[sl]
    high = robot.dof_high[sl] - robot.hinge_qpos0[sl]

    use_alt = _violation(alt[:, None], low, high).sum(-1) < (
        _violation(ang[:, None], low, high).sum(-1) - 1e-9
    )
    return np.where(use_alt[:, None], alt, ang)


def _violation(angles: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per-column total distance outside [low, high] over the frames (axis -2)."""
    return (np.maximum(low - angles, 0.0) + np.maximum(angles - high, 0.0)).sum(axis=-2)


def _shift_into_limits(
    traj: np.ndarray, low: np.ndarray, high: np.ndarray
) -> tuple[np.ndarray, float]:
    """Shift each column of (T, k) by the multiple of 2*pi (|n| <= 2) that puts it most
    inside the limits (no shift on a tie); returns it and its total violation."""
    shifts = _TWO_PI * np.arange(-2, 3)
    cost = _violation(traj[None] + shifts[:, None, None], low, high)  # (5, k)
    cost = cost + 1e-9 * np.abs(shifts)[:, None]
    best = shifts[np.argmin(cost, axis=0)]
    shifted = traj + best
    return shifted, float(_violation(shifted, low, high).sum())


def _continuous_euler(
    angles: np.ndarray, qpos0: np.ndarray, low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """A continuous (T, 3) intrinsic Euler trajectory with the same rotations.

    The other solution of (a, b, c) is alt = (a + pi, pi - b, c + pi) for any axis signs
    (flipping the third axis negates c, and -(c + pi) = -c + pi mod 2*pi). alt is an
    involution and keeps wrapped distances (alt(x) - alt(y) = (dx, -dy, dz)), so frame t
    is on the other branch than frame t-1 exactly when alt(x_t) is closer to x_{t-1}
    than x_t is; the branch of every frame is the running parity of those switches, up
    to the branch of frame 0, which is chosen by the joint limits.
    """
    a = angles - qpos0
    alt = np.stack([a[:, 0] + np.pi, np.pi - a[:, 1], a[:, 2] + np.pi], axis=-1)
    d_same = np.sum(_wrap(a[1:] - a[:-1]) ** 2, axis=-1)
    d_switch = np.sum(_wrap(alt[1:] - a[:-1]) ** 2, axis=-1)
    switch = np.concatenate([[0], (d_switch < d_same - 1e-12).astype(np.int64)])
    on_alt = (np.cumsum(switch) % 2).astype(bool)
    best, best_cost = a, np.inf
    for start_on_alt in (False, True):
        branch = on_alt ^ start_on_alt
        traj = np.unwrap(np.where(branch[:, None], alt, a), axis=0) + qpos0
        traj, cost = _shift_into_limits(traj, low, high)
        if cost < best_cost - 1e-9:
            best, best_cost = traj, cost
    return best


def _continuous_exp_map(e: np.ndarray) -> np.ndarray:
    """Exp-maps (T, 3): replace e by the equivalent e + 2*pi*k*e/|e| closest to the previous
    frame (the same rotation, no jump through the angle-pi sphere)."""
    out = e.copy()
    for t in range(1, e.shape[0]):
        angle = np.linalg.norm(e[t])
        if angle < 1e-9:
            continue
        axis = e[t] / angle
        cands = [axis * (angle + _TWO_PI * k) for k in (-2, -1, 0, 1, 2)]
        out[t] = min(cands, key=lambda c: float(np.sum((c - out[t - 1]) ** 2)))
    return out
