"""MimicKit ``.pkl`` motions: read and write.

File: ``{"loop_mode": 0 (clamp) | 1 (wrap), "fps": number, "frames": (T, 6 + D)}``, or (older
MimicKit versions) a pickled ``Motion`` object with the same three attributes and
``loop_mode`` a ``LoopMode`` enum; ``safe_pickle`` turns that object into a
``PickledObject`` holding the attributes. We write the dict form only. A frame
is ``[root_pos (3), root_rot exp-map (3), joint DoFs in DFS body order]`` where a hinge
is its angle and a spherical joint (3 hinges in MuJoCo, one joint in MimicKit) is the
exp-map of its local rotation. The file does not say which DoFs are spherical, so the
robot is needed; its exp-maps become our per-hinge Euler angles.

Files are loaded with ``safe_pickle.safe_load``: no code in them runs.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from mjmimic.errors import MotionError
from mjmimic.motion.formats.arrays import real_array, real_scalar, shown
from mjmimic.motion.motion import Motion
from mjmimic.motion.safe_pickle import PickledObject, safe_load
from mjmimic.robots.joint_coordinates import dof_from_joint_rotations, unwrap_dof_trajectory
from mjmimic.robots.kinematics import Kinematics
from mjmimic.robots.model import RobotModel
from mjmimic.rotations import exp_map_to_quat, quat_identity, quat_to_exp_map

_LOOP_MODES = {0: "clamp", 1: "wrap", "clamp": "clamp", "wrap": "wrap"}
# Exp-maps and joint angles (rad) beyond this are garbage, not motion; far enough beyond
# it the exp-map's own norm overflows and the rotation becomes NaN.
_MAX_ANGLE = 1e6


def read_mimickit_pkl(path: str | Path, robot: RobotModel) -> Motion:
    path = Path(path)
    if not path.is_file():
        raise MotionError(f"{path.name}: motion file not found at {path}")
    return mimickit_motion(safe_load(path), robot, path)


def mimickit_motion(data: object, robot: RobotModel, path: Path) -> Motion:
    """The Motion in already-unpickled MimicKit data (dict or ``Motion`` object)."""
    src = path.name
    if isinstance(data, PickledObject) and data.class_name == "Motion":
        data = data.state
    if not isinstance(data, dict) or not {"loop_mode", "fps", "frames"} <= set(data):
        found = type(data).__name__
        if isinstance(data, dict):
            # On one line: a damaged file's keys may hold newlines.
            found = " ".join(", ".join(sorted(map(str, data))).split())
        raise MotionError(
            f"{src}: not a MimicKit motion (expected a dict with loop_mode, fps and frames; "
            f"found {found})"
        )
    loop_mode = _loop_mode(data["loop_mode"], src)
    frames = _frames(data["frames"], src)
    expected = 6 + robot.num_dofs
    if frames.shape[1] != expected:
        raise MotionError(_width_message(src, frames.shape[1], robot))
    if not np.isfinite(frames).all():
        raise MotionError(f"{src}: frames contain NaN or infinite values")
    if np.abs(frames[:, 3:]).max(initial=0.0) > _MAX_ANGLE:
        raise MotionError(
            f"{src}: frames hold rotations or joint angles beyond ±{_MAX_ANGLE:g} rad; "
            "check how the file was written"
        )
    root_rot = exp_map_to_quat(torch.from_numpy(frames[:, 3:6])).numpy()
    return Motion(
        fps=real_scalar(data["fps"], "fps", src),
        loop_mode=loop_mode,  # type: ignore[arg-type]
        root_pos=frames[:, :3],
        root_rot=root_rot,
        dof_pos=mimickit_dofs_to_dof_pos(robot, frames[:, 6:]),
        joint_names=list(robot.dof_names),
        name=path.stem,
        source=src,
    )


def write_mimickit_pkl(motion: Motion, robot: RobotModel, path: Path) -> None:
    """Write the dict form (plain lists and numbers: loads in any MimicKit version).

    ``motion`` must already be aligned to ``robot`` (``Motion.align_to_robot``).
    """
    kin = Kinematics(robot, dtype=torch.float64)
    dof = torch.as_tensor(motion.dof_pos, dtype=torch.float64)
    root_exp = quat_to_exp_map(torch.as_tensor(motion.root_rot, dtype=torch.float64)).numpy()
    frames = np.concatenate(
        [motion.root_pos, root_exp, dof_pos_to_mimickit_dofs(robot, kin, dof)], axis=1
    )
    data = {
        "loop_mode": 1 if motion.loop_mode == "wrap" else 0,
        "fps": motion.fps,
        "frames": frames.tolist(),
    }
    with path.open("wb") as f:
        pickle.dump(data, f, protocol=4)


def dof_pos_to_mimickit_dofs(robot: RobotModel, kin: Kinematics, dof: torch.Tensor) -> np.ndarray:
    """Our DoFs (T, D) -> MimicKit's: each spherical joint's hinge angles become the
    exp-map of the joint rotation; hinges and ball exp-maps are the same numbers."""
    local = kin.joint_rotations(dof)
    out = dof.numpy().copy()
    for j in robot.joints:
        if j.kind == "spherical":
            out[:, j.dof_start : j.dof_start + 3] = quat_to_exp_map(local[:, j.body - 1]).numpy()
    return out


def mimickit_dofs_to_dof_pos(robot: RobotModel, mk_dofs: np.ndarray) -> np.ndarray:
    """MimicKit joint DoFs (T, D) -> our DoFs (T, D), unwrapped over time.

    Hinges and ball joints are the same numbers in both conventions; spherical (3-hinge)
    joints go exp-map -> quaternion -> Euler angles about the hinge axes.
    """
    mk = torch.as_tensor(mk_dofs, dtype=torch.float64)
    quats = quat_identity((mk.shape[0], robot.num_bodies - 1), dtype=torch.float64)
    for j in robot.joints:
        if j.kind == "spherical":
            quats[:, j.body - 1] = exp_map_to_quat(mk[:, j.dof_start : j.dof_start + 3])
    dof = dof_from_joint_rotations(robot, None, quats).numpy()
    for j in robot.joints:
        if j.kind in ("hinge", "ball"):
            sl = slice(j.dof_start, j.dof_start + j.dof_count)
            dof[:, sl] = mk_dofs[:, sl]
    return unwrap_dof_trajectory(robot, dof)


def _width_message(src: str, width: int, robot: RobotModel) -> str:
    """A frame width that is not the robot's: what was found, what the robot needs, and
    which bundled robot profiles have the found DoF count (the robot it was made for)."""
    names = robot.dof_names
    shown = ", ".join(names[:3]) + (f", ..., {names[-1]}" if len(names) > 3 else "")
    found = width - 6
    text = (
        f"{src}: MimicKit frames have {width} numbers but robot {Path(robot.source).name} "
        f"needs 6 + {robot.num_dofs} = {6 + robot.num_dofs} (root position, root exp-map, "
        f"then its {robot.num_dofs} DoFs {shown})"
        + (f"; the file's frames hold {found} DoFs" if found > 0 else "")
    )
    others = _profiles_with_dofs(found)
    if others:
        text += f", the DoF count of robot profile(s) {', '.join(others)}"
    return (
        text + ": the clip was made for another robot; train it on that robot, or retarget "
        "its source motion to this one (mjmimic motion retarget SRC --robot NAME)"
    )


def _profiles_with_dofs(count: int) -> list[str]:
    """Names of the bundled robot profiles with ``count`` joints (best effort: a hint)."""
    try:
        import yaml

        from mjmimic.robots.profiles import PROFILES_DIR

        out = []
        for path in sorted(PROFILES_DIR.glob("*.yaml")):
            data = yaml.safe_load(path.read_text()) or {}
            if len(data.get("joints") or {}) == count:
                out.append(str(data.get("name", path.stem)))
        return out
    except Exception:  # a hint only; never hide the real error behind another
        return []


def _loop_mode(value, src: str) -> str:
    key = value.lower() if isinstance(value, str) else value
    try:
        if not isinstance(key, str):
            key = int(key) if float(key) == int(key) else None
        return _LOOP_MODES[key]
    except (KeyError, TypeError, ValueError, OverflowError):
        raise MotionError(
            f"{src}: loop_mode must be 0 (clamp) or 1 (wrap), found {shown(value)}"
        ) from None


def _frames(value, src: str) -> np.ndarray:
    frames = real_array(value, "frames", src)
    if frames.ndim != 2:
        raise MotionError(f"{src}: frames must be 2-D (T, 6 + DoFs), found shape {frames.shape}")
    return frames
