"""Motion file readers and writers: ``read_motion`` picks the reader from the file.

Read (docs/motion_format.md describes each):

* ``.npz``: ours (``format = "mjmimic.motion"``), plain arrays (``plain_npz``),
  BeyondMimic/mjlab (``beyondmimic_npz``) or AMP poselib (``amp_npz``), told apart by
  their keys;
* ``.pkl``: MimicKit (dict or pickled ``Motion`` object) or PHC/ASAP joblib, told apart
  by their content; always through the restricted unpickler;
* ``.txt``/``.json``: DeepMimic ``{"Loop", "Frames"}``;
* ``.csv``: root, quaternion xyzw, joints (needs ``fps``);
* ``.npy``: a poselib ``SkeletonMotion`` (AMP's originals; ``amp_npz``).

BVH files are human skeletons, not robot motions: ``bvh.read_bvh``. MimicKit, DeepMimic,
BeyondMimic and AMP files need the robot: their DoF layout depends on its joints.
Files with an unknown extension are recognised by their first bytes.

Write (``write_motion``, by ``format`` or the extension): ``npz`` ours (``.npz``),
``mimickit`` (``.pkl``, dict form) and ``beyondmimic`` (``.npz``, FK-expanded); the last
two need the robot.
"""

from __future__ import annotations

from pathlib import Path

from mjmimic.errors import MotionError
from mjmimic.motion.formats.amp_npz import poselib_npy_arrays, read_amp_npz
from mjmimic.motion.formats.beyondmimic_npz import write_beyondmimic_npz
from mjmimic.motion.formats.csv_motion import read_csv_motion
from mjmimic.motion.formats.deepmimic_txt import import_deepmimic_txt
from mjmimic.motion.formats.mimickit_pkl import (
    mimickit_motion,
    read_mimickit_pkl,
    write_mimickit_pkl,
)
from mjmimic.motion.formats.npz import read_npz, write_npz
from mjmimic.motion.formats.phc_pkl import is_phc_data, phc_motion
from mjmimic.motion.motion import Motion
from mjmimic.motion.safe_pickle import safe_load
from mjmimic.robots.model import RobotModel

__all__ = [
    "WRITE_FORMATS",
    "import_deepmimic_txt",
    "read_mimickit_pkl",
    "read_motion",
    "read_npz",
    "write_motion",
    "write_npz",
]

_BY_SUFFIX = {
    ".npz": "npz",
    ".pkl": "pkl",
    ".pickle": "pkl",
    ".txt": "deepmimic",
    ".json": "deepmimic",
    ".csv": "csv",
    ".npy": "poselib",
}
# Written format -> file suffix it needs.
WRITE_FORMATS = {"npz": ".npz", "mimickit": ".pkl", "beyondmimic": ".npz"}


def read_motion(
    path: str | Path,
    robot: RobotModel | None = None,
    *,
    fps: float | None = None,
    clip: str | None = None,
) -> Motion:
    """Read any supported motion file. ``robot`` is required where the DoF layout depends
    on it (MimicKit, DeepMimic, BeyondMimic, AMP/poselib); ``fps`` for CSV; ``clip`` picks one clip
    of a multi-clip PHC file. The result is not reordered to the robot
    (``Motion.align_to_robot`` does that)."""
    path = Path(path)
    if not path.is_file():
        raise MotionError(f"{path.name}: motion file not found at {path}")
    if path.suffix.lower() == ".bvh":
        raise MotionError(
            f"{path.name}: a BVH file is a human skeleton, not a robot motion; retarget it "
            "to a robot first (mjmimic.motion.formats.bvh.read_bvh reads it)"
        )
    kind = _BY_SUFFIX.get(path.suffix.lower()) or _sniff(path)
    if kind == "npz":
        return read_npz(path, robot)
    if kind == "poselib":
        return read_amp_npz(path, poselib_npy_arrays(path), _need_robot(robot, path, "poselib"))
    if kind == "csv":
        return read_csv_motion(path, fps, robot)
    if kind == "pkl":
        data = safe_load(path)
        if is_phc_data(data):
            return phc_motion(data, path, robot, clip)
        return mimickit_motion(data, _need_robot(robot, path, "MimicKit .pkl"), path)
    return import_deepmimic_txt(path, _need_robot(robot, path, "DeepMimic"))


def write_motion(
    motion: Motion,
    path: str | Path,
    robot: RobotModel | None = None,
    format: str | None = None,
) -> Path:
    """Write ``motion`` to ``path`` in ``format`` (default: ours for ``.npz``, MimicKit for
    ``.pkl``). MimicKit and BeyondMimic files are written for ``robot``, in its DoF order."""
    path = Path(path)
    suffix = path.suffix.lower()
    if format is None:
        format = {".npz": "npz", ".pkl": "mimickit"}.get(suffix)
        if format is None:
            raise MotionError(
                f"{path.name}: cannot tell the format from the extension; use .npz (mjmimic), "
                ".pkl (MimicKit) or name one of: " + ", ".join(WRITE_FORMATS)
            )
    if format not in WRITE_FORMATS:
        raise MotionError(
            f"unknown motion format {format!r}; formats written: {', '.join(WRITE_FORMATS)}"
        )
    if suffix != WRITE_FORMATS[format]:
        raise MotionError(
            f"{path.name}: {format} motions are written as {WRITE_FORMATS[format]} files; "
            "change the extension"
        )
    if format == "npz":
        return write_npz(motion, path)
    what = "MimicKit .pkl" if format == "mimickit" else "BeyondMimic .npz"
    aligned = motion.align_to_robot(_need_robot(robot, path, what), motion.name or path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    if format == "mimickit":
        write_mimickit_pkl(aligned, robot, path)
    else:
        write_beyondmimic_npz(aligned, robot, path)
    return path


def _need_robot(robot: RobotModel | None, path: Path, what: str) -> RobotModel:
    if robot is None:
        raise MotionError(
            f"{path.name}: a {what} motion needs the robot it is for (its DoF layout "
            "depends on the robot's joints); pass robot= (--robot)"
        )
    return robot


def _sniff(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(64)
    if head.startswith(b"PK"):
        return "npz"
    if head[:1] == b"\x80":
        return "pkl"
    if head.lstrip()[:1] == b"{":
        return "deepmimic"
    raise MotionError(
        f"{path.name}: unknown motion file type; supported: .npz (mjmimic, plain, "
        "BeyondMimic, AMP), .pkl (MimicKit, PHC), DeepMimic .txt, .csv, poselib .npy (see "
        "docs/motion_format.md)"
    )
