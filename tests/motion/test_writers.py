"""Writers: MimicKit .pkl (dict form) and BeyondMimic .npz read back as what was written."""

from __future__ import annotations

import pickle
import pickletools

import numpy as np
import pytest

from mjmimic.motion.formats import read_motion, write_motion
from mjmimic.robots.model import RobotModel


@pytest.fixture(scope="module")
def amp(shared_data) -> RobotModel:
    return RobotModel.from_file(shared_data / "robots/amp_humanoid/amp_humanoid_standalone.xml")


@pytest.fixture(scope="module")
def g1(shared_data) -> RobotModel:
    return RobotModel.from_file(shared_data / "robots/unitree_g1/g1.xml")


def test_mimickit_pkl_round_trip_with_spherical_joints(tmp_path, shared_data, amp):
    walk = read_motion(shared_data / "motions/amp_humanoid_cmu/npz/amp_humanoid_walk.npz", amp)
    walk.loop_mode = "wrap"
    path = write_motion(walk, tmp_path / "walk.pkl", amp)
    raw = path.read_bytes()
    # The dict form only: no class or function is named in the file.
    assert not any(op.name in ("GLOBAL", "STACK_GLOBAL") for op, _, _ in pickletools.genops(raw))
    data = pickle.loads(raw)
    assert data["loop_mode"] == 1 and data["fps"] == 60
    assert np.asarray(data["frames"]).shape == (walk.num_frames, 6 + amp.num_dofs)
    back = read_motion(path, amp)
    assert back.loop_mode == "wrap" and back.joint_names == amp.dof_names
    np.testing.assert_allclose(back.root_pos, walk.root_pos, atol=1e-9)
    np.testing.assert_allclose(np.abs((back.root_rot * walk.root_rot).sum(1)), 1.0, atol=1e-9)
    np.testing.assert_allclose(back.dof_pos, walk.dof_pos, atol=1e-6)


def test_beyondmimic_npz_round_trip_reproduces_the_source_file(tmp_path, shared_data, g1):
    source = shared_data / "motions/g1_holosoma/sub3_largebox_003_mj.npz"
    motion = read_motion(source, g1)
    path = write_motion(motion, tmp_path / "box.npz", g1, format="beyondmimic")
    back = read_motion(path, g1)
    np.testing.assert_allclose(back.dof_pos, motion.dof_pos, atol=1e-12)
    np.testing.assert_allclose(back.root_pos, motion.root_pos, atol=1e-12)
    with np.load(path) as ours, np.load(source) as theirs:
        assert [str(n) for n in ours["body_names"]] == g1.body_names
        assert [str(n) for n in ours["joint_names"]] == g1.dof_names
        rows = [list(theirs["body_names"]).index(b) for b in g1.body_names]
        # Legs: the two G1 models agree to < 1 mm (torso differs by 9 mm, data notes).
        legs = [i for i, b in enumerate(g1.body_names) if "hip" in b or "knee" in b]
        err = np.abs(ours["body_pos_w"][:, legs] - theirs["body_pos_w"][:, rows][:, legs])
        assert err.max() < 1e-3
        # Velocities by central differences agree with the source's away from the ends.
        dv = np.abs(ours["joint_vel"][2:-2] - theirs["joint_vel"][2:-2])
        assert np.median(dv) < 0.02
        assert ours["body_lin_vel_w"].shape == ours["body_pos_w"].shape
