"""Load pickled motion files without running code from them.

``pickle.load`` calls whatever a file names (``os.system``, ``builtins.exec`` ...), so an
untrusted ``.pkl`` is a program. ``safe_load`` resolves only the globals that plain
containers (dict, list, tuple, str, numbers) and numpy arrays/scalars need, under both
numpy 1 (``numpy.core``) and numpy 2 (``numpy._core``) module paths, and refuses the rest
before anything is called.
"""

from __future__ import annotations

import builtins
import codecs
import collections
import io
import os
import pickle
from pathlib import Path
from typing import IO, Any

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
    return allowed


_ALLOWED = _allowed_globals()


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], source: str):
        super().__init__(file)
        self._source = source

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
        file: IO[bytes] = io.BytesIO(data)
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
