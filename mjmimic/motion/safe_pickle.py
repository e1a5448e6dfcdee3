"""Load pickled motion files without running code from them.

``pickle.load`` calls whatever a file names (``os.system``, ``builtins.exec`` ...), so an
untrusted ``.pkl`` is a program. ``safe_load`` resolves only the globals that plain
containers (dict, list, tuple, str, numbers) and numpy arrays/scalars need, under both
numpy 1 (``numpy.core``) and numpy 2 (``numpy._core``) module paths, and refuses the rest
before anything is called. Three more things motion files contain are understood, none
of them by running the file's code:

* a pickled MimicKit ``Motion`` object (module ``__main__``, ``mimickit.anim.motion`` or
  ``anim.motion``) becomes a ``PickledObject`` that only records its attributes, and the
  ``LoopMode`` enum becomes its integer value;
* joblib pickles (PHC/ASAP ``.pkl``): joblib writes each numpy array as a
  ``NumpyArrayWrapper`` record followed by the raw array bytes in the stream; those bytes
  are read as a plain array of the recorded dtype (object arrays are refused);
* joblib's whole-file compression (zlib, gzip, bz2, xz) is undone first.
"""

from __future__ import annotations

import builtins
import bz2
import codecs
import collections
import gzip
import io
import lzma
import os
import pickle
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np

from mjmimic.errors import MotionError

try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray  # type: ignore[no-redef]
    from numpy.core import numeric as _numeric  # type: ignore[no-redef]


def _latin1_encode(text: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """``_codecs.encode`` as pickle protocols 0-2 use it for bytes (always latin1)."""
    if codecs.lookup(encoding).name != "iso8859-1":
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return codecs.encode(text, "latin1", errors)


# Where MimicKit's ``Motion`` class lived when a file was pickled: run as a script, as the
# installed package, or from MimicKit's source folder.
MOTION_MODULES = ("__main__", "mimickit.anim.motion", "anim.motion")


@dataclass
class PickledObject:
    """Stand-in for an allow-listed class: records the pickled attributes, runs nothing."""

    class_name: str
    state: dict[str, Any] = field(default_factory=dict)

    def __setstate__(self, state: Any) -> None:
        # (dict, slots) is what objects with __slots__ pickle; both parts are attributes.
        parts = state if isinstance(state, tuple) else (state,)
        for part in parts:
            if isinstance(part, dict):
                self.state.update({str(k): v for k, v in part.items()})


def _stand_in(class_name: str) -> type:
    """A class that pickle can instantiate for ``class_name`` without its code."""

    def new(cls, *args, **kwargs):
        return PickledObject(class_name)

    return type(class_name, (), {"__new__": new, "_mjmimic_stand_in": True})


def _loop_mode_value(value: Any) -> Any:
    """MimicKit's ``LoopMode(value)`` enum pickles as a call with its value: keep the value."""
    return value


def _reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """``copyreg._reconstructor`` (protocols 0-1) restricted to the stand-in classes."""
    if base is not object or not getattr(cls, "_mjmimic_stand_in", False):
        raise pickle.UnpicklingError("refusing copyreg._reconstructor for this class")
    return cls.__new__(cls)


def _allowed_globals() -> dict[tuple[str, str], Any]:
    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("_codecs", "encode"): _latin1_encode,
    }
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = _multiarray._reconstruct
        allowed[(f"{core}.multiarray", "scalar")] = _multiarray.scalar
        allowed[(f"{core}.numeric", "_frombuffer")] = _numeric._frombuffer
    for name in ("slice", "set", "frozenset", "complex", "range", "bytearray"):
        allowed[("builtins", name)] = getattr(builtins, name)
        allowed[("__builtin__", name)] = allowed[("builtins", name)]  # protocol 0-2 names
    for module in MOTION_MODULES:
        allowed[(module, "Motion")] = _stand_in("Motion")
        allowed[(module, "LoopMode")] = _loop_mode_value
    allowed[("joblib.numpy_pickle", "NumpyArrayWrapper")] = _stand_in("NumpyArrayWrapper")
    for module in ("copyreg", "copy_reg"):
        allowed[(module, "_reconstructor")] = _reconstructor
    allowed[("builtins", "object")] = allowed[("__builtin__", "object")] = object
    return allowed


