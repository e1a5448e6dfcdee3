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

numpy's own unpickling hooks are never called: ``ndarray.__setstate__`` trusts a dtype's
pickled *flags*, and a file whose dtype state says "no Python objects" for an object
dtype (or the reverse) makes numpy read file bytes as object pointers: memory
corruption from a data file. Here ``numpy.dtype``, ``_reconstruct``, ``scalar`` and
``_frombuffer`` are stand-ins that only record what the file says; an array is then built
by ``np.frombuffer`` from a dtype made fresh from its type string, after checking that
string (bool, integer, float, complex, str or bytes only; no structured, object, void or
datetime types), the byte order, the size, and that the pickled flags are exactly the
ones numpy gives that type. Anything else is refused with one line.
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
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np

from mjmimic.errors import MotionError


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


# Array element kinds a reader may get: bool, signed/unsigned integer, float, complex,
# str (U) and bytes (S); and object (O) arrays only as numpy pickles them honestly, their
# elements a list of already (restrictedly) unpickled values, never raw bytes (poselib's
# .npy motions are a 0-d object array holding a dict). No void/structured (V) or datetime
# (M, m) types.
PLAIN_KINDS = "biufcUS"
OBJECT_KIND = "O"


class RefusedData(Exception):
    """A pickle that is well formed but asks for something data files may not hold."""


class _DtypeRecord:
    """What the file says about a dtype (``numpy.dtype(spec, align, copy)`` and its
    ``__setstate__`` state); ``build`` makes and checks the real one."""

    def __init__(self, spec: Any = None, align: Any = False, copy: Any = False):
        self.spec, self.align = spec, align
        self.state: Any = None
        self._built: np.dtype | None = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def build(self) -> np.dtype:
        if self._built is None:
            self._built = _checked_dtype(self.spec, self.align, self.state)
        return self._built


def _checked_dtype(spec: Any, align: Any, state: Any) -> np.dtype:
    if not isinstance(spec, str) or not 0 < len(spec) <= 8 or align not in (False, 0):
        raise RefusedData(f"refusing a dtype described as {spec!r} (align={align!r})")
    try:
        fresh = np.dtype(spec)
    except (TypeError, ValueError):
        raise RefusedData(f"refusing an unknown dtype {spec!r}") from None
    if fresh.kind not in PLAIN_KINDS + OBJECT_KIND or fresh.fields is not None or fresh.subdtype:
        raise RefusedData(
            f"refusing an array of dtype {spec!r} (kind {fresh.kind!r}): only bool, integer, "
            "float, complex, str and bytes arrays are loaded"
        )
    if state is None:
        return fresh
    if not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4):
        raise RefusedData(f"refusing a dtype {spec!r} with a malformed state {state!r:.80}")
    endian, subdescr, names, fields, elsize, alignment, flags = state[1:8]
    if subdescr is not None or names is not None or fields is not None:
        raise RefusedData(f"refusing dtype {spec!r}: its state describes fields")
    if endian not in ("<", ">", "|", "=") or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in (elsize, alignment, flags)
    ):
        raise RefusedData(f"refusing a dtype {spec!r} with a malformed state {state!r:.80}")
    if len(state) == 9 and state[8] is not None:
        raise RefusedData(f"refusing dtype {spec!r}: its state carries metadata")
    if fresh.kind in "US" and elsize != -1:
        per_char = 4 if fresh.kind == "U" else 1
        if elsize <= 0 or elsize % per_char or elsize > 1 << 20:
            raise RefusedData(f"refusing a {fresh.kind} dtype of {elsize} bytes per item")
        fresh = np.dtype(f"{fresh.kind}{elsize // per_char}")
    if endian in "<>" and fresh.byteorder != "|":
        fresh = fresh.newbyteorder(endian)
    if flags != fresh.flags:
        # The state numpy would trust: flags that say "objects" (or not) against the type.
        raise RefusedData(
            f"refusing dtype {spec!r}: its pickled flags {flags} are not numpy's {fresh.flags} "
            "for that type (a crafted file)"
        )
    return fresh


def _as_dtype(value: Any) -> np.dtype:
    if isinstance(value, _DtypeRecord):
        return value.build()
    raise RefusedData(f"refusing {type(value).__name__} where a dtype belongs")


def _plain_array(data: Any, dtype: np.dtype, shape: Any, fortran: bool) -> np.ndarray:
    """A new array of ``dtype`` and ``shape`` from raw bytes (an object array: from the
    list of its elements), every size checked."""
    if not isinstance(shape, tuple) or not all(
        isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 1 << 40 for n in shape
    ):
        raise RefusedData(f"refusing an array of shape {shape!r:.60}")
    count = int(np.prod(shape, dtype=object))
    if dtype.kind == OBJECT_KIND:
        if not isinstance(data, list) or len(data) != count:
            # Raw bytes for an object array are pointers numpy would dereference.
            raise RefusedData("refusing an object array whose data are not a list of values")
        array = np.empty(count, dtype=object)
        for i, item in enumerate(data):
            array[i] = item
        return array.reshape(shape, order="F" if fortran else "C")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise RefusedData(f"refusing {dtype} array data of type {type(data).__name__}")
    data = bytes(data)
    if len(data) != count * dtype.itemsize:
        raise RefusedData(
            f"refusing an array of shape {shape} and dtype {dtype}: {len(data)} bytes of "
            f"data for {count * dtype.itemsize}"
        )
    if dtype.kind == "b":  # any byte but 0 and 1 would be an invalid numpy bool
        array = np.frombuffer(data, dtype=np.uint8) != 0
    else:
        # A new array in the machine's byte order (big-endian files load as native).
        array = np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("="))
    return array.reshape(shape, order="F" if fortran else "C")


