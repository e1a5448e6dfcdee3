"""Rotation math on batched torch tensors.

Project-wide convention (the one place it is decided):

* Quaternions are **(w, x, y, z)**, scalar first, as in MuJoCo's ``qpos``/``xquat``.
  Readers of formats that store (x, y, z, w) convert at the file boundary.
* World frame is **z-up**, gravity along -z. A character faces +x in its rest pose and
  +y is its left.
* ``quat_rotate(q, v)`` rotates vector ``v`` from the body frame into the world frame.
* An exponential map (axis * angle, 3 numbers) is the rotation-vector form used by
  MimicKit for spherical joint DoFs and root rotations in ``.pkl`` motions.

All functions broadcast over leading dimensions and accept any float dtype.
"""

from __future__ import annotations

import math

import torch

_EPS = 1e-9


def quat_identity(shape: tuple[int, ...] = (), dtype=torch.float32, device=None) -> torch.Tensor:
    q = torch.zeros((*shape, 4), dtype=dtype, device=device)
    q[..., 0] = 1.0
    return q


def quat_normalize(q: torch.Tensor) -> torch.Tensor:
    return q / q.norm(dim=-1, keepdim=True).clamp_min(_EPS)


def quat_conjugate(q: torch.Tensor) -> torch.Tensor:
    """Inverse of a unit quaternion."""
    return torch.cat([q[..., :1], -q[..., 1:]], dim=-1)


def quat_mul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``)."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        dim=-1,
    )


