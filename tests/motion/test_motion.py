"""Motion validation and alignment of DoF columns to a robot."""

from __future__ import annotations

import numpy as np
import pytest

from mjmimic.errors import MotionError
from mjmimic.motion.motion import Motion
from mjmimic.robots.model import RobotModel


def _motion(t: int = 5, d: int = 3, **kw) -> Motion:
    args = {
        "fps": 30.0,
        "loop_mode": "wrap",
        "root_pos": np.zeros((t, 3)),
        "root_rot": np.tile([1.0, 0, 0, 0], (t, 1)),
        "dof_pos": np.arange(t * d, dtype=float).reshape(t, d),
        "joint_names": [f"j{i}" for i in range(d)],
        "name": "clip",
    }
    args.update(kw)
    return Motion(**args)


@pytest.fixture(scope="module")
def g1(shared_data) -> RobotModel:
    return RobotModel.from_file(shared_data / "robots/unitree_g1/g1.xml")


def test_properties():
    m = _motion(t=31)
    assert m.num_frames == 31 and m.num_dofs == 3
    assert m.duration == pytest.approx(1.0)
    assert m.root_pos.dtype == np.float64


def test_nearly_unit_quaternions_are_renormalized():
    rot = np.tile([1.0, 0, 0, 0], (5, 1))
    rot[2] = [0.9995, 0, 0, 0]
    m = _motion(root_rot=rot)
    np.testing.assert_allclose(np.linalg.norm(m.root_rot, axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"root_rot": np.tile([0.99, 0, 0, 0], (5, 1))}, "frame 0 has norm 0.9900"),
        ({"root_rot": np.tile([0.0, 0, 0, 1, 0], (5, 1))}, r"root_rot must have shape \(T, 4\)"),
        ({"root_pos": np.zeros((4, 3))}, "same number of frames"),
        ({"fps": 0.0}, "fps must be a positive number"),
        ({"fps": "fast"}, "fps must be a number"),
        ({"loop_mode": "loop"}, "loop_mode must be 'wrap' or 'clamp'"),
        ({"joint_names": ["a", "b"]}, "2 joint names for 3 DoF columns"),
        ({"joint_names": ["a", "b", "a"]}, "duplicate joint names: a"),
    ],
)
def test_invalid_motions(change, match):
    with pytest.raises(MotionError, match=match):
        _motion(**change)


def test_nan_is_reported_with_its_frame():
    dof = np.zeros((5, 3))
    dof[3, 1] = np.nan
    with pytest.raises(MotionError, match=r"walk.npz: dof_pos has NaN .* frame 3"):
        _motion(dof_pos=dof, source="walk.npz")


def test_single_frame_is_refused():
    with pytest.raises(MotionError, match=r"at least 2 frames, found 1"):
        _motion(t=1)


def test_align_reorders_by_name(g1):
    rng = np.random.default_rng(0)
    dof = rng.normal(size=(6, g1.num_dofs))
    order = rng.permutation(g1.num_dofs)
    m = _motion(t=6, dof_pos=dof[:, order], joint_names=[g1.dof_names[i] for i in order])
    aligned = m.align_to_robot(g1, "x.npz")
    assert aligned.joint_names == g1.dof_names
    np.testing.assert_array_equal(aligned.dof_pos, dof)
    np.testing.assert_array_equal(m.dof_pos, dof[:, order])  # the original is untouched


def test_align_23_dof_g1_clip_with_wrists_filled(g1, shared_data):
    """A real ASAP 23-DoF clip (wrists locked) on the 29-DoF G1."""
    path = sorted((shared_data / "motions/g1_asap/npz").glob("*.npz"))[0]
    with np.load(path, allow_pickle=False) as data:
        m = Motion(
            fps=float(data["fps"]),
            loop_mode="clamp",
            root_pos=data["root_pos"],
            root_rot=data["root_quat_wxyz"],
            dof_pos=data["dof_pos"],
            joint_names=[str(n) for n in data["dof_names"]],
            name=path.stem,
        )
    assert m.num_dofs == 23
    wrists = [n for n in g1.dof_names if "wrist" in n]
    assert len(wrists) == 6
    with pytest.raises(MotionError, match=r"missing from the motion: left_wrist_roll_joint"):
        m.align_to_robot(g1, path.name)
    aligned = m.align_to_robot(g1, path.name, fill_missing=dict.fromkeys(wrists, 0.0))
    assert aligned.num_dofs == 29
    for name in wrists:
        np.testing.assert_array_equal(aligned.dof_pos[:, g1.dof_names.index(name)], 0.0)
    knee = "left_knee_joint"
    np.testing.assert_array_equal(
        aligned.dof_pos[:, g1.dof_names.index(knee)], m.dof_pos[:, m.joint_names.index(knee)]
    )


def test_align_reports_both_sides(g1):
    names = list(g1.dof_names)
    names[0] = "tail_joint"  # not in the robot; left_hip_pitch_joint now missing
    m = _motion(t=3, dof_pos=np.zeros((3, 29)), joint_names=names)
    with pytest.raises(MotionError) as err:
        m.align_to_robot(g1, "odd.npz")
    msg = str(err.value)
    assert "not in robot g1.xml: tail_joint" in msg
    assert "missing from the motion: left_hip_pitch_joint" in msg
    assert "\n" not in msg


def test_align_without_names_needs_the_robot_dof_count(g1):
    m = _motion(t=3, dof_pos=np.zeros((3, 23)), joint_names=None)
    with pytest.raises(MotionError, match=r"walk.npz: motion has 23 DoFs but robot g1.xml has 29;"):
        m.align_to_robot(g1, "walk.npz")
    ok = _motion(t=3, dof_pos=np.ones((3, 29)), joint_names=None).align_to_robot(g1, "w.npz")
    assert ok.joint_names == g1.dof_names


def test_fill_missing_with_unknown_name_is_refused(g1):
    m = _motion(t=3, dof_pos=np.zeros((3, 29)), joint_names=list(g1.dof_names))
    with pytest.raises(MotionError, match=r"does not have: wrist_joint"):
        m.align_to_robot(g1, "w.npz", fill_missing={"wrist_joint": 0.0})
