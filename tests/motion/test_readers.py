"""Readers of other tools' motion files, each on the real files in the reference data."""

from __future__ import annotations

import pickle
import sys
import types
import zlib

import numpy as np
import pytest
import torch

from mjmimic.errors import MotionError
from mjmimic.motion.formats import read_motion
from mjmimic.motion.formats.bvh import read_bvh
from mjmimic.robots.kinematics import Kinematics
from mjmimic.robots.model import RobotModel
from mjmimic.rotations import quat_diff_angle, quat_mul, quat_rotate


@pytest.fixture(scope="module")
def g1(shared_data) -> RobotModel:
    return RobotModel.from_file(shared_data / "robots/unitree_g1/g1.xml")


@pytest.fixture(scope="module")
def amp(shared_data) -> RobotModel:
    return RobotModel.from_file(shared_data / "robots/amp_humanoid/amp_humanoid_standalone.xml")


def _asap(shared_data, kind: str):
    return sorted((shared_data / f"motions/g1_asap/{kind}").glob(f"*.{kind}"))[0]


# --------------------------------------------------------------------------- PHC / ASAP
def test_phc_joblib_pickle_matches_its_plain_npz_twin(shared_data, g1):
    motion = read_motion(_asap(shared_data, "pkl"))
    with np.load(_asap(shared_data, "npz")) as twin:
        np.testing.assert_allclose(motion.root_rot, twin["root_quat_wxyz"], atol=1e-6)
        np.testing.assert_allclose(motion.root_pos, twin["root_pos"], atol=1e-6)
        np.testing.assert_allclose(motion.dof_pos, twin["dof_pos"], atol=1e-6)
    assert motion.fps == 30 and motion.num_dofs == 23 and motion.loop_mode == "clamp"
    # 23 columns cannot be named from the 29-DoF G1: no guessing.
    assert read_motion(_asap(shared_data, "pkl"), g1).joint_names is None


def test_phc_compressed_and_multi_clip(tmp_path, shared_data):
    raw = _asap(shared_data, "pkl").read_bytes()
    packed = tmp_path / "packed.pkl"
    packed.write_bytes(zlib.compress(raw))  # joblib's compress=True
    assert read_motion(packed).num_frames == read_motion(_asap(shared_data, "pkl")).num_frames
    clip = {
        "root_trans_offset": np.zeros((3, 3)),
        "root_rot": np.tile([0.0, 0, 0, 1], (3, 1)),
        "dof": np.zeros((3, 2)),
        "fps": 30,
    }
    two = tmp_path / "two.pkl"
    two.write_bytes(pickle.dumps({"walk": clip, "run": clip}))
    with pytest.raises(MotionError, match=r"two.pkl: holds 2 clips \(walk, run\); pick one"):
        read_motion(two)
    run = read_motion(two, clip="run")
    assert run.name == "run" and run.root_rot[0].tolist() == [1, 0, 0, 0]  # xyzw -> wxyz
    with pytest.raises(MotionError, match=r"no clip named 'jog'; clips: walk, run"):
        read_motion(two, clip="jog")


# ---------------------------------------------------------------- MimicKit Motion objects
class _LoopMode:
    """Pickles like MimicKit's ``LoopMode`` enum member: a call with its value."""

    def __init__(self, value):
        self.value = value

    def __reduce__(self):
        return (type(self), (self.value,))


@pytest.mark.parametrize("module", ["__main__", "mimickit.anim.motion", "anim.motion"])
@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_pickled_mimickit_motion_object(tmp_path, monkeypatch, module, protocol, shared_data):
    robot = RobotModel.from_file(shared_data / "robots/mimickit_humanoid/humanoid.xml")
    # A module of that name holding classes named like MimicKit's, so pickle writes the
    # same global references a MimicKit user's file has.
    fake = types.ModuleType(module)
    motion_cls = type("Motion", (), {"__module__": module})
    loop_cls = type("LoopMode", (_LoopMode,), {"__module__": module})
    fake.Motion, fake.LoopMode = motion_cls, loop_cls
    for part in range(module.count(".") + 1):
        name = ".".join(module.split(".")[: part + 1])
        monkeypatch.setitem(sys.modules, name, sys.modules.get(name, fake))
    monkeypatch.setitem(sys.modules, module, fake)
    obj = motion_cls()
    frames = np.zeros((4, 6 + robot.num_dofs), dtype=np.float32)
    frames[:, 2] = np.linspace(0.8, 0.9, 4)
    obj.loop_mode, obj.fps, obj.frames = loop_cls(1), 30, frames
    path = tmp_path / "obj.pkl"
    raw = pickle.dumps(obj, protocol=protocol)
    if protocol < 4:  # as numpy 1 wrote it
        raw = raw.replace(b"numpy._core.", b"numpy.core.")
    path.write_bytes(raw)
    motion = read_motion(path, robot)
    assert motion.loop_mode == "wrap" and motion.fps == 30 and motion.num_frames == 4
    np.testing.assert_allclose(motion.root_pos[:, 2], frames[:, 2], atol=1e-6)


