"""Every motion reader, fed damaged files: a valid ``Motion`` or one line, nothing else.

Each format has a small valid seed file built here (4 frames on mjmimic's humanoid); the
damage is in ``fuzzing.py``. Structured cases rebuild a file from its seed's keys with some
dropped or given values of other dtypes and shapes (bool, complex, text, NaN, huge...).
"""

from __future__ import annotations

import io
import json
import pickle
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mjmimic.motion.formats import read_motion, write_npz
from mjmimic.motion.formats.beyondmimic_npz import write_beyondmimic_npz
from mjmimic.motion.formats.bvh import read_bvh
from mjmimic.motion.formats.deepmimic_txt import DEEPMIMIC_JOINTS
from mjmimic.motion.formats.mimickit_pkl import write_mimickit_pkl
from mjmimic.motion.motion import Motion
from mjmimic.motion.skeleton import SkeletonMotion
from mjmimic.robots.model import RobotModel
from tests.fuzz.fuzzing import (
    any_array,
    check_reader,
    damaged,
    edited_dict,
    finite,
    json_values,
    python_values,
)

FRAMES = 4
FPS = 30.0


def _motion(robot: RobotModel) -> Motion:
    root_pos = np.tile([0.0, 0.0, 0.9], (FRAMES, 1))
    root_pos[:, 0] = np.linspace(0.0, 0.1, FRAMES)
    return Motion(
        fps=FPS,
        loop_mode="wrap",
        root_pos=root_pos,
        root_rot=np.tile([1.0, 0.0, 0.0, 0.0], (FRAMES, 1)),
        dof_pos=np.full((FRAMES, robot.num_dofs), 0.1),
        joint_names=list(robot.dof_names),
        name="seed",
    )


