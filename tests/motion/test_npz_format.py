"""mjmimic .npz motion files and read_motion/write_motion dispatch."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from mjmimic.errors import MotionError
from mjmimic.motion.formats import read_motion, write_motion
from mjmimic.motion.formats.npz import FORMAT_VERSION
from mjmimic.motion.motion import Motion


def _motion(names: bool = True) -> Motion:
    rng = np.random.default_rng(0)
    rot = rng.normal(size=(7, 4))
    return Motion(
        fps=50.0,
        loop_mode="clamp",
        root_pos=rng.normal(size=(7, 3)),
        root_rot=rot / np.linalg.norm(rot, axis=1, keepdims=True),
        dof_pos=rng.normal(size=(7, 4)),
        joint_names=["a", "b", "c", "d"] if names else None,
        name="box_lift",
    )


@pytest.mark.parametrize("names", [True, False])
def test_round_trip(tmp_path, names):
    m = _motion(names)
    path = write_motion(m, tmp_path / "sub" / "lift.npz")
    back = read_motion(path)
    assert back.fps == 50.0 and back.loop_mode == "clamp" and back.name == "box_lift"
    assert back.joint_names == m.joint_names
    for key in ("root_pos", "root_rot", "dof_pos"):
        np.testing.assert_array_equal(getattr(back, key), getattr(m, key))


def test_file_holds_plain_arrays(tmp_path):
    path = write_motion(_motion(), tmp_path / "lift.npz")
    with np.load(path, allow_pickle=False) as data:
        assert str(data["format"]) == "mjmimic.motion"
        assert data["format_version"].dtype.kind == "i" and int(data["format_version"]) == 1
        assert data["joint_names"].dtype.kind == "U"
        assert str(data["loop_mode"]) == "clamp"
        assert data["root_rot"].shape == (7, 4)


def _rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del arrays[key]
    np.savez(path, **arrays)


def test_newer_format_version_asks_to_upgrade(tmp_path):
    path = write_motion(_motion(), tmp_path / "new.npz")
    _rewrite(path, format_version=np.array(FORMAT_VERSION + 1))
    with pytest.raises(MotionError, match=r"new.npz: .*format_version 2.*upgrade mjmimic"):
        read_motion(path)


def test_missing_key_is_named(tmp_path):
    path = write_motion(_motion(), tmp_path / "short.npz")
    _rewrite(path, root_rot=None)
    with pytest.raises(MotionError, match=r"short.npz: missing key\(s\) root_rot"):
        read_motion(path)


def test_quaternion_values_are_validated(tmp_path):
    path = write_motion(_motion(), tmp_path / "q.npz")
    _rewrite(path, root_rot=np.tile([2.0, 0, 0, 0], (7, 1)))
    with pytest.raises(MotionError, match=r"q.npz: root_rot must be unit quaternions"):
        read_motion(path)


def test_plain_array_npz_reads_with_names_and_either_quaternion_order(tmp_path, shared_data):
    asap = sorted((shared_data / "motions/g1_asap/npz").glob("*.npz"))[0]
    motion = read_motion(asap)
    with np.load(asap) as raw:
        np.testing.assert_allclose(motion.root_rot, raw["root_quat_wxyz"], atol=1e-6)
        assert motion.joint_names == [str(n) for n in raw["dof_names"]]
        xyzw_only = tmp_path / "xyzw.npz"
        np.savez(
            xyzw_only,
            fps=raw["fps"],
            root_pos=raw["root_pos"],
            root_quat_xyzw=raw["root_quat_xyzw"],
            dof_pos=raw["dof_pos"],
        )
    assert motion.fps == 30 and motion.loop_mode == "clamp" and motion.num_dofs == 23
    np.testing.assert_allclose(read_motion(xyzw_only).root_rot, motion.root_rot, atol=1e-6)


def test_foreign_npz_is_refused_with_its_keys(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, body_pos=np.zeros((3, 2, 3)), qpos=np.zeros((3, 7)))
    with pytest.raises(MotionError, match=r"not an mjmimic motion file .*found keys: body_pos"):
        read_motion(path)


def test_pickled_objects_are_not_loaded(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, format=np.array("mjmimic.motion"), junk=np.array([{"a": 1}], dtype=object))
    with pytest.raises(MotionError, match=r"obj.npz: the .npz holds pickled Python objects"):
        read_motion(path)


def test_write_format_and_suffix(tmp_path):
    with pytest.raises(MotionError, match=r"lift.pkl: a MimicKit .pkl motion needs the robot"):
        write_motion(_motion(), tmp_path / "lift.pkl")
    with pytest.raises(MotionError, match=r"lift.bin: cannot tell the format from the extension"):
        write_motion(_motion(), tmp_path / "lift.bin")
    with pytest.raises(MotionError, match=r"lift.pkl: beyondmimic motions are written as .npz"):
        write_motion(_motion(), tmp_path / "lift.pkl", format="beyondmimic")


def test_unknown_suffix_is_sniffed(tmp_path):
    path = write_motion(_motion(), tmp_path / "lift.npz")
    other = tmp_path / "lift.motion"
    shutil.copy(path, other)
    assert read_motion(other).num_frames == 7
    junk = tmp_path / "lift.bin"
    junk.write_bytes(b"\x00\x01 not a motion")
    with pytest.raises(MotionError, match=r"lift.bin: unknown motion file type"):
        read_motion(junk)


def test_robot_needed_for_deepmimic_and_mimickit(tmp_path, shared_data):
    walk = shared_data / "motions/deepmimic/humanoid3d_walk.txt"
    with pytest.raises(MotionError, match=r"walk.txt: a DeepMimic motion needs the robot"):
        read_motion(walk)
    with pytest.raises(MotionError, match=r"nothing.npz: motion file not found"):
        read_motion(tmp_path / "nothing.npz")
