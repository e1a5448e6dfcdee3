"""Plain-array ``.npz`` clips, the layout retargeting tools commonly write (the reference
data's ``g1_asap/npz``, GMR-style exports):

* ``fps`` (scalar), ``root_pos`` (T, 3) z-up metres;
* the root rotation as ``root_quat_wxyz`` or ``root_quat_xyzw`` (T, 4) — the key names the
  order, so there is no guessing (``root_rot`` alone is refused as ambiguous);
* ``dof_pos`` (T, D) radians and, when present, ``dof_names`` / ``joint_names`` (D,) so
  the clip maps onto a robot by name;
* optional ``loop_mode`` ("wrap"/"clamp"; default clamp).

Extra keys (``smpl_joints``, ``source_key``, ...) are ignored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mjmimic.errors import MotionError
from mjmimic.motion.formats.arrays import names, real_array, real_scalar
from mjmimic.motion.motion import Motion

REQUIRED = ("fps", "root_pos", "dof_pos")


def is_plain_npz(keys: set[str]) -> bool:
    return set(REQUIRED) <= keys and bool(keys & {"root_quat_wxyz", "root_quat_xyzw"})


def read_plain_npz(path: Path, arrays: dict[str, np.ndarray]) -> Motion:
    src = path.name
    key = "root_quat_wxyz" if "root_quat_wxyz" in arrays else "root_quat_xyzw"
    root_rot = real_array(arrays[key], key, src, ndim=2)
    if root_rot.shape[1] != 4:
        raise MotionError(f"{src}: {key} must be (T, 4), found shape {root_rot.shape}")
    if key == "root_quat_xyzw":
        root_rot = root_rot[:, [3, 0, 1, 2]]
    dof_names = None
    for key in ("dof_names", "joint_names"):
        if key in arrays:
            dof_names = names(arrays[key], key, src)
    loop = str(arrays["loop_mode"]) if "loop_mode" in arrays else "clamp"
    if loop not in ("wrap", "clamp"):
        raise MotionError(f"{src}: loop_mode is {loop!r}, expected 'wrap' or 'clamp'")
    return Motion(
        fps=real_scalar(arrays["fps"], "fps", src),
        loop_mode=loop,
        root_pos=real_array(arrays["root_pos"], "root_pos", src),
        root_rot=root_rot,
        dof_pos=real_array(arrays["dof_pos"], "dof_pos", src),
        joint_names=dof_names,
        name=path.stem,
        source=str(path),
    )
