"""``tracking_errors``: per-body and per-joint errors, the means kept for the log, clip time."""

from __future__ import annotations

import math

import torch

from mjmimic.envs.tracking import clip_time, tracking_errors
from mjmimic.rotations import quat_from_axis_angle


def _identity(n: int, j: int) -> torch.Tensor:
    q = torch.zeros(n, j, 4)
    q[..., 0] = 1.0
    return q


def _errors(**changes):
    n, k, j = 2, 3, 4
    args = dict(
        char_root_pos=torch.zeros(n, 3),
        char_key_pos=torch.zeros(n, k, 3),
        char_joint_rot=_identity(n, j),
        ref_root_pos=torch.zeros(n, 3),
        ref_key_pos=torch.zeros(n, k, 3),
        ref_joint_rot=_identity(n, j),
        moving_joints=torch.tensor([True, True, False, True]),
        clip=torch.tensor([0, 1]),
        motion_time=torch.tensor([0.5, 0.5]),
        clip_duration=torch.tensor([2.0, 2.0]),
        clip_wraps=torch.tensor([False, False]),
    )
    args.update(changes)
    return tracking_errors(**args)


def test_body_errors_are_relative_to_each_root():
    """Env 0: the whole character is shifted 1 m (root error 1 m, no body error); env 1:
    key body 2 is 0.3 m off with the root in place."""
    char_root = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    char_key = torch.zeros(2, 3, 3)
    char_key[0] += torch.tensor([1.0, 0.0, 0.0])
    char_key[1, 2] = torch.tensor([0.0, 0.3, 0.0])
    out = _errors(char_root_pos=char_root, char_key_pos=char_key)
    assert out["body_pos_err"].shape == (2, 3)
    assert torch.allclose(out["body_pos_err"][0], torch.zeros(3), atol=1e-6)
    assert torch.allclose(out["body_pos_err"][1], torch.tensor([0.0, 0.0, 0.3]), atol=1e-6)
    assert torch.allclose(out["root_pos_err"], torch.tensor([1.0, 0.0]))
    # The mean kept for the log column Test_Key_Pos_Err: over key bodies.
    assert torch.allclose(out["key_pos_err"], torch.tensor([0.0, 0.1]), atol=1e-6)


def test_joint_errors_leave_out_fixed_joints():
    """Joint 1 rotated 0.4 rad, fixed joint 2 by 3 rad (must not count)."""
    rot = _identity(2, 4)
    x = torch.tensor([1.0, 0.0, 0.0])
    rot[:, 1] = quat_from_axis_angle(x, torch.tensor(0.4))
    rot[:, 2] = quat_from_axis_angle(x, torch.tensor(3.0))
    out = _errors(char_joint_rot=rot)
    assert out["joint_err"].shape == (2, 3)  # moving joints only
    assert torch.allclose(out["joint_err"][:, 1], torch.tensor([0.4, 0.4]), atol=1e-5)
    assert torch.allclose(out["joint_err"][:, [0, 2]], torch.zeros(2, 2), atol=1e-5)
    assert torch.allclose(out["joint_rot_err"], torch.tensor([0.4 / 3] * 2), atol=1e-5)


def test_no_key_bodies_gives_zero_mean():
    out = _errors(char_key_pos=torch.zeros(2, 0, 3), ref_key_pos=torch.zeros(2, 0, 3))
    assert out["body_pos_err"].shape == (2, 0)
    assert torch.equal(out["key_pos_err"], torch.zeros(2))


def test_clip_and_clip_time_of_the_reference_frame():
    out = _errors(
        clip=torch.tensor([3, 1]),
        motion_time=torch.tensor([2.5, 2.5]),
        clip_wraps=torch.tensor([True, False]),
    )
    assert out["clip"].tolist() == [3, 1]
    # A looping clip wraps (2.5 s in a 2 s clip is 0.5 s); a clamped one stops at its end.
    assert torch.allclose(out["clip_time"], torch.tensor([0.5, 2.0]))


def test_clip_time_rules():
    t = clip_time(
        torch.tensor([-0.1, 0.7, 4.2, 4.2]),
        torch.tensor([2.0, 2.0, 2.0, 2.0]),
        torch.tensor([False, False, True, False]),
    )
    assert torch.allclose(t, torch.tensor([0.0, 0.7, 0.2, 2.0]), atol=1e-6)
    assert math.isclose(float(t[2]), 0.2, abs_tol=1e-6)
