"""Numbers read from a motion file, checked before any reader computes with them.

``np.asarray(x, dtype=float64)`` accepts more than a motion is: true/false values become
0/1, complex numbers lose their imaginary part with a warning, and a ragged or huge Python
list raises TypeError, ValueError or OverflowError depending on what it holds. Readers go
through ``real_array``/``real_scalar`` instead, so each of those is one ``MotionError``
naming the file and the key.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mjmimic.errors import MotionError

_KIND_WORDS = {
    "b": "true/false values",
    "c": "complex numbers",
    "U": "text",
    "S": "bytes",
    "O": "values that are not plain numbers",
}


def real_array(value: Any, key: str, src: str, ndim: int | None = None) -> np.ndarray:
    """``value`` as a float64 array (of ``ndim`` dimensions, when given).

    Raises:
        MotionError: not a rectangular array of integers or real floats.
    """
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, OverflowError):  # ragged nested lists
        raise MotionError(
            f"{src}: {key} must be a table of numbers with rows of equal length"
        ) from None
    if arr.dtype.kind not in "iuf":
        what = _KIND_WORDS.get(arr.dtype.kind, f"{arr.dtype} data")
        raise MotionError(
            f"{src}: {key} holds {what} (dtype {arr.dtype}), not real numbers; "
            "store positions and angles as floats"
        )
    if ndim is not None and arr.ndim != ndim:
        raise MotionError(f"{src}: {key} must be {ndim}-D, found shape {arr.shape}")
    return arr.astype(np.float64)


def real_scalar(value: Any, key: str, src: str) -> float:
    """``value`` (a number or a one-element array) as a float.

    Raises:
        MotionError: not exactly one integer or real float.
    """
    arr = real_array(value, key, src)
    if arr.size != 1:
        raise MotionError(f"{src}: {key} must be a single number, found shape {arr.shape}")
    return float(arr.reshape(()))


def names(value: Any, key: str, src: str) -> list[str]:
    """``value`` (an array or list of names) as a list of str.

    Raises:
        MotionError: a name holds a newline or another unprintable character (it would
            break every message and table that lists names).
    """
    out = [str(n) for n in np.asarray(value).reshape(-1)]
    bad = next((n for n in out if not n.isprintable()), None)
    if bad is not None:
        raise MotionError(f"{src}: {key} has a name with unprintable characters: {shown(bad)}")
    return out


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` on one line and at most ``limit`` characters: for quoting what a
    file holds in a one-line error (a numpy array's repr spans lines)."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
