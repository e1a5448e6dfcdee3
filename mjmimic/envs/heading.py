"""Fused rotation helpers for observations and rewards: tan-norm and the heading frame.

The general (slower) forms live in ``mjmimic/rotations.py``; these are written out for the
per-step hot path and tested against them.
"""

from __future__ import annotations

import torch


def tan_norm(q: torch.Tensor) -> torch.Tensor:
    """``rotations.quat_to_tan_norm`` for unit quaternions, (..., 4) -> (..., 6): the first
    and third columns of the rotation matrix, written out (about 2x faster on CPU)."""
    w, x, y, z = q.unbind(-1)
    x2, y2, z2 = x + x, y + y, z + z
    xx, yy, zz = x * x2, y * y2, z * z2
    xy, xz, yz = x * y2, x * z2, y * z2
    wx, wy, wz = w * x2, w * y2, w * z2
    return torch.stack(
        [1.0 - (yy + zz), xy + wz, xz - wy, xz + wy, yz - wx, 1.0 - (xx + yy)], dim=-1
    )


def heading_cos_sin(q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the heading (yaw of the rotated x-axis) of ``q`` (..., 4).

    Matches ``rotations.heading_angle``; a root pointing straight up or down has heading 0.
    """
    w, x, y, z = q.unbind(-1)
    fx = w * w + x * x - y * y - z * z
    fy = 2.0 * (x * y + w * z)
    r = torch.sqrt(fx * fx + fy * fy)
    ok = r > 1e-9
    inv = 1.0 / torch.where(ok, r, torch.ones_like(r))
    return torch.where(ok, fx * inv, torch.ones_like(r)), torch.where(
        ok, fy * inv, torch.zeros_like(r)
    )


def remove_heading(q: torch.Tensor) -> torch.Tensor:
    """``heading_quat_inverse(q) * q``: the rotation seen from ``q``'s heading frame."""
    w, x, y, z = q.unbind(-1)
    half = 0.5 * torch.atan2(2.0 * (x * y + w * z), w * w + x * x - y * y - z * z)
    c, s = torch.cos(half), torch.sin(half)  # the inverse yaw is (c, 0, 0, -s)
    return torch.stack([c * w + s * z, c * x + s * y, c * y - s * x, c * z - s * w], dim=-1)


def yaw_rotate_inverse(cos: torch.Tensor, sin: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate ``v`` (..., 3) about +z by minus the angle whose cos/sin are given (world ->
    heading frame). ``cos``/``sin`` broadcast against ``v[..., 0]``."""
    vx, vy, vz = v.unbind(-1)
    return torch.stack([cos * vx + sin * vy, cos * vy - sin * vx, vz], dim=-1)
