"""Motion clips authored as a few keyframes in a YAML spec.

A spec (see ``mjmimic/assets/motions/keyframes/``) looks like::

    fps: 30
    loop_mode: wrap          # wrap: the clip repeats; clamp: it plays once
    duration: 2.0            # seconds; duration * fps must be a whole number of frames
    keep_feet_on_floor: true # optional, default true
    description: ...         # optional free text
    keyframes:
      - {time: 0.0, joints: {}}                        # unlisted joints are 0
      - {time: 1.0, joints: {right_knee: 1.2, ...}}    # hinge angles in radians

Joint angles are eased between keyframes with a cosine blend: velocities are continuous
and vanish at each key, and the blend never leaves the interval between two keys, so a
clip stays inside the joint limits whenever its keys do. For ``wrap`` the first key also
closes the period at ``duration``; for ``clamp`` the last key is held until ``duration``.

The root stays at x = y = 0 with an identity rotation. Its height is solved per frame
with MuJoCo forward kinematics so that the lowest point of the feet (box geoms on the
bodies named ``*foot``) touches z = 0; the min over both feet makes the stance foot carry
the character while the other one swings. With ``keep_feet_on_floor: false`` the root
keeps the height that grounds the first frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mujoco
import numpy as np
import yaml

from mjmimic.errors import MotionError
from mjmimic.robots.model import RobotModel

REQUIRED_KEYS = ("fps", "loop_mode", "duration", "keyframes")
OPTIONAL_KEYS = ("keep_feet_on_floor", "description")
KEYFRAME_KEYS = ("time", "joints")
LOOP_MODES = ("wrap", "clamp")


def build_keyframed_clip(spec_path: str | Path, model_path: str | Path) -> dict[str, Any]:
    """Sample the keyframe spec at its fps on the robot; see the module docstring.

    Returns ``fps``, ``loop_mode``, ``root_pos`` (T, 3), ``root_rot`` (T, 4, wxyz),
    ``dof_pos`` (T, D) (float32, robot DoF order = hinge order in qpos) and
    ``joint_names`` (D hinge names).
    """
    spec_path = Path(spec_path)
    spec = _read_spec(spec_path)
    robot = RobotModel.from_file(model_path)
    if robot.has_ball_joints:
        raise MotionError(f"{model_path}: keyframed clips need a robot made of hinges only")
    names = list(robot.dof_names)
    fps = _positive_number(spec, "fps", spec_path)
    duration = _positive_number(spec, "duration", spec_path)
    n_frames = round(duration * fps)
    if abs(n_frames - duration * fps) > 1e-6:
        raise MotionError(
            f"{spec_path}: duration * fps = {duration * fps:g} must be a whole number of frames"
        )
    loop_mode = spec["loop_mode"]
    if loop_mode not in LOOP_MODES:
        raise MotionError(
            f"{spec_path}: loop_mode '{loop_mode}' is not one of {', '.join(LOOP_MODES)}"
        )
    keep_feet = spec.get("keep_feet_on_floor", True)
    if not isinstance(keep_feet, bool):
        raise MotionError(f"{spec_path}: keep_feet_on_floor must be true or false")
    key_times, key_values = _read_keyframes(
        spec["keyframes"], robot, duration, loop_mode, spec_path
    )

    if loop_mode == "wrap":
        # The first key closes the period; the last frame is then a copy of the first.
        key_times = np.append(key_times, duration)
        key_values = np.vstack([key_values, key_values[:1]])
        dof_pos = _ease(key_times, key_values, np.arange(n_frames) / fps)
        dof_pos = np.vstack([dof_pos, dof_pos[:1]])
    else:
        dof_pos = _ease(key_times, key_values, np.arange(n_frames + 1) / fps)

    root_z = _grounding_heights(robot, dof_pos, str(model_path))
    if not keep_feet:
        root_z[:] = root_z[0]
    n = len(dof_pos)
    root_pos = np.zeros((n, 3))
    root_pos[:, 2] = root_z
    root_rot = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    return {
        "fps": float(fps),
        "loop_mode": loop_mode,
        "root_pos": root_pos.astype(np.float32),
        "root_rot": root_rot.astype(np.float32),
        "dof_pos": dof_pos.astype(np.float32),
        "joint_names": names,
    }


def foot_geoms(model: mujoco.MjModel) -> list[int]:
    """Box geoms on bodies whose name ends in ``foot``: the soles that touch the floor."""
    return [
        g
        for g in range(model.ngeom)
        if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_BOX
        and (
            mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, model.geom_bodyid[g]) or ""
        ).endswith("foot")
    ]


def lowest_point(model: mujoco.MjModel, data: mujoco.MjData, geoms: list[int]) -> float:
    """Lowest world z over the corners of the given box geoms (needs ``mj_kinematics``)."""
    rot_z = data.geom_xmat[geoms].reshape(-1, 3, 3)[:, 2, :]  # z row of each box frame
    # The lowest corner of a box sits sum_i |R_zi| * half_i below its centre.
    depth = np.sum(np.abs(rot_z) * model.geom_size[geoms], axis=1)
    return float(np.min(data.geom_xpos[geoms, 2] - depth))


def _read_spec(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise MotionError(f"keyframe spec not found: {path}")
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise MotionError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(spec, dict):
        raise MotionError(f"{path}: a keyframe spec must be a mapping of keys to values")
    for key in spec:
        if key not in REQUIRED_KEYS + OPTIONAL_KEYS:
            raise MotionError(
                f"{path}: unknown key '{key}'; allowed: {', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)}"
            )
    for key in REQUIRED_KEYS:
        if key not in spec:
            raise MotionError(f"{path}: missing required key '{key}'")
    return spec


def _positive_number(spec: dict[str, Any], key: str, path: Path) -> float:
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise MotionError(f"{path}: {key} must be a positive number, got {value!r}")
    return float(value)


def _read_keyframes(
    keyframes: Any, robot: RobotModel, duration: float, loop_mode: str, path: Path
) -> tuple[np.ndarray, np.ndarray]:
    """Key times (K,) and joint angles (K, D), checked against the robot's joint limits."""
    if not isinstance(keyframes, list) or not keyframes:
        raise MotionError(f"{path}: keyframes must be a non-empty list")
    names = list(robot.dof_names)
    times = np.zeros(len(keyframes))
    values = np.zeros((len(keyframes), len(names)))
    for i, key in enumerate(keyframes):
        where = f"{path}: keyframes[{i}]"
        if not isinstance(key, dict):
            raise MotionError(f"{where} must be a mapping with 'time' and 'joints'")
        for k in key:
            if k not in KEYFRAME_KEYS:
                raise MotionError(
                    f"{where}: unknown key '{k}'; allowed: {', '.join(KEYFRAME_KEYS)}"
                )
        t = key.get("time")
        if isinstance(t, bool) or not isinstance(t, int | float):
            raise MotionError(f"{where}: time must be a number of seconds, got {t!r}")
        times[i] = t
        joints = key.get("joints") or {}
        if not isinstance(joints, dict):
            raise MotionError(f"{where}: joints must map joint names to angles in radians")
        for name, angle in joints.items():
            if name not in names:
                raise MotionError(
                    f"{where}: unknown joint '{name}'; joints are: {', '.join(names)}"
                )
            if isinstance(angle, bool) or not isinstance(angle, int | float):
                raise MotionError(f"{where}: joint '{name}' angle must be a number, got {angle!r}")
            d = names.index(name)
            if not robot.dof_low[d] <= angle <= robot.dof_high[d]:
                raise MotionError(
                    f"{where}: joint '{name}' angle {angle:g} is outside its range "
                    f"[{robot.dof_low[d]:g}, {robot.dof_high[d]:g}]"
                )
            values[i, d] = angle
    if times[0] != 0.0:
        raise MotionError(f"{path}: the first keyframe must be at time 0, not {times[0]:g}")
    if np.any(np.diff(times) <= 0):
        raise MotionError(f"{path}: keyframe times must increase strictly")
    # For wrap the first key is repeated at `duration`, so no key may sit there itself.
    if times[-1] > duration or (loop_mode == "wrap" and times[-1] >= duration):
        bound = "before" if loop_mode == "wrap" else "at or before"
        raise MotionError(
            f"{path}: keyframe time {times[-1]:g} must be {bound} duration {duration:g}"
        )
    return times, values


