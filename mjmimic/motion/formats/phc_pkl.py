"""PHC/ASAP-style joblib ``.pkl`` motions (``g1_asap/pkl`` in the reference data).

File: a joblib pickle ``{clip_name: {...}}`` with, per clip,

* ``root_trans_offset`` (T, 3): root position, metres, z-up;
* ``root_rot`` (T, 4): root orientation, **xyzw** (converted to our wxyz here);
* ``dof`` (T, D): joint angles in radians, in the order of the robot the clip was
  retargeted to (the file names no joints);
* ``fps``: frames per second.

Other keys (``pose_aa``, ``smpl_joints``, ...) are the SMPL source and are ignored. The
file says nothing about looping: clips read as "clamp". joblib's array records are read
by ``safe_pickle`` without joblib.
"""

from __future__ import annotations

from pathlib import Path

from mjmimic.errors import MotionError
from mjmimic.motion.formats.arrays import real_array, real_scalar, shown
from mjmimic.motion.motion import Motion
from mjmimic.robots.model import RobotModel

REQUIRED = ("root_trans_offset", "root_rot", "dof", "fps")


def is_phc_data(data: object) -> bool:
    """A dict of clip dicts that carry PHC's root and DoF keys."""
    return (
        isinstance(data, dict)
        and bool(data)
        and all(isinstance(v, dict) and "root_trans_offset" in v for v in data.values())
    )


def phc_motion(
    data: dict, path: Path, robot: RobotModel | None = None, clip: str | None = None
) -> Motion:
    """One clip of unpickled PHC data. ``clip`` picks it when the file holds several.

    With a ``robot`` that has exactly the clip's DoF count, the columns are named with the
    robot's DoF names (the format's "robot order"); otherwise the clip has no names.
    """
    src = path.name
    # By name as the user types it (--clip), whatever type the file's keys are.
    clips = {str(k): v for k, v in data.items()}
    names = list(clips)
    # As the messages list them: a name with a newline would break the line.
    listed = [n if n.isprintable() else shown(n) for n in names]
    if clip is None:
        if len(names) > 1:
            raise MotionError(
                f"{src}: holds {len(names)} clips ({', '.join(listed[:5])}"
                f"{', ...' if len(names) > 5 else ''}); pick one with clip=NAME (--clip)"
            )
        clip = names[0]
    if clip not in clips:
        raise MotionError(f"{src}: no clip named {clip!r}; clips: {', '.join(listed)}")
    entry = clips[clip]
    missing = [k for k in REQUIRED if k not in entry]
    if missing:
        raise MotionError(
            f"{src}: clip {clip!r} lacks key(s) {', '.join(missing)} (a PHC clip needs "
            f"{', '.join(REQUIRED)})"
        )
    root_rot = real_array(entry["root_rot"], "root_rot", src)
    if root_rot.ndim != 2 or root_rot.shape[1] != 4:
        raise MotionError(f"{src}: root_rot must be (T, 4) xyzw, found shape {root_rot.shape}")
    dof = real_array(entry["dof"], "dof", src)
    joint_names = (
        list(robot.dof_names)
        if robot is not None and dof.ndim == 2 and dof.shape[1] == robot.num_dofs
        else None
    )
    return Motion(
        fps=real_scalar(entry["fps"], "fps", src),
        loop_mode="clamp",
        root_pos=real_array(entry["root_trans_offset"], "root_trans_offset", src),
        root_rot=root_rot[:, [3, 0, 1, 2]],
        dof_pos=dof,
        joint_names=joint_names,
        name=clip if len(names) > 1 else path.stem,
        source=src,
    )