def _npz_bytes(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _file_bytes(tmp: Path, write: Callable[[Path], Any]) -> bytes:
    write(tmp)
    return tmp.read_bytes()


# ---------------------------------------------------------------------------------------
# Seeds: key -> value dicts (structured formats) and bytes


def plain_arrays(robot: RobotModel) -> dict[str, Any]:
    m = _motion(robot)
    return {
        "fps": np.array(FPS),
        "root_pos": m.root_pos,
        "root_quat_wxyz": m.root_rot,
        "dof_pos": m.dof_pos,
        "dof_names": np.array(robot.dof_names),
    }


def amp_arrays(robot: RobotModel) -> dict[str, Any]:
    return {
        "fps": np.array(FPS),
        "root_translation": _motion(robot).root_pos,
        "local_rotation_xyzw": np.tile([0.0, 0.0, 0.0, 1.0], (FRAMES, robot.num_bodies, 1)),
        "node_names": np.array(robot.body_names),
    }


def mimickit_dict(robot: RobotModel, tmp: Path) -> dict[str, Any]:
    write_mimickit_pkl(_motion(robot), robot, tmp)
    with tmp.open("rb") as f:
        return pickle.load(f)  # our own file, written just above


def phc_clip(robot: RobotModel) -> dict[str, Any]:
    m = _motion(robot)
    return {
        "root_trans_offset": m.root_pos,
        "root_rot": np.tile([0.0, 0.0, 0.0, 1.0], (FRAMES, 1)),
        "dof": m.dof_pos,
        "fps": 30,
    }


def deepmimic_text() -> bytes:
    pose = [0.0, 0.9, 0.0, 1.0, 0.0, 0.0, 0.0]
    for joint in DEEPMIMIC_JOINTS:
        pose += [1.0, 0.0, 0.0, 0.0] if joint.kind == "spherical" else [0.1]
    frames = [[1.0 / FPS, *pose] for _ in range(FRAMES)]
    return json.dumps({"Loop": "wrap", "Frames": frames}).encode()


def csv_text(robot: RobotModel) -> bytes:
    row = [0.0, 0.0, 0.9, 0.0, 0.0, 0.0, 1.0] + [0.1] * robot.num_dofs
    return "\n".join(",".join(f"{v:g}" for v in row) for _ in range(FRAMES)).encode()


BVH_TEXT = b"""HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT Chest
  {
    OFFSET 0 0.2 0
    CHANNELS 3 Zrotation Yrotation Xrotation
    End Site
    {
      OFFSET 0 0.3 0
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.0333333
0 0.9 0 0 0 0 1.5 -2 3
0.01 0.9 0 1 0 0 2.5 -2 3
0.02 0.9 0 2 0 0 3.5 -2 3
"""


class _LoopMode:
    """Pickles like MimicKit's ``LoopMode`` enum member: a call with its value."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.value,))


def mimickit_object_pickle(state: dict[str, Any], protocol: int) -> bytes:
    """A pickled MimicKit ``Motion`` object (module ``mimickit.anim.motion``) holding
    ``state``, as older MimicKit versions wrote clips."""
    module = types.ModuleType("mimickit.anim.motion")
    motion_cls = type("Motion", (), {"__module__": module.__name__})
    loop_cls = type("LoopMode", (_LoopMode,), {"__module__": module.__name__})
    module.Motion, module.LoopMode = motion_cls, loop_cls
    obj = motion_cls()
    obj.__dict__.update(state)
    if isinstance(state.get("loop_mode"), int) and not isinstance(state["loop_mode"], bool):
        obj.loop_mode = loop_cls(state["loop_mode"])
    # pickle imports the module by name: its parent packages must be importable too.
    chain = {"mimickit": types.ModuleType("mimickit"), "mimickit.anim": types.ModuleType("a")}
    chain[module.__name__] = module
    saved = {name: sys.modules.get(name) for name in chain}
    sys.modules.update(chain)
    try:
        return pickle.dumps(obj, protocol=protocol)
    finally:
        for name, previous in saved.items():
            if previous is None:
                del sys.modules[name]
            else:
                sys.modules[name] = previous


# ---------------------------------------------------------------------------------------
# Readers


def valid_motion(motion: Motion) -> None:
    assert isinstance(motion, Motion)
    assert motion.num_frames >= 2 and np.isfinite(motion.fps) and motion.fps > 0
    finite(motion.root_pos, motion.root_rot, motion.dof_pos)


def valid_skeleton(skeleton: SkeletonMotion) -> None:
    assert isinstance(skeleton, SkeletonMotion)
    assert skeleton.num_frames >= 2 and np.isfinite(skeleton.fps) and skeleton.fps > 0
    assert skeleton.local_rot.shape == (skeleton.num_frames, len(skeleton.joint_names), 4)
    finite(skeleton.root_pos, skeleton.local_rot, skeleton.offsets)


@dataclass(frozen=True)
class MotionFormat:
    name: str
    suffix: str
    text: bool


FORMATS = (
    MotionFormat("mjmimic npz", ".npz", False),
    MotionFormat("plain npz", ".npz", False),
    MotionFormat("BeyondMimic npz", ".npz", False),
    MotionFormat("AMP npz", ".npz", False),
    MotionFormat("poselib npy", ".npy", False),
    MotionFormat("MimicKit pkl dict", ".pkl", False),
    MotionFormat("MimicKit pkl Motion object", ".pkl", False),
    MotionFormat("PHC pkl", ".pkl", False),
    MotionFormat("PHC joblib pkl", ".pkl", False),
    MotionFormat("DeepMimic txt", ".txt", True),
    MotionFormat("CSV", ".csv", True),
    MotionFormat("BVH", ".bvh", True),
)
FORMAT = {f.name: f for f in FORMATS}


@pytest.fixture(scope="module")
def seeds(humanoid: RobotModel, fuzz_dir: Path, shared_data: Path) -> dict[str, bytes]:
    """Format name -> the bytes of a valid file, each checked to read."""
    tmp = fuzz_dir / "seed"
    tmp.mkdir(exist_ok=True)
    motion = _motion(humanoid)
    poselib = {
        "rotation": {"arr": amp_arrays(humanoid)["local_rotation_xyzw"]},
        "root_translation": {"arr": motion.root_pos},
        "skeleton_tree": {"node_names": list(humanoid.body_names)},
        "fps": FPS,
        "is_local": True,
        "__name__": "SkeletonMotion",
    }
    npy = io.BytesIO()
    np.save(npy, np.array(poselib, dtype=object), allow_pickle=True)
    joblib = min(
        (shared_data / "motions/g1_asap/pkl").glob("*.pkl"), key=lambda p: p.stat().st_size
    )
    out = {
        "mjmimic npz": _file_bytes(tmp / "a.npz", lambda p: write_npz(motion, p)),
        "plain npz": _npz_bytes(**plain_arrays(humanoid)),
        "BeyondMimic npz": _file_bytes(
            tmp / "b.npz", lambda p: write_beyondmimic_npz(motion, humanoid, p)
        ),
        "AMP npz": _npz_bytes(**amp_arrays(humanoid)),
        "poselib npy": npy.getvalue(),
        "MimicKit pkl dict": pickle.dumps(mimickit_dict(humanoid, tmp / "c.pkl"), protocol=4),
        "MimicKit pkl Motion object": mimickit_object_pickle(
            mimickit_dict(humanoid, tmp / "c.pkl"), protocol=2
        ),
        "PHC pkl": pickle.dumps({"walk": phc_clip(humanoid)}, protocol=4),
        "PHC joblib pkl": joblib.read_bytes(),
        "DeepMimic txt": deepmimic_text(),
        "CSV": csv_text(humanoid),
        "BVH": BVH_TEXT,
    }
    for fmt in FORMATS:
        path = tmp / f"check{fmt.suffix}"
        path.write_bytes(out[fmt.name])
        result = _read(fmt, path, humanoid)
        (valid_skeleton if fmt.name == "BVH" else valid_motion)(result)
    return out


def _read(fmt: MotionFormat, path: Path, robot: RobotModel) -> Motion | SkeletonMotion:
    if fmt.name == "BVH":
        return read_bvh(path)
    return read_motion(path, robot, fps=FPS if fmt.name == "CSV" else None)


def _check(fmt: MotionFormat, case: str, data: bytes, fuzz_dir: Path, robot: RobotModel) -> None:
    path = fuzz_dir / f"{fmt.name.replace(' ', '_')}{fmt.suffix}"
    path.write_bytes(data)
    valid = valid_skeleton if fmt.name == "BVH" else valid_motion
    check_reader(fmt.name, case, lambda: _read(fmt, path, robot), valid)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# Tests


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
@given(data=st.data())
def test_damaged_files(fmt, data, seeds, fuzz_dir, humanoid):
    case, damaged_bytes = data.draw(damaged(seeds[fmt.name], fmt.text))
    _check(fmt, case, damaged_bytes, fuzz_dir, humanoid)


_STRUCTURED_NPZ = {"plain npz": plain_arrays, "AMP npz": amp_arrays}
_KEY = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)


@pytest.mark.parametrize("name", sorted(_STRUCTURED_NPZ))
@given(data=st.data())
def test_npz_with_wrong_dtypes_and_shapes(name, data, fuzz_dir, humanoid):
    arrays = data.draw(edited_dict(_STRUCTURED_NPZ[name](humanoid), any_array()))
    _check(FORMAT[name], "wrong dtypes/shapes", _npz_bytes(**arrays), fuzz_dir, humanoid)


@given(data=st.data())
def test_mjmimic_npz_with_wrong_dtypes_and_shapes(data, fuzz_dir, humanoid):
    m = _motion(humanoid)
    valid = {
        "format": np.array("mjmimic.motion"),
        "format_version": np.array(1),
        "fps": np.array(FPS),
        "loop_mode": np.array("wrap"),
        "root_pos": m.root_pos,
        "root_rot": m.root_rot,
        "dof_pos": m.dof_pos,
        "joint_names": np.array(m.joint_names),
    }
    arrays = data.draw(edited_dict(valid, any_array()))
    _check(FORMAT["mjmimic npz"], "wrong dtypes/shapes", _npz_bytes(**arrays), fuzz_dir, humanoid)


_PICKLE_VALUES = st.one_of(any_array(), python_values)


@given(data=st.data(), protocol=st.integers(2, 5))
def test_mimickit_pkl_with_wrong_values(data, protocol, fuzz_dir, humanoid):
    valid = mimickit_dict(humanoid, fuzz_dir / "mimickit_seed.pkl")
    state = data.draw(edited_dict(valid, _PICKLE_VALUES))
    as_object = data.draw(st.booleans())
    blob = mimickit_object_pickle(state, protocol) if as_object else pickle.dumps(state, protocol)
    fmt = FORMAT["MimicKit pkl Motion object"] if as_object else FORMAT["MimicKit pkl dict"]
    _check(fmt, "wrong values", blob, fuzz_dir, humanoid)


@given(data=st.data(), protocol=st.integers(2, 5))
def test_phc_pkl_with_wrong_values(data, protocol, fuzz_dir, humanoid):
    clip = data.draw(edited_dict(phc_clip(humanoid), _PICKLE_VALUES))
    name = data.draw(st.one_of(_KEY, st.integers(-2, 2)))
    blob = pickle.dumps({name: clip}, protocol)
    _check(FORMAT["PHC pkl"], "wrong values", blob, fuzz_dir, humanoid)


@given(data=st.data())
def test_deepmimic_txt_with_wrong_values(data, fuzz_dir, humanoid):
    valid = json.loads(deepmimic_text())
    edited = data.draw(edited_dict(valid, json_values))
    _check(FORMAT["DeepMimic txt"], "wrong values", json.dumps(edited).encode(), fuzz_dir, humanoid)
