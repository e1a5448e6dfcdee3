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
from mjmimic.motion.motion import Motion

REQUIRED = ("fps", "root_pos", "dof_pos")


def is_plain_npz(keys: set[str]) -> bool:
    return set(REQUIRED) <= keys and bool(keys & {"root_quat_wxyz", "root_quat_xyzw"})


def read_plain_npz(path: Path, arrays: dict[str, np.ndarray]) -> Motion:
    src = path.name
    if "root_quat_wxyz" in arrays:
        root_rot = np.asarray(arrays["root_quat_wxyz"], dtype=np.float64)
    else:
        root_rot = np.asarray(arrays["root_quat_xyzw"], dtype=np.float64)[:, [3, 0, 1, 2]]
    names = None
    for key in ("dof_names", "joint_names"):
        if key in arrays:
            names = [str(n) for n in np.asarray(arrays[key]).reshape(-1)]
    loop = str(arrays["loop_mode"]) if "loop_mode" in arrays else "clamp"
    if loop not in ("wrap", "clamp"):
        raise MotionError(f"{src}: loop_mode is {loop!r}, expected 'wrap' or 'clamp'")
    return Motion(
        fps=float(np.asarray(arrays["fps"]).reshape(-1)[0]),
        loop_mode=loop,
        root_pos=np.asarray(arrays["root_pos"], dtype=np.float64),
        root_rot=root_rot,
        dof_pos=np.asarray(arrays["dof_pos"], dtype=np.float64),
        joint_names=names,
        name=path.stem,
        source=str(path),
    )