class _Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_does_not_run(tmp_path, shared_data):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"loop_mode": 1, "fps": 30, "frames": _Evil(marker)}))
    with pytest.raises(MotionError, match=r"evil.pkl: refusing to unpickle '(posix|os).system'"):
        read_motion(path)
    assert not marker.exists()


def test_joblib_object_arrays_are_refused(tmp_path):
    # A NumpyArrayWrapper record of dtype object: joblib would unpickle the elements.
    raw = (
        b"\x80\x04cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(Vdtype\ncnumpy\ndtype\n"
        b"VO\n\x89\x88\x87R(K\x03V|\nNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tbVshape\n"
        b"K\x01\x85Vorder\nVC\nub."
    )
    path = tmp_path / "objects.pkl"
    path.write_bytes(raw)
    with pytest.raises(MotionError, match=r"objects.pkl: refusing a joblib array of Python"):
        read_motion(path)


# ------------------------------------------------------------------------- BeyondMimic
def test_beyondmimic_npz_maps_joints_by_name(shared_data, g1):
    path = shared_data / "motions/g1_holosoma/sub3_largebox_003_mj.npz"
    motion = read_motion(path, g1)
    with np.load(path) as raw:
        names = [str(n) for n in raw["joint_names"]]
        qpos = raw["joint_pos"]
    assert motion.fps == 50 and motion.num_frames == 325 and motion.joint_names == g1.dof_names
    np.testing.assert_allclose(motion.root_pos, qpos[:, :3])
    for col, name in enumerate(names):
        np.testing.assert_allclose(motion.dof_pos[:, g1.dof_names.index(name)], qpos[:, 7 + col])
    with pytest.raises(MotionError, match=r"needs the robot it is for"):
        read_motion(path)


def _edited(tmp_path, shared_data, **changes):
    path = shared_data / "motions/g1_holosoma/sub3_largebox_003_mj.npz"
    with np.load(path) as raw:
        arrays = {k: raw[k] for k in raw.files}
    arrays.update(changes)
    out = tmp_path / "edited.npz"
    np.savez(out, **arrays)
    return out, arrays


def test_beyondmimic_mismatches_are_errors_not_remaps(tmp_path, shared_data, g1, amp):
    path, arrays = _edited(tmp_path, shared_data)
    names = arrays["joint_names"].copy()
    names[0] = "left_hip_pitch"
    path, _ = _edited(tmp_path, shared_data, joint_names=names)
    with pytest.raises(
        MotionError,
        match=r"not in robot g1.xml: left_hip_pitch; missing from the motion: left_hip_pitch_joint",
    ):
        read_motion(path, g1)
    bodies = arrays["body_names"].copy()
    bodies[[3, 4]] = bodies[[4, 3]]  # left hip pitch and roll links swapped
    path, _ = _edited(tmp_path, shared_data, body_names=bodies)
    with pytest.raises(MotionError, match=r"body order differs .*left_hip_roll_link before"):
        read_motion(path, g1)
    path, _ = _edited(tmp_path, shared_data, body_names=np.char.replace(bodies, "torso", "chest"))
    with pytest.raises(MotionError, match=r"missing from body_names: torso_link"):
        read_motion(path, g1)
    moved = arrays["body_pos_w"].copy()
    moved[:, 9] += [0.0, 0.0, 0.1]  # left ankle roll link 10 cm off
    path, _ = _edited(tmp_path, shared_data, body_pos_w=moved)
    with pytest.raises(MotionError, match=r"body left_ankle_roll_link up to 0.100 m"):
        read_motion(path, g1)
    path, _ = _edited(tmp_path, shared_data, body_pos_w=moved[:-1])
    with pytest.raises(
        MotionError, match=r"body_pos_w must be \(325, B, 3\), found \(324, 51, 3\)"
    ):
        read_motion(path, g1)
    with pytest.raises(MotionError, match=r"bodies of robot amp_humanoid_standalone.xml missing"):
        read_motion(shared_data / "motions/g1_holosoma/sub3_largebox_003_mj.npz", amp)