def _ease(key_times: np.ndarray, key_values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Cosine-blend the keys (K, D) at times t (T,); hold the last key after its time."""
    seg = np.searchsorted(key_times, t, side="right") - 1  # key at or before t (t >= 0)
    nxt = np.minimum(seg + 1, len(key_times) - 1)  # past the last key: blend it with itself
    span = key_times[nxt] - key_times[seg]
    u = np.divide(t - key_times[seg], span, out=np.zeros_like(t), where=span > 0)
    w = (0.5 - 0.5 * np.cos(np.pi * u))[:, None]
    return (1.0 - w) * key_values[seg] + w * key_values[nxt]


def _grounding_heights(robot: RobotModel, dof_pos: np.ndarray, source: str) -> np.ndarray:
    """Root height per frame that puts the lowest foot point at z = 0."""
    model = robot.mj_model
    feet = foot_geoms(model)
    if not feet:
        raise MotionError(f"{source}: no foot boxes (box geoms on bodies named '*foot')")
    data = mujoco.MjData(model)
    hinge_adr = [j.qpos_adr + k for j in robot.joints for k in range(j.dof_count)]
    heights = np.zeros(len(dof_pos))
    for f, q in enumerate(dof_pos):
        # Root at the origin: the foot's lowest z is then minus the needed root height.
        data.qpos[:] = 0.0
        data.qpos[3] = 1.0
        data.qpos[hinge_adr] = robot.hinge_qpos0 + q
        mujoco.mj_kinematics(model, data)
        heights[f] = -lowest_point(model, data, feet)
    return heights
