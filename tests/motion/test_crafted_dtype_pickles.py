"""Pickled arrays whose dtype description lies cannot corrupt memory.

numpy's own unpickling trusts a dtype's pickled flags: an object dtype whose state says
"no objects", or raw bytes given as an object array's data, makes numpy read file bytes
as object pointers (exit 139 through ``motion info``). Every variant of dtype state and
flags below is written into the three containers motion files use (a plain dict pickle, a
MimicKit ``Motion`` object, a joblib ``NumpyArrayWrapper`` record) and must either load as
the plain array it honestly describes or be refused with one line.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import types

import numpy as np
import pytest

from mjmimic.cli.main import main
from mjmimic.errors import MotionError
from mjmimic.motion.safe_pickle import safe_load

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1
    from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]


class _Dtype:
    """Pickles as ``numpy.dtype(spec, False, True)`` with any state."""

    def __init__(self, spec, state):
        self.spec, self.state = spec, state

    def __reduce__(self):
        return (np.dtype, (self.spec, False, True), self.state)


class _Array:
    """Pickles as numpy does an ndarray (``_reconstruct`` + ``__setstate__``), any state."""

    def __init__(self, shape, dtype, data, fortran=False):
        self.state = (1, shape, dtype, fortran, data)

    def __reduce__(self):
        return (_reconstruct, (np.ndarray, (0,), b"b"), self.state)


def _state(endian="<", elsize=-1, alignment=-1, flags=0, version=3, **parts):
    base = (version, endian, parts.get("subdescr"), parts.get("names"), parts.get("fields"))
    tail = (elsize, alignment, flags)
    return base + tail + ((parts.get("metadata"),) if version == 4 else ())


EIGHT = np.arange(4, dtype="<f8").tobytes()  # 32 bytes: four float64s
# (id, spec, state, shape, data, expected array or None for "refused")
HONEST = [
    ("f8", "f8", _state(), (4,), EIGHT, np.arange(4.0)),
    ("f8-big-endian", "f8", _state(">"), (4,), np.arange(4, dtype=">f8").tobytes(), np.arange(4.0)),
    ("f4", "f4", _state(), (2,), np.ones(2, "<f4").tobytes(), np.ones(2, np.float32)),
    ("bool", "b1", _state("|"), (3,), b"\x00\x01\x07", np.array([False, True, True])),
    (
        "int64-version-4",
        "i8",
        _state(version=4),
        (4,),
        np.arange(4, dtype="<i8").tobytes(),
        np.arange(4),
    ),
    (
        "U2",
        "U2",
        _state(elsize=8, alignment=4, flags=8),
        (1,),
        "ab".encode("utf-32-le"),
        np.array(["ab"]),
    ),
    ("fortran-2x2", "f8", _state(), (2, 2), EIGHT, np.arange(4.0).reshape(2, 2, order="F")),
]
OBJECT_FLAGS = 63  # numpy's flags for dtype('O'): has objects, refcounted, needs the API...
CRAFTED = [
    # The memory corruption: an object dtype said to hold no objects, data as raw bytes.
    ("object-flags-0-bytes", "O8", _state("|", flags=0), (4,), EIGHT),
    ("object-honest-flags-bytes", "O8", _state("|", flags=OBJECT_FLAGS), (4,), EIGHT),
    ("object-spec-O", "O", _state("|", flags=0), (4,), EIGHT),
    # A float dtype whose flags claim objects (each bit alone, and all of them).
    *[
        (f"f8-flags-{bit}", "f8", _state(flags=bit), (4,), EIGHT)
        for bit in (1, 2, 4, 8, 16, 32, 64, 63)
    ],
    ("void", "V8", _state("|", elsize=8, alignment=1), (4,), EIGHT),
    (
        "void-with-object-field",
        "V8",
        _state(
            "|",
            elsize=8,
            alignment=1,
            names=("a",),
            fields={"a": (_Dtype("O8", _state("|", flags=63)), 0)},
        ),
        (4,),
        EIGHT,
    ),
    ("subarray", "f8", _state(subdescr=(_Dtype("f8", _state()), (2,))), (4,), EIGHT),
    ("datetime", "M8[s]", _state(), (4,), EIGHT),
    ("metadata", "f8", _state(version=4, metadata={"x": 1}), (4,), EIGHT),
    ("version-5", "f8", (5, *_state()[1:]), (4,), EIGHT),
    ("bad-endian", "f8", _state("x"), (4,), EIGHT),
    ("spec-not-str", b"f8", _state(), (4,), EIGHT),
    ("short-state", "f8", (3, "<"), (4,), EIGHT),
    ("data-too-short", "f8", _state(), (8,), EIGHT),
    ("data-too-long", "f8", _state(), (2,), EIGHT),
    ("negative-shape", "f8", _state(), (-4,), EIGHT),
    ("data-is-a-list", "f8", _state(), (4,), [0.0, 1.0, 2.0, 3.0]),
    ("U-size-not-multiple", "U2", _state(elsize=7, alignment=4, flags=8), (1,), b"1234567"),
]


def _plain_dict(array) -> bytes:
    return pickle.dumps({"fps": 30, "loop_mode": 1, "frames": array}, protocol=2)


def _motion_object(array, monkeypatch) -> bytes:
    module = types.ModuleType("mimickit.anim.motion")
    motion_cls = type("Motion", (), {"__module__": "mimickit.anim.motion"})
    module.Motion = motion_cls
    for name in ("mimickit", "mimickit.anim"):
        monkeypatch.setitem(sys.modules, name, sys.modules.get(name, types.ModuleType(name)))
    monkeypatch.setitem(sys.modules, "mimickit.anim.motion", module)
    obj = motion_cls()
    obj.fps, obj.loop_mode, obj.frames = 30, 1, array
    return pickle.dumps(obj, protocol=2)


def _joblib_record(spec, state, shape, data, order, monkeypatch) -> bytes:
    """joblib's layout: a NumpyArrayWrapper object, BUILD, then the array's raw bytes."""
    module = types.ModuleType("joblib.numpy_pickle")
    wrapper_cls = type("NumpyArrayWrapper", (), {"__module__": "joblib.numpy_pickle"})
    module.NumpyArrayWrapper = wrapper_cls
    monkeypatch.setitem(
        sys.modules, "joblib", sys.modules.get("joblib", types.ModuleType("joblib"))
    )
    monkeypatch.setitem(sys.modules, "joblib.numpy_pickle", module)
    wrapper = wrapper_cls()
    wrapper.__dict__.update(dtype=_Dtype(spec, state), shape=shape, order=order)
    raw = pickle.dumps(wrapper, protocol=2)  # no framing: bytes can follow BUILD
    assert raw.endswith(b"b.")
    return raw[:-1] + (data if isinstance(data, bytes) else b"") + b"."


def _write(tmp_path, container, case, monkeypatch):
    name, spec, state, shape, data = case[:5]
    fortran = name.startswith("fortran")
    if container == "joblib":
        raw = _joblib_record(spec, state, shape, data, "F" if fortran else "C", monkeypatch)
    else:
        array = _Array(shape, _Dtype(spec, state), data, fortran=fortran)
        raw = _plain_dict(array) if container == "dict" else _motion_object(array, monkeypatch)
    path = tmp_path / f"{container}.pkl"
    path.write_bytes(raw)
    return path


def _frames(loaded):
    """The array: a joblib file here is the bare record; the others hold it as frames."""
    if isinstance(loaded, np.ndarray):
        return loaded
    return loaded["frames"] if isinstance(loaded, dict) else loaded.state["frames"]


CONTAINERS = ["dict", "mimickit_motion", "joblib"]


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("case", HONEST, ids=[c[0] for c in HONEST])
def test_honest_arrays_load_as_plain_arrays(tmp_path, monkeypatch, container, case):
    frames = _frames(safe_load(_write(tmp_path, container, case, monkeypatch)))
    expected = case[5]
    assert isinstance(frames, np.ndarray) and frames.dtype.kind in "biufcUS"
    np.testing.assert_array_equal(frames, expected)
    assert frames.dtype == expected.dtype  # in the machine's byte order


@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("case", CRAFTED, ids=[c[0] for c in CRAFTED])
def test_crafted_dtype_states_are_refused_with_one_line(tmp_path, monkeypatch, container, case):
    path = _write(tmp_path, container, case, monkeypatch)
    with pytest.raises(MotionError) as err:
        safe_load(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path.name}: ")
    assert "refusing" in message or "not a readable pickle" in message


def test_object_arrays_as_numpy_pickles_them_still_load(tmp_path):
    """poselib's .npy: a 0-d object array holding a dict, its data a list of values."""
    path = tmp_path / "poselib.pkl"
    path.write_bytes(pickle.dumps(np.array({"fps": 30, "rotation": np.ones((2, 4))}), protocol=2))
    loaded = safe_load(path)
    assert loaded.dtype == object and loaded[()]["fps"] == 30
    np.testing.assert_array_equal(loaded[()]["rotation"], np.ones((2, 4)))


def test_the_segfault_file_through_the_cli_is_one_line(tmp_path, monkeypatch, capsys):
    """The file that crashed ``motion info`` with exit 139: object dtype, flags 0, bytes."""
    path = _write(tmp_path, "dict", CRAFTED[0], monkeypatch)
    assert main(["motion", "info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refusing" in err and "dict.pkl" in err


def test_the_plain_unpickler_does_crash_on_that_file(tmp_path, monkeypatch):
    """The test's own check: numpy's unpickling of the first crafted case really reads
    file bytes as object pointers (the process dies on a signal), so the refusals above
    are what stands between a data file and memory corruption."""
    path = _write(tmp_path, "dict", CRAFTED[0], monkeypatch)
    code = (
        "import pickle, sys; frames = pickle.loads(open(sys.argv[1], 'rb').read())['frames']; "
        "print(repr(frames))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, timeout=60
    )
    assert result.returncode < 0, result  # killed by a signal (SIGSEGV), not an exception