# --------------------------------------------------------------------------------- CSV
def test_csv_with_and_without_header(tmp_path, shared_data):
    with np.load(_asap(shared_data, "npz")) as twin:
        table = np.concatenate([twin["root_pos"], twin["root_quat_xyzw"], twin["dof_pos"]], 1)
        names = [str(n) for n in twin["dof_names"]]
    plain = tmp_path / "clip.csv"
    np.savetxt(plain, table, delimiter=",")
    with pytest.raises(MotionError, match=r"clip.csv: CSV motions do not store their frame rate"):
        read_motion(plain)
    motion = read_motion(plain, fps=30)
    with np.load(_asap(shared_data, "npz")) as twin:
        np.testing.assert_allclose(motion.root_rot, twin["root_quat_wxyz"], atol=1e-6)
    assert motion.joint_names is None and motion.num_dofs == 23
    header = tmp_path / "named.csv"
    cols = ["x", "y", "z", "qx", "qy", "qz", "qw", *names]
    np.savetxt(header, table, delimiter=",", header=",".join(cols), comments="")
    assert read_motion(header, fps=30).joint_names == names


# --------------------------------------------------------------------------- AMP poselib
def test_poselib_npy_reads_like_its_npz_twin(shared_data, amp):
    folder = shared_data / "motions/amp_humanoid_cmu"
    npy = read_motion(folder / "npy_poselib/amp_humanoid_run.npy", amp)
    npz = read_motion(folder / "npz/amp_humanoid_run.npz", amp)
    np.testing.assert_allclose(npy.dof_pos, npz.dof_pos, atol=1e-6)
    assert npy.fps == npz.fps == 60


def test_amp_npz_reproduces_the_skeleton_body_positions(shared_data, amp):
    path = shared_data / "motions/amp_humanoid_cmu/npz/amp_humanoid_walk.npz"
    motion = read_motion(path, amp)
    assert motion.fps == 60 and motion.num_frames == 154
    with np.load(path) as raw:  # poselib's own forward kinematics of the file
        local = torch.tensor(raw["local_rotation_xyzw"][..., [3, 0, 1, 2]], dtype=torch.float64)
        offsets = torch.tensor(raw["local_translation"], dtype=torch.float64)
        parents = raw["parent_indices"]
        rot, pos = [local[:, 0]], [torch.tensor(raw["root_translation"], dtype=torch.float64)]
        for k in range(1, len(parents)):
            p = parents[k]
            pos.append(pos[p] + quat_rotate(rot[p], offsets[k].expand_as(pos[p])))
            rot.append(quat_mul(rot[p], local[:, k]))
    kin = Kinematics(amp, dtype=torch.float64)
    fk, fk_rot = kin.forward_kinematics(
        torch.tensor(motion.root_pos), torch.tensor(motion.root_rot), torch.tensor(motion.dof_pos)
    )
    assert (fk - torch.stack(pos, 1)).norm(dim=-1).max() < 1e-4
    assert quat_diff_angle(fk_rot, torch.stack(rot, 1)).max() < 1e-4  # leaves too (feet)


# --------------------------------------------------------------------------------- BVH
def test_bvh_reads_as_a_z_up_skeleton_in_metres(shared_data):
    skel = read_bvh(shared_data / "motions/cmu_bvh/scaled_131_01.bvh")
    assert skel.fps == 120 and skel.num_frames == 995 and len(skel.joint_names) == 31
    assert skel.joint_names[:3] == ["Hips", "LHipJoint", "LeftHip"]
    assert skel.parents[:3] == [-1, 0, 1]
    pos = skel.joint_positions()
    head, toe = skel.joint_names.index("Head"), skel.joint_names.index("LeftToe")
    height = pos[:, head, 2] - pos[:, toe, 2]
    assert 1.1 < np.median(height) < 1.9  # an upright person (head base), metres, z up
    assert abs(np.median(pos[:, toe, 2])) < 0.15  # feet near the floor
    with pytest.raises(MotionError, match=r"a BVH file is a human skeleton"):
        read_motion(shared_data / "motions/cmu_bvh/scaled_131_01.bvh")


def test_bvh_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.bvh"
    bad.write_text(
        "HIERARCHY\nROOT Hips\n{\nOFFSET 0 0 0\nCHANNELS 3 Xrotation Yrotation Zrotation\n}\n"
        "MOTION\nFrames: 2\nFrame Time: 0.1\n0 0 0\n"
    )
    with pytest.raises(MotionError, match=r"bad.bvh: expected 2 frames of 3 channel values"):
        read_bvh(bad)
