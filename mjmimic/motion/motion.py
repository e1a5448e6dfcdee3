"""The in-memory motion clip every reader produces and ``MotionLib`` consumes.

A ``Motion`` is a uniformly sampled sequence of robot poses in mjmimic's conventions
(``mjmimic/rotations.py``: quaternions wxyz, z-up, x forward) and DoF convention
(``mjmimic/robots/model.py``). Arrays are float64 numpy; ``MotionLib`` moves them to torch.
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass
from typing import Literal

import numpy as np

from mjmimic.errors import MotionError
from mjmimic.robots.model import RobotModel

LoopMode = Literal["wrap", "clamp"]
LOOP_MODES: tuple[str, ...] = ("wrap", "clamp")
# Quaternions whose norm is off by more than this are an error, not rounding noise.
QUAT_NORM_TOLERANCE = 1e-3


@dataclass
class Motion:
    """One clip. ``duration = (num_frames - 1) / fps``; frame i is at time i / fps.

    ``loop_mode`` "wrap": the clip repeats, and its last frame is the pose the next cycle
    starts from (MimicKit and DeepMimic convention), shifted by the root's xy displacement.
    "clamp": times past the end hold the last frame.

    The constructor validates (see ``validate``); ``source`` only names the file in errors.
    """

    fps: float
    loop_mode: LoopMode
    root_pos: np.ndarray  # (T, 3) world, m, z-up
    root_rot: np.ndarray  # (T, 4) wxyz, world
    dof_pos: np.ndarray  # (T, D) robot DoF convention (robots/model.py)
    joint_names: list[str] | None  # one name per DoF (RobotModel.dof_names), or None
    name: str = ""
    # Names the file in error messages; not stored.
    source: InitVar[str | None] = None

    def __post_init__(self, source: str | None) -> None:
        self.validate(source or self.name or "motion")

    # ------------------------------------------------------------------------- checks
    def validate(self, source: str) -> None:
        """Check shapes and values; renormalize nearly-unit quaternions in place.

        Raises ``MotionError`` naming ``source`` (usually the file) on anything else.
        """
        try:
            self.fps = float(self.fps)
        except (TypeError, ValueError):
            raise MotionError(f"{source}: fps must be a number, found {self.fps!r}") from None
        if not np.isfinite(self.fps) or self.fps <= 0:
            raise MotionError(f"{source}: fps must be a positive number, found {self.fps}")
        if self.loop_mode not in LOOP_MODES:
            raise MotionError(
                f"{source}: loop_mode must be 'wrap' or 'clamp', found {self.loop_mode!r}"
            )
        self.root_pos = _float_array(self.root_pos, "root_pos", source)
        self.root_rot = _float_array(self.root_rot, "root_rot", source)
        self.dof_pos = _float_array(self.dof_pos, "dof_pos", source)
        if self.dof_pos.ndim == 1 and self.dof_pos.size == 0:
            self.dof_pos = self.dof_pos.reshape(0, 0)
        t = self.root_pos.shape[0] if self.root_pos.ndim == 2 else -1
        for key, arr, width in (
            ("root_pos", self.root_pos, 3),
            ("root_rot", self.root_rot, 4),
            ("dof_pos", self.dof_pos, None),
        ):
            if arr.ndim != 2 or (width is not None and arr.shape[1] != width):
                want = f"(T, {width})" if width else "(T, D)"
                raise MotionError(
                    f"{source}: {key} must have shape {want}, found {arr.shape}; "
                    "check how the file was written"
                )
            if arr.shape[0] != t:
                raise MotionError(
                    f"{source}: root_pos, root_rot and dof_pos must have the same number of "
                    f"frames, found {self.root_pos.shape[0]}, {self.root_rot.shape[0]} and "
                    f"{self.dof_pos.shape[0]}"
                )
            if not np.isfinite(arr).all():
                frame = int(np.nonzero(~np.isfinite(arr).all(axis=1))[0][0])
                raise MotionError(
                    f"{source}: {key} has NaN or infinite values (first at frame {frame}); "
                    "fix or re-export the clip"
                )
        if t < 2:
            raise MotionError(
                f"{source}: a motion needs at least 2 frames, found {t}; "
                "a single pose cannot be interpolated or differentiated"
            )
        norm = np.linalg.norm(self.root_rot, axis=1)
        bad = np.abs(norm - 1.0) > QUAT_NORM_TOLERANCE
        if bad.any():
            frame = int(np.nonzero(bad)[0][0])
            raise MotionError(
                f"{source}: root_rot must be unit quaternions (w, x, y, z); frame {frame} has "
                f"norm {norm[frame]:.4f}; check the quaternion order and normalize the data"
            )
        self.root_rot = self.root_rot / norm[:, None]
        if self.joint_names is not None:
            names = [str(n) for n in self.joint_names]
            if len(names) != self.dof_pos.shape[1]:
                raise MotionError(
                    f"{source}: {len(names)} joint names for {self.dof_pos.shape[1]} DoF "
                    "columns; there must be one name per DoF"
                )
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise MotionError(f"{source}: duplicate joint names: {', '.join(dupes)}")
            self.joint_names = names

    # ----------------------------------------------------------------------- properties
    @property
    def num_frames(self) -> int:
        return int(self.root_pos.shape[0])

    @property
    def num_dofs(self) -> int:
        return int(self.dof_pos.shape[1])

    @property
    def duration(self) -> float:
        return (self.num_frames - 1) / self.fps

    # ------------------------------------------------------------------------ alignment
    def align_to_robot(
        self,
        robot: RobotModel,
        source: str,
        fill_missing: dict[str, float] | None = None,
    ) -> Motion:
        """A copy whose DoF columns are in ``robot.dof_names`` order.

        Columns are matched by name. Robot DoFs the motion lacks take the constant from
        ``fill_missing`` (e.g. the 6 wrist joints, locked at 0, when 23-DoF G1 clips are
        used on the 29-DoF G1). A motion without names must already have exactly the
        robot's DoF count and order.
        """
        robot_file = _short(robot.source)
        fill = dict(fill_missing or {})
        unknown_fill = sorted(set(fill) - set(robot.dof_names))
        if unknown_fill:
            raise MotionError(
                f"{source}: fill_missing names DoFs that robot {robot_file} does not have: "
                f"{', '.join(unknown_fill)}"
            )
        if self.joint_names is None:
            if self.num_dofs != robot.num_dofs:
                raise MotionError(
                    f"{source}: motion has {self.num_dofs} DoFs but robot {robot_file} has "
                    f"{robot.num_dofs}; the motion has no joint names, so its DoFs must be "
                    "exactly the robot's, in robot order: re-export it with joint names "
                    "(then missing DoFs can be filled with fill_missing) or use the robot it "
                    "was made for"
                )
            return self._with_dofs(self.dof_pos.copy(), list(robot.dof_names))
        extra = [n for n in self.joint_names if n not in robot.dof_names]
        missing = [n for n in robot.dof_names if n not in self.joint_names and n not in fill]
        if extra or missing:
            parts = []
            if extra:
                parts.append(f"not in robot {robot_file}: {', '.join(extra)}")
            if missing:
                parts.append(f"missing from the motion: {', '.join(missing)}")
            raise MotionError(
                f"{source}: motion DoFs do not match robot {robot_file} ("
                + "; ".join(parts)
                + "); use the robot the clip was made for, retarget it, or give constant "
                "values for missing DoFs with fill_missing"
            )
        index = {n: i for i, n in enumerate(self.joint_names)}
        dof = np.empty((self.num_frames, robot.num_dofs))
        for d, n in enumerate(robot.dof_names):
            dof[:, d] = self.dof_pos[:, index[n]] if n in index else fill[n]
        return self._with_dofs(dof, list(robot.dof_names))

    def _with_dofs(self, dof: np.ndarray, names: list[str]) -> Motion:
        return Motion(
            fps=self.fps,
            loop_mode=self.loop_mode,
            root_pos=self.root_pos.copy(),
            root_rot=self.root_rot.copy(),
            dof_pos=dof,
            joint_names=names,
            name=self.name,
            source=self.name or None,
        )


def _float_array(value, key: str, source: str) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise MotionError(
            f"{source}: {key} must be an array of numbers, found {type(value).__name__}"
        ) from None
    return arr


def _short(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]
