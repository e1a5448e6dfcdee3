"""MimicKit .pkl motions: a clip synthesized here from known poses reads back exactly."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from mjmimic.errors import MotionError
from mjmimic.motion.formats import read_motion
from mjmimic.robots.kinematics import Kinematics
from mjmimic.robots.model import RobotModel
from mjmimic.rotations import exp_map_to_quat, quat_diff_angle, quat_to_exp_map


@pytest.fixture(scope="module")
def humanoid(shared_data) -> RobotModel:
    return RobotModel.from_file(shared_data / "robots/mimickit_humanoid/humanoid.xml")


def _known_clip(robot: RobotModel, n: int = 40):
    """Smooth poses inside the joint limits; the right hip flexes past 90 degrees."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    mid = 0.5 * (robot.dof_low + robot.dof_high)
    amp = 0.4 * (robot.dof_high - robot.dof_low)
    phase = np.arange(robot.num_dofs)[None]
    dof = mid + amp * np.sin(2 * np.pi * t + phase)
    dof[:, robot.dof_names.index("right_hip_y")] = np.linspace(-0.5, -2.3, n)
    root_pos = np.concatenate([t * 1.5, 0.1 * np.sin(3 * t), 0.9 + 0.02 * t], axis=1)
    root_exp = np.concatenate([0.1 * t, -0.2 * t, 2.5 * t], axis=1)
    return root_pos, root_exp, dof


def _mimickit_frames(robot: RobotModel, root_pos, root_exp, dof) -> np.ndarray:
    """Frames the way MimicKit lays them out, computed with FK's joint rotations."""
    kin = Kinematics(robot, dtype=torch.float64)
    local = kin.joint_rotations(torch.tensor(dof))
    cols = [root_pos, root_exp]
    for j in robot.joints:
        if j.kind == "spherical":
            cols.append(quat_to_exp_map(local[:, j.body - 1]).numpy())
        elif j.kind == "hinge":
            cols.append(dof[:, j.dof_start : j.dof_start + 1])
    return np.concatenate(cols, axis=1)


def _write(path, frames, loop_mode=1, fps=30):
    path.write_bytes(pickle.dumps({"loop_mode": loop_mode, "fps": fps, "frames": frames}))
    return path


@pytest.mark.parametrize("as_list", [True, False])
def test_round_trip(tmp_path, humanoid, as_list):
    root_pos, root_exp, dof = _known_clip(humanoid)
    frames = _mimickit_frames(humanoid, root_pos, root_exp, dof)
    assert frames.shape == (40, 34)
    stored = frames.tolist() if as_list else frames.astype(np.float32)
    m = read_motion(_write(tmp_path / "mk.pkl", stored), humanoid)
    atol = 1e-9 if as_list else 1e-4
    assert m.fps == 30.0 and m.loop_mode == "wrap" and m.name == "mk"
    assert m.joint_names == humanoid.dof_names
    np.testing.assert_allclose(m.dof_pos, dof, atol=atol)
    np.testing.assert_allclose(m.root_pos, root_pos, atol=atol)
    q = exp_map_to_quat(torch.tensor(root_exp))
    assert quat_diff_angle(torch.tensor(m.root_rot), q).max() < max(atol, 1e-7)


def test_loop_mode_zero_is_clamp(tmp_path, humanoid):
    frames = _mimickit_frames(humanoid, *_known_clip(humanoid, 5))
    m = read_motion(_write(tmp_path / "c.pkl", frames.tolist(), loop_mode=0, fps=60), humanoid)
    assert m.loop_mode == "clamp" and m.duration == pytest.approx(4 / 60)


def test_frame_size_must_match_the_robot(tmp_path, humanoid):
    frames = np.zeros((5, 35))
    with pytest.raises(
        MotionError,
        match=r"x.pkl: MimicKit frames have 35 numbers but robot "
        r"humanoid.xml needs 6 \+ 28 = 34",
    ):
        read_motion(_write(tmp_path / "x.pkl", frames.tolist()), humanoid)


def test_not_a_mimickit_dict(tmp_path, humanoid):
    path = tmp_path / "y.pkl"
    path.write_bytes(pickle.dumps({"frames": [[0.0] * 34] * 3}))
    with pytest.raises(MotionError, match=r"y.pkl: not a MimicKit motion .*found frames"):
        read_motion(path, humanoid)
    with pytest.raises(MotionError, match=r"loop_mode must be 0 \(clamp\) or 1 \(wrap\)"):
        read_motion(_write(tmp_path / "z.pkl", [[0.0] * 34] * 3, loop_mode=7), humanoid)
