"""mjmimic's own motion file: a plain numpy ``.npz`` (no pickle), described in
``docs/motion_format.md``."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from mjmimic.errors import MotionError
from mjmimic.motion.formats.amp_npz import is_amp_npz, read_amp_npz
from mjmimic.motion.formats.arrays import names as name_list
from mjmimic.motion.formats.arrays import real_array
from mjmimic.motion.formats.beyondmimic_npz import is_beyondmimic_npz, read_beyondmimic_npz
from mjmimic.motion.formats.plain_npz import is_plain_npz, read_plain_npz
from mjmimic.motion.motion import Motion
from mjmimic.robots.model import RobotModel

FORMAT_NAME = "mjmimic.motion"
FORMAT_VERSION = 1
_REQUIRED = ("format", "format_version", "fps", "loop_mode", "root_pos", "root_rot", "dof_pos")


def read_npz(path: str | Path, robot: RobotModel | None = None) -> Motion:
    """Any ``.npz`` motion: ours, plain arrays, BeyondMimic or AMP poselib (the last two
    need ``robot``: their joints and bodies are matched to it by name)."""
    path = Path(path)
    src = path.name
    if not path.is_file():
        raise MotionError(f"{src}: motion file not found at {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise MotionError(
                f"{src}: the .npz holds pickled Python objects, which mjmimic does not load; "
                "store plain numeric/string arrays (see docs/motion_format.md)"
            ) from None
        raise MotionError(f"{src}: not a readable .npz file ({exc})") from None
    # zipfile refuses a damaged archive in many ways: a bad zip, a bad zlib stream, an
    # unknown compression method (NotImplementedError), an "encrypted" flag (RuntimeError).
    except (
        OSError,
        zipfile.BadZipFile,
        EOFError,
        zlib.error,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise MotionError(f"{src}: not a readable .npz file ({exc})") from None
    keys = set(arrays)
    if "format" not in arrays and is_plain_npz(keys):
        return read_plain_npz(Path(path), arrays)
    for is_kind, read, what in (
        (is_beyondmimic_npz, read_beyondmimic_npz, "BeyondMimic"),
        (is_amp_npz, read_amp_npz, "AMP poselib"),
    ):
        if "format" not in arrays and is_kind(keys):
            if robot is None:
                raise MotionError(
                    f"{src}: reading a {what} .npz needs the robot it is for (joints and "
                    "bodies are matched to it by name); pass robot= (--robot)"
                )
            return read(path, arrays, robot)
    if "format" not in arrays:
        raise MotionError(
            f"{src}: not an mjmimic motion file (no 'format' key; found keys: "
            f"{', '.join(sorted(arrays)) or 'none'}); convert it to the format in "
            "docs/motion_format.md"
        )
    fmt = _text(arrays["format"], "format", src)
    if fmt != FORMAT_NAME:
        raise MotionError(f"{src}: format is {fmt!r}, expected {FORMAT_NAME!r}")
    missing = [k for k in _REQUIRED if k not in arrays]
    if missing:
        raise MotionError(
            f"{src}: missing key(s) {', '.join(missing)} (an mjmimic motion needs "
            f"{', '.join(_REQUIRED)}); re-export the clip"
        )
    version = _scalar(arrays["format_version"], "format_version", src)
    if not np.isfinite(version) or version != int(version) or version < 1:
        raise MotionError(f"{src}: format_version must be a positive integer, found {version}")
    if version > FORMAT_VERSION:
        raise MotionError(
            f"{src}: written with motion format_version {int(version)}, but this mjmimic reads "
            f"up to version {FORMAT_VERSION}; upgrade mjmimic"
        )
    names = None
    if "joint_names" in arrays:
        jn = arrays["joint_names"]
        if jn.dtype.kind != "U" or jn.ndim != 1:
            raise MotionError(
                f"{src}: joint_names must be a 1-D array of strings, found dtype {jn.dtype} "
                f"shape {jn.shape}"
            )
        names = name_list(jn, "joint_names", src)
    name = _text(arrays["name"], "name", src) if "name" in arrays else path.stem
    return Motion(
        fps=_scalar(arrays["fps"], "fps", src),
        loop_mode=_text(arrays["loop_mode"], "loop_mode", src),  # type: ignore[arg-type]
        root_pos=real_array(arrays["root_pos"], "root_pos", src),
        root_rot=real_array(arrays["root_rot"], "root_rot", src),
        dof_pos=real_array(arrays["dof_pos"], "dof_pos", src),
        joint_names=names,
        name=name,
        source=src,
    )


def write_npz(motion: Motion, path: str | Path) -> Path:
    """Write ``motion`` to ``path`` (which must end in ``.npz``); returns the path."""
    path = Path(path)
    if path.suffix != ".npz":
        raise MotionError(f"{path.name}: motions are written as .npz; use a .npz file name")
    motion.validate(motion.name or path.name)
    arrays = {
        "format": np.array(FORMAT_NAME),
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "fps": np.array(motion.fps, dtype=np.float64),
        "loop_mode": np.array(motion.loop_mode),
        "root_pos": np.asarray(motion.root_pos, dtype=np.float64),
        "root_rot": np.asarray(motion.root_rot, dtype=np.float64),
        "dof_pos": np.asarray(motion.dof_pos, dtype=np.float64),
        "name": np.array(motion.name),
    }
    if motion.joint_names is not None:
        arrays["joint_names"] = np.array(motion.joint_names, dtype=np.str_)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


def _text(arr: np.ndarray, key: str, src: str) -> str:
    if arr.dtype.kind != "U" or arr.ndim != 0:
        raise MotionError(f"{src}: {key} must be a single string, found {arr.dtype} {arr.shape}")
    return str(arr)


def _scalar(arr: np.ndarray, key: str, src: str) -> float:
    if arr.dtype.kind not in "iuf" or arr.size != 1:
        raise MotionError(f"{src}: {key} must be a single number, found {arr.dtype} {arr.shape}")
    return float(arr.reshape(()))
