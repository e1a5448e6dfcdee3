"""BVH mocap (e.g. CMU) -> ``SkeletonMotion``, a retargeting source.

A BVH file is a joint tree (``ROOT``/``JOINT`` with an ``OFFSET`` and ``CHANNELS``;
``End Site`` leaves carry no motion and are skipped), then ``MOTION``: ``Frames: N``,
``Frame Time: dt`` and one row of channel values per frame. Rotation channels are
degrees, applied in the listed order as intrinsic rotations (``Zrotation Yrotation
Xrotation`` is ``Rz Ry Rx``); only the root may have position channels.

Conversion: BVH is y-up, so positions go ``(x, y, z) -> (x, -z, y)`` and rotations are
conjugated by +90 degrees about x (as for DeepMimic data); lengths are multiplied by
``scale`` (1 for files in metres such as the reference data's "scaled" CMU clips; 0.01
for centimetres).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mjmimic.errors import MotionError
from mjmimic.motion.edit import snap_fps
from mjmimic.motion.formats.deepmimic_txt import quat_y_up_to_z_up, y_up_to_z_up
from mjmimic.motion.skeleton import SkeletonMotion
from mjmimic.rotations import quat_from_euler_intrinsic

_AXES = {"X": (1.0, 0.0, 0.0), "Y": (0.0, 1.0, 0.0), "Z": (0.0, 0.0, 1.0)}
_MAX_CHANNELS = 6  # 3 positions and 3 rotations


def read_bvh(path: str | Path, scale: float = 1.0) -> SkeletonMotion:
    path = Path(path)
    src = path.name
    if not path.is_file():
        raise MotionError(f"{src}: motion file not found at {path}")
    try:
        tokens = path.read_text(encoding="utf-8").split()
    except UnicodeDecodeError as exc:
        raise MotionError(
            f"{src}: not a BVH text file ({exc.reason} at byte {exc.start})"
        ) from None
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []
    stack: list[int] = []
    i = 0
    try:
        if tokens[0] != "HIERARCHY":
            raise MotionError(f"{src}: not a BVH file (it must start with HIERARCHY)")
        i = 1
        while tokens[i] != "MOTION":
            word = tokens[i]
            if word in ("ROOT", "JOINT"):
                names.append(tokens[i + 1])
                parents.append(stack[-1] if stack else -1)
                i += 2
            elif word == "End":  # End Site { OFFSET x y z }: a bone tip, no motion
                i += 8
            elif word == "{":
                stack.append(len(names) - 1)
                i += 1
            elif word == "}":
                stack.pop()
                i += 1
            elif word == "OFFSET":
                offsets.append([float(t) for t in tokens[i + 1 : i + 4]])
                i += 4
            elif word == "CHANNELS":
                n = int(tokens[i + 1])
                if not 0 <= n <= _MAX_CHANNELS:
                    raise MotionError(
                        f"{src}: CHANNELS {n} for joint {names[-1] if names else '?'}; a joint "
                        f"has 0 to {_MAX_CHANNELS} channels"
                    )
                channels.append(tokens[i + 2 : i + 2 + n])
                i += 2 + n
            else:
                raise MotionError(f"{src}: unexpected word {word!r} in the BVH hierarchy")
        if tokens[i + 1] != "Frames:" or tokens[i + 3 : i + 5] != ["Frame", "Time:"]:
            raise MotionError(f"{src}: MOTION must be followed by 'Frames: N' and 'Frame Time: dt'")
        count, dt = int(tokens[i + 2]), float(tokens[i + 5])
        values = np.array(tokens[i + 6 :], dtype=np.float64)
    except (IndexError, ValueError) as exc:
        raise MotionError(
            f"{src}: malformed BVH ({exc}); check that the file is complete"
        ) from None
    width = sum(len(c) for c in channels)
    if not names:
        raise MotionError(f"{src}: the BVH hierarchy has no ROOT joint")
    if len(offsets) != len(names) or len(channels) != len(names):
        raise MotionError(f"{src}: every joint needs one OFFSET and one CHANNELS line")
    if count < 2:
        raise MotionError(f"{src}: a motion needs at least 2 frames, found Frames: {count}")
    if width == 0:  # then no number bounds Frames, and the arrays below are Frames long
        raise MotionError(f"{src}: no joint has CHANNELS; the file holds no motion")
    if values.size != count * width:
        raise MotionError(
            f"{src}: expected {count} frames of {width} channel values, found {values.size} values"
        )
    # 1 / dt too: a denormal Frame Time is positive but makes an infinite frame rate.
    if not (dt > 0 and np.isfinite(dt) and np.isfinite(1.0 / dt)):
        raise MotionError(f"{src}: Frame Time must be a positive number of seconds, found {dt}")
    if not (np.isfinite(values).all() and np.isfinite(offsets).all()):
        what = "channel values" if not np.isfinite(values).all() else "OFFSETs"
        raise MotionError(f"{src}: the {what} hold NaN or infinite numbers; fix the file")
    table = values.reshape(count, width)
    local = np.empty((count, len(names), 4))
    root_pos = np.zeros((count, 3))
    col = 0
    for j, chans in enumerate(channels):
        rot_axes, rot_cols = [], []
        for c, chan in enumerate(chans):
            kind, axis = chan[1:], chan[0].upper()
            if kind == "position" and j == 0 and axis in _AXES:
                root_pos[:, "XYZ".index(axis)] = table[:, col + c]
            elif kind == "rotation" and axis in _AXES:
                rot_axes.append(_AXES[axis])
                rot_cols.append(col + c)
            else:
                raise MotionError(f"{src}: joint {names[j]} has unsupported channel {chan!r}")
        col += len(chans)
        angles = torch.from_numpy(np.radians(table[:, rot_cols]))
        q = quat_from_euler_intrinsic(angles, torch.tensor(rot_axes, dtype=torch.float64))
        local[:, j] = quat_y_up_to_z_up(q.numpy())
    offsets_m = y_up_to_z_up(np.array(offsets)) * scale
    root_m = y_up_to_z_up(root_pos + np.array(offsets[0])) * scale
    if not (np.isfinite(offsets_m).all() and np.isfinite(root_m).all()):
        raise MotionError(
            f"{src}: positions overflow to infinity at scale {scale:g}; the file's numbers are "
            "too large"
        )
    return SkeletonMotion(
        fps=snap_fps(1.0 / dt),
        joint_names=names,
        parents=parents,
        offsets=offsets_m,
        local_rot=local,
        root_pos=root_m,
        name=path.stem,
    )
