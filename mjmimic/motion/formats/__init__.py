"""Motion file readers and writers: ``read_motion`` picks the reader from the file.

* ``.npz`` with ``format = "mjmimic.motion"``: ``npz.read_npz`` (no robot needed);
* ``.pkl``, MimicKit's dict ``{loop_mode, fps, frames}``: ``mimickit_pkl.read_mimickit_pkl``;
* ``.txt``/``.json``, DeepMimic's ``{"Loop", "Frames"}``: ``deepmimic_txt.import_deepmimic_txt``.

The last two need the robot: their DoF layout depends on its joints.

Files with another extension are recognised by their first bytes. ``write_motion`` writes
the ``.npz`` format only.
"""

from __future__ import annotations

from pathlib import Path

from mjmimic.errors import MotionError
from mjmimic.motion.formats.deepmimic_txt import import_deepmimic_txt
from mjmimic.motion.formats.mimickit_pkl import read_mimickit_pkl
from mjmimic.motion.formats.npz import read_npz, write_npz
from mjmimic.motion.motion import Motion
from mjmimic.robots.model import RobotModel

__all__ = [
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
}


def read_motion(path: str | Path, robot: RobotModel | None = None) -> Motion:
    """Read any supported motion file. ``robot`` is required for MimicKit ``.pkl`` and
    DeepMimic files (their DoF layout depends on it); the result is not reordered to the
    robot (``Motion.align_to_robot`` does that)."""
    path = Path(path)
    if not path.is_file():
        raise MotionError(f"{path.name}: motion file not found at {path}")
    kind = _BY_SUFFIX.get(path.suffix.lower()) or _sniff(path)
    if kind == "npz":
        return read_npz(path)
    if robot is None:
        what = "MimicKit .pkl" if kind == "pkl" else "DeepMimic"
        raise MotionError(
            f"{path.name}: reading a {what} motion needs the robot it is for (its DoF layout "
            "depends on the robot's joints); pass robot="
        )
    if kind == "pkl":
        return read_mimickit_pkl(path, robot)
    return import_deepmimic_txt(path, robot)


def write_motion(motion: Motion, path: str | Path) -> Path:
    """Write ``motion`` as an mjmimic ``.npz`` (the only format written)."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise MotionError(
            f"{path.name}: motions can only be written as mjmimic .npz files; use a .npz name"
        )
    return write_npz(motion, path)


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
        f"{path.name}: unknown motion file type; supported: mjmimic .npz, MimicKit .pkl, "
        "DeepMimic .txt (see docs/motion_format.md)"
    )