_ALLOWED = _allowed_globals()


class _RestrictedUnpickler(pickle._Unpickler):
    """The pure-Python unpickler: joblib's arrays need a hook on the BUILD opcode, which
    the C unpickler does not offer. Motion files are small enough for its speed."""

    dispatch: ClassVar[dict] = dict(pickle._Unpickler.dispatch)

    def __init__(self, file: IO[bytes], source: str):
        super().__init__(file)
        self._source = source

    def _load_build(self) -> None:
        pickle._Unpickler.load_build(self)
        top = self.stack[-1]
        if isinstance(top, PickledObject) and top.class_name == "NumpyArrayWrapper":
            self.stack[-1] = self._joblib_array(top.state)

    dispatch[pickle.BUILD[0]] = _load_build

    def _joblib_array(self, state: dict[str, Any]) -> np.ndarray:
        """The raw array bytes joblib writes into the stream after a NumpyArrayWrapper."""
        dtype, shape, order = state.get("dtype"), state.get("shape"), state.get("order", "C")
        if not isinstance(dtype, np.dtype) or not isinstance(shape, tuple):
            raise pickle.UnpicklingError("malformed joblib array record")
        if dtype.hasobject:
            raise MotionError(
                f"{self._source}: refusing a joblib array of Python objects (only numeric "
                "arrays are loaded; convert the file with a trusted script)"
            )
        if "numpy_array_alignment_bytes" in state:  # joblib >= 1.2 pads to alignment
            padding = self.read(1)
            self.read(int.from_bytes(padding, "little"))
        count = int(np.prod(shape, dtype=np.int64))
        data = self.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            raise EOFError("joblib array data is truncated")
        array = np.frombuffer(data, dtype=dtype).copy()
        if order == "F":
            return array.reshape(shape[::-1]).T
        return array.reshape(shape)

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise MotionError(
                f"{self._source}: refusing to unpickle '{module}.{name}' (only plain "
                "containers and numpy arrays are loaded; convert the file with a trusted "
                "script)"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise MotionError(
            f"{self._source}: refusing to unpickle a persistent reference (only plain "
            "containers and numpy arrays are loaded; convert the file with a trusted script)"
        )


def safe_load(path_or_file: str | os.PathLike | IO[bytes], source: str | None = None) -> Any:
    """Unpickle a file of plain containers and numpy arrays; ``MotionError`` otherwise."""
    if isinstance(path_or_file, (str, os.PathLike)):
        path = Path(path_or_file)
        source = source or path.name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise MotionError(f"{source}: cannot read the file ({exc.strerror})") from None
        file: IO[bytes] = io.BytesIO(_decompressed(data, source))
    else:
        file = path_or_file
        source = source or Path(str(getattr(file, "name", "<pickle>"))).name
    try:
        return _RestrictedUnpickler(file, source).load()
    except MotionError:
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        UnicodeDecodeError,
        MemoryError,
    ) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MotionError(
            f"{source}: not a readable pickle of plain data ({reason}); check that the file "
            "is complete and was written with pickle"
        ) from None


# joblib's compressors, recognised by their magic bytes (joblib/compressor.py).
_DECOMPRESSORS = (
    (b"\x1f\x8b", gzip.decompress),
    (b"BZh", bz2.decompress),
    (b"\xfd7zXZ", lzma.decompress),
    (b"\x78", zlib.decompress),
)


def _decompressed(data: bytes, source: str) -> bytes:
    for magic, decompress in _DECOMPRESSORS:
        if data.startswith(magic):
            try:
                return decompress(data)
            except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error) as exc:
                raise MotionError(
                    f"{source}: looks compressed but cannot be decompressed ({exc}); check "
                    "that the file is complete"
                ) from None
    return data
