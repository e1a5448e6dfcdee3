"""CSV motions (Booster K1/T1 retargeting output and similar): one row per frame,

    root x, y, z (m, z-up), root quaternion x, y, z, w, joint angles (rad) in robot order

comma-separated. A first row of column names is allowed; its joint columns then name the
DoFs. Without a header the columns are named from the robot when it has exactly that many
DoFs. The file stores no frame rate, so ``fps`` is required; clips read as "clamp".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mjmimic.errors import MotionError
from mjmimic.motion.motion import Motion
from mjmimic.robots.model import RobotModel

ROOT_COLUMNS = 7  # xyz + quaternion xyzw


def read_csv_motion(path: Path, fps: float | None, robot: RobotModel | None = None) -> Motion:
    src = path.name
    if fps is None:
        raise MotionError(f"{src}: CSV motions do not store their frame rate; pass fps= (--in-fps)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise MotionError(
            f"{src}: not a CSV text file ({exc.reason} at byte {exc.start})"
        ) from None
    lines = [line for line in text.splitlines() if line.strip()]
    header = None
    if lines and not _is_number(lines[0].split(",")[0]):
        header, lines = [c.strip() for c in lines[0].split(",")], lines[1:]
    try:
        table = np.array([[float(v) for v in line.split(",")] for line in lines])
    except ValueError as exc:
        raise MotionError(f"{src}: not a table of numbers ({exc})") from None
    if table.ndim != 2 or table.shape[1] <= ROOT_COLUMNS:
        raise MotionError(
            f"{src}: expected rows of equal length with root x y z, quaternion x y z w and "
            f"the joint angles, found shape {table.shape}"
        )
    dofs = table.shape[1] - ROOT_COLUMNS
    names = None
    if header is not None:
        if len(header) != table.shape[1]:
            raise MotionError(
                f"{src}: the header has {len(header)} columns but the rows have {table.shape[1]}"
            )
        names = header[ROOT_COLUMNS:]
    elif robot is not None and robot.num_dofs == dofs:
        names = list(robot.dof_names)
    return Motion(
        fps=fps,
        loop_mode="clamp",
        root_pos=table[:, :3],
        root_rot=table[:, [6, 3, 4, 5]],
        dof_pos=table[:, ROOT_COLUMNS:],
        joint_names=names,
        name=path.stem,
        source=src,
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
