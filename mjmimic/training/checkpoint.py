"""Checkpoint files: written atomically, read without executing code.

``model.pt``      what ``test``/``export`` need: weights, normalizers, the resolved config.
``checkpoint.pt`` everything to resume: also optimizer states, counters and RNG states.

Both are plain dicts of tensors, numbers, strings, lists and dicts, loaded with
``torch.load(weights_only=True)``, PyTorch's restricted unpickler.
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mjmimic.errors import MjmimicError
from mjmimic.paths import atomic_write_bytes

MODEL_FORMAT = "mjmimic.model"
CHECKPOINT_FORMAT = "mjmimic.checkpoint"
FORMAT_VERSION = 1


def atomic_save(obj: dict[str, Any], path: Path) -> None:
    """Write to a temporary file in the same directory, then rename over ``path``: a crash
    mid-write leaves the previous file intact, a full disk is a one-line ``MjmimicError``.
    Serialized in memory first: torch's own file writer reports a full disk as a bare
    RuntimeError, a Python file write as the OSError it is."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getbuffer())


def load(path: Path, expected_format: str) -> dict[str, Any]:
    if not path.is_file():
        raise MjmimicError(f"{path}: file not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt/foreign files
        raise MjmimicError(f"{path}: not a readable mjmimic file ({type(exc).__name__})") from None
    if not isinstance(obj, dict) or obj.get("format") != expected_format:
        found = obj.get("format") if isinstance(obj, dict) else type(obj).__name__
        shown = repr(found) if isinstance(found, str | None) else type(found).__name__
        raise MjmimicError(f"{path}: expected a {expected_format} file, found {shown[:80]}")
    version = obj.get("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        shown = repr(version) if isinstance(version, str | float) else type(version).__name__
        raise MjmimicError(
            f"{path}: format_version must be a whole number, found {shown[:40]}; the file is "
            "damaged or not written by mjmimic"
        )
    if version > FORMAT_VERSION:
        raise MjmimicError(
            f"{path}: format version {obj['format_version']} is newer than this mjmimic "
            f"({FORMAT_VERSION}); upgrade mjmimic"
        )
    return obj


def capture_rng() -> dict[str, Any]:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "python": random.getstate(),
    }


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), *rest))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