def quat_rotate(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate ``v`` by unit quaternion ``q`` (body frame -> world frame)."""
    w = q[..., :1]
    u = q[..., 1:]
    t = 2.0 * torch.cross(u.expand_as(v), v, dim=-1)
    return v + w * t + torch.cross(u.expand_as(v), t, dim=-1)


def quat_rotate_inverse(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate ``v`` by the inverse of ``q`` (world frame -> body frame)."""
    return quat_rotate(quat_conjugate(q), v)


def quat_canonical(q: torch.Tensor) -> torch.Tensor:
    """Same rotation with w >= 0 (q and -q are the same rotation)."""
    return torch.where(q[..., :1] < 0, -q, q)


def quat_from_axis_angle(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """``axis`` (..., 3) unit vectors, ``angle`` (...) radians."""
    half = 0.5 * angle
    return torch.cat([torch.cos(half)[..., None], axis * torch.sin(half)[..., None]], dim=-1)


def quat_to_axis_angle(q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Returns (axis (...,3), angle (...) in [0, pi]). Axis is +x for the identity."""
    q = quat_canonical(quat_normalize(q))
    sin_half = q[..., 1:].norm(dim=-1)
    angle = 2.0 * torch.atan2(sin_half, q[..., 0])
    default_axis = torch.zeros_like(q[..., 1:])
    default_axis[..., 0] = 1.0
    axis = torch.where(
        sin_half[..., None] > 1e-7, q[..., 1:] / sin_half.clamp_min(1e-12)[..., None], default_axis
    )
    return axis, angle


def exp_map_to_quat(e: torch.Tensor) -> torch.Tensor:
    """Rotation vector (axis * angle) -> unit quaternion."""
    angle = e.norm(dim=-1)
    half = 0.5 * angle
    # sin(half)/angle with its Taylor limit 1/2 - angle^2/48 near zero.
    small = angle < 1e-6
    scale = torch.where(small, 0.5 - angle * angle / 48.0, torch.sin(half) / angle.clamp_min(1e-12))
    return torch.cat([torch.cos(half)[..., None], e * scale[..., None]], dim=-1)


def quat_to_exp_map(q: torch.Tensor) -> torch.Tensor:
    """Unit quaternion -> rotation vector with angle in [0, pi]."""
    axis, angle = quat_to_axis_angle(q)
    return axis * angle[..., None]


def quat_angle(q: torch.Tensor) -> torch.Tensor:
    """Rotation angle of ``q`` in [0, pi]."""
    w = q[..., 0].abs().clamp(max=1.0)
    return 2.0 * torch.atan2(q[..., 1:].norm(dim=-1), w)


def quat_diff_angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Geodesic angle between rotations ``a`` and ``b`` in [0, pi]."""
    return quat_angle(quat_mul(quat_conjugate(a), b))


def quat_to_tan_norm(q: torch.Tensor) -> torch.Tensor:
    """The rotated x-axis (tangent) and z-axis (normal), 6 numbers: MimicKit's
    continuous rotation encoding."""
    x = torch.zeros((*q.shape[:-1], 3), dtype=q.dtype, device=q.device)
    z = torch.zeros_like(x)
    x[..., 0] = 1.0
    z[..., 2] = 1.0
    return torch.cat([quat_rotate(q, x), quat_rotate(q, z)], dim=-1)


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z),
            2 * (x * y - w * z),
            2 * (x * z + w * y),
            2 * (x * y + w * z),
            1 - 2 * (x * x + z * z),
            2 * (y * z - w * x),
            2 * (x * z - w * y),
            2 * (y * z + w * x),
            1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(*q.shape[:-1], 3, 3)


def heading_angle(q: torch.Tensor) -> torch.Tensor:
    """Yaw about +z of the rotated x-axis projected onto the ground plane."""
    x = torch.zeros((*q.shape[:-1], 3), dtype=q.dtype, device=q.device)
    x[..., 0] = 1.0
    d = quat_rotate(q, x)
    return torch.atan2(d[..., 1], d[..., 0])


def heading_quat(q: torch.Tensor) -> torch.Tensor:
    """Rotation about +z by the heading of ``q``."""
    half = 0.5 * heading_angle(q)
    zeros = torch.zeros_like(half)
    return torch.stack([torch.cos(half), zeros, zeros, torch.sin(half)], dim=-1)


def heading_quat_inverse(q: torch.Tensor) -> torch.Tensor:
    """Rotation that removes the heading of ``q`` (maps world axes into the heading frame)."""
    return quat_conjugate(heading_quat(q))


def quat_slerp(q0: torch.Tensor, q1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Shortest-path spherical interpolation; ``t`` broadcasts against q[..., 0]."""
    t = torch.as_tensor(t, dtype=q0.dtype, device=q0.device)
    cos = (q0 * q1).sum(-1)
    q1 = torch.where(cos[..., None] < 0, -q1, q1)
    cos = cos.abs().clamp(max=1.0)
    theta = torch.acos(cos)
    sin = torch.sin(theta)
    near = sin < 1e-6
    safe_sin = torch.where(near, torch.ones_like(sin), sin)
    w0 = torch.where(near, 1.0 - t, torch.sin((1.0 - t) * theta) / safe_sin)
    w1 = torch.where(near, t, torch.sin(t * theta) / safe_sin)
    return quat_normalize(w0[..., None] * q0 + w1[..., None] * q1)


def quat_from_euler_intrinsic(angles: torch.Tensor, axes: torch.Tensor) -> torch.Tensor:
    """Compose ``R(axes[0], angles[..., 0]) @ R(axes[1], angles[..., 1]) @ ...``.

    This is how MuJoCo composes several hinge joints in one body (first joint outermost).
    ``axes`` is (k, 3), ``angles`` (..., k).
    """
    q = quat_identity(angles.shape[:-1], dtype=angles.dtype, device=angles.device)
    for i in range(axes.shape[0]):
        q = quat_mul(q, quat_from_axis_angle(axes[i].to(angles), angles[..., i]))
    return q


def wrap_to_pi(angle: torch.Tensor) -> torch.Tensor:
    return torch.remainder(angle + math.pi, 2.0 * math.pi) - math.pi


def xyzw_to_wxyz(q: torch.Tensor) -> torch.Tensor:
    return torch.cat([q[..., 3:4], q[..., :3]], dim=-1)


def wxyz_to_xyzw(q: torch.Tensor) -> torch.Tensor:
    return torch.cat([q[..., 1:], q[..., :1]], dim=-1)


def matrix_to_quat(m: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) -> unit quaternions (..., 4), w >= 0.

    Branch-free Shepperd: build the four candidate solutions and keep, per element, the
    one with the largest (numerically safest) denominator.
    """
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    traces = torch.stack(
        [m00 + m11 + m22, m00 - m11 - m22, -m00 + m11 - m22, -m00 - m11 + m22], dim=-1
    )
    best = traces.argmax(dim=-1, keepdim=True)
    s = torch.sqrt((1.0 + traces.gather(-1, best)).clamp_min(1e-12)) * 2.0  # s = 4 * |component|
    candidates = torch.stack(
        [
            torch.stack([s[..., 0] / 4, (m21 - m12), (m02 - m20), (m10 - m01)], dim=-1),
            torch.stack([(m21 - m12), s[..., 0] / 4, (m01 + m10), (m02 + m20)], dim=-1),
            torch.stack([(m02 - m20), (m01 + m10), s[..., 0] / 4, (m12 + m21)], dim=-1),
            torch.stack([(m10 - m01), (m02 + m20), (m12 + m21), s[..., 0] / 4], dim=-1),
        ],
        dim=-2,
    )
    q = candidates.gather(-2, best[..., None].expand(*best.shape[:-1], 1, 4)).squeeze(-2)
    # Off-diagonal entries are 4 * (product of components) / s; the chosen one is s / 4.
    scale = torch.where(torch.arange(4, device=m.device) == best, torch.ones_like(q), 1.0 / s)
    return quat_canonical(quat_normalize(q * scale))