class _ArrayRecord:
    """``numpy.core.multiarray._reconstruct(ndarray, ...)`` with its ``__setstate__``:
    the array is built from the recorded state by ``_plain_array``."""

    def __init__(self) -> None:
        self.array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise RefusedData(f"refusing an array with a malformed state {state!r:.80}")
        if len(state) == 4:
            state = (0, *state)
        _, shape, dtype, fortran, data = state
        if not isinstance(fortran, bool | int):
            raise RefusedData("refusing an array with a malformed state")
        self.array = _plain_array(data, _as_dtype(dtype), shape, bool(fortran))


class _NdarrayName:
    """``numpy.ndarray`` as a pickle names it: only an argument of ``_reconstruct``, never
    called (numpy's constructor would take a buffer and strides from the file)."""


_NDARRAY = _NdarrayName()


def _reconstruct(cls: Any, shape: Any, typecode: Any) -> _ArrayRecord:
    if cls is not _NDARRAY:
        raise RefusedData("refusing _reconstruct of anything but numpy.ndarray")
    return _ArrayRecord()


def _scalar(dtype: Any, data: Any = None) -> Any:
    """``numpy.core.multiarray.scalar(dtype, bytes)``: one element of a plain dtype."""
    dtype = _as_dtype(dtype)
    if dtype.kind == OBJECT_KIND:
        raise RefusedData("refusing a numpy object scalar")
    return _plain_array(data, dtype, (), False)[()]


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """``numpy.core.numeric._frombuffer`` (pickle protocol 5 arrays)."""
    if order not in ("C", "F"):
        raise RefusedData(f"refusing an array of order {order!r}")
    return _plain_array(buffer, _as_dtype(dtype), shape, order == "F")


def _resolved(value: Any, seen: set[int] | None = None) -> Any:
    """The loaded data with every remaining record (reached through pickle's memo, which
    keeps the object as first created) replaced by the array or dtype it stands for."""
    seen = set() if seen is None else seen
    if isinstance(value, _ArrayRecord):
        if value.array is None:
            raise RefusedData("refusing an array referenced before it was built")
        return value.array
    if isinstance(value, _DtypeRecord):
        return value.build()
    if id(value) in seen:
        return value
    if isinstance(value, dict):
        seen.add(id(value))
        for key in list(value):
            value[key] = _resolved(value[key], seen)
    elif isinstance(value, list):
        seen.add(id(value))
        value[:] = [_resolved(v, seen) for v in value]
    elif isinstance(value, tuple):
        return tuple(_resolved(v, seen) for v in value)
    elif isinstance(value, PickledObject):
        seen.add(id(value))
        _resolved(value.state, seen)
    elif isinstance(value, np.ndarray) and value.dtype.kind == OBJECT_KIND:
        seen.add(id(value))
        for index in np.ndindex(value.shape):
            value[index] = _resolved(value[index], seen)
    return value


def _allowed_globals() -> dict[tuple[str, str], Any]:
    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): _NDARRAY,
        ("numpy", "dtype"): _DtypeRecord,
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("_codecs", "encode"): _latin1_encode,
    }
    for core in ("numpy.core", "numpy._core"):
        allowed[(f"{core}.multiarray", "_reconstruct")] = _reconstruct
        allowed[(f"{core}.multiarray", "scalar")] = _scalar
        allowed[(f"{core}.numeric", "_frombuffer")] = _frombuffer
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
        elif isinstance(top, _ArrayRecord):
            self.stack[-1] = top.array

    dispatch[pickle.BUILD[0]] = _load_build

    def _joblib_array(self, state: dict[str, Any]) -> np.ndarray:
        """The raw array bytes joblib writes into the stream after a NumpyArrayWrapper."""
        record, shape, order = state.get("dtype"), state.get("shape"), state.get("order", "C")
        if not isinstance(record, _DtypeRecord) or not isinstance(shape, tuple):
            raise pickle.UnpicklingError("malformed joblib array record")
        dtype = record.build()
        if dtype.kind == OBJECT_KIND:  # joblib would unpickle its elements from the stream
            raise MotionError(
                f"{self._source}: refusing a joblib array of Python objects (only numeric "
                "arrays are loaded; convert the file with a trusted script)"
            )
        if "numpy_array_alignment_bytes" in state:  # joblib >= 1.2 pads to alignment
            padding = self.read(1)
            self.read(int.from_bytes(padding, "little"))
        try:
            size = int(np.prod(shape, dtype=object)) * dtype.itemsize
        except TypeError:
            raise RefusedData(f"refusing a joblib array of shape {shape!r:.60}") from None
        if size < 0 or size > 1 << 40:
            raise RefusedData(f"refusing a joblib array of shape {shape!r:.60}")
        data = self.read(size)
        if len(data) != size:
            raise EOFError("joblib array data is truncated")
        # joblib writes Fortran-ordered arrays' bytes in Fortran order.
        return _plain_array(data, dtype, shape, order == "F")

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            # repr: a damaged file's "module name" may hold a newline.
            raise MotionError(
                f"{self._source}: refusing to unpickle {f'{module}.{name}'!r} (only plain "
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
        return _resolved(_RestrictedUnpickler(file, source).load())
    except MotionError:
        raise
    except RefusedData as exc:
        # One line: a refused state is quoted, and a numpy repr in it spans lines.
        raise MotionError(
            f"{source}: {' '.join(str(exc).split())} (only plain containers and numeric, "
            "bool and string arrays are loaded; convert the file with a trusted script)"
        ) from None
    except RecursionError:
        raise MotionError(f"{source}: refusing a pickle nested too deeply") from None
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
        struct.error,  # a truncated BINFLOAT/BININT/BINUNICODE argument
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
