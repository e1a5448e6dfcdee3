"""The restricted unpickler loads plain data and numpy arrays, and nothing that runs code."""

from __future__ import annotations

import collections
import io
import os
import pickle
import pickletools

import numpy as np
import pytest

from mjmimic.errors import MotionError
from mjmimic.motion.safe_pickle import safe_load


class _TouchMarker:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _ExecMarker:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


@pytest.mark.parametrize("payload", [_TouchMarker, _ExecMarker])
@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_code_in_a_pickle_is_refused_and_never_runs(tmp_path, payload, protocol):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    data = {"fps": 30, "frames": [[0.0] * 7], "loop_mode": payload(marker)}
    path.write_bytes(pickle.dumps(data, protocol=protocol))
    with pytest.raises(MotionError) as err:
        safe_load(path)
    msg = str(err.value)
    assert msg.startswith("evil.pkl: refusing to unpickle '")
    assert ("system'" in msg) if payload is _TouchMarker else ("exec'" in msg)
    assert "convert the file with a trusted script" in msg
    assert not marker.exists()
    # Sanity check of the test itself: the plain unpickler does run it.
    if payload is _ExecMarker:
        pickle.loads(path.read_bytes())
        assert marker.exists()


def test_plain_containers_and_numpy_load(tmp_path):
    data = {
        "fps": 30,
        "loop_mode": 1,
        "frames": np.arange(12, dtype=np.float32).reshape(3, 4),
        "list": [1.5, "a", (2, None), {3}, frozenset({4}), complex(1, 2), b"xy"],
        "ordered": collections.OrderedDict(a=np.float64(2.5), b=np.int64(7)),
    }
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        path = tmp_path / f"ok{protocol}.pkl"
        path.write_bytes(pickle.dumps(data, protocol=protocol))
        out = safe_load(path)
        np.testing.assert_array_equal(out["frames"], data["frames"])
        assert out["frames"].dtype == np.float32
        assert out["list"] == data["list"]
        assert out["ordered"] == data["ordered"]
        assert isinstance(out["ordered"], collections.OrderedDict)


def _as_numpy1_pickle(obj, protocol: int) -> bytes:
    """Pickle ``obj`` as numpy 1 wrote it: module ``numpy.core`` instead of ``numpy._core``."""
    data = pickle.dumps(obj, protocol=protocol)
    if protocol < 4:  # module names are newline-terminated text (GLOBAL opcode)
        return data.replace(b"numpy._core.", b"numpy.core.")
    # SHORT_BINUNICODE strings carry their length; the single frame carries its own.
    assert data[2:3] == pickle.FRAME  # one frame: 8-byte length, then everything else
    body = data[11:]
    for mod in (b"multiarray", b"numeric"):
        old = b"numpy._core." + mod
        new = b"numpy.core." + mod
        short = pickle.SHORT_BINUNICODE
        body = body.replace(short + bytes([len(old)]) + old, short + bytes([len(new)]) + new)
    return data[:3] + len(body).to_bytes(8, "little") + body


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_numpy1_module_paths_load(tmp_path, protocol):
    obj = {"frames": np.linspace(0, 1, 10).reshape(2, 5), "fps": np.float64(30.0)}
    raw = _as_numpy1_pickle(obj, protocol)
    modules = {
        arg
        for op, arg, _ in pickletools.genops(raw)
        if isinstance(arg, str) and arg.startswith("numpy")
    }
    assert any(m.startswith("numpy.core") for m in modules)
    assert not any("numpy._core" in m for m in modules)
    out = safe_load(io.BytesIO(raw))
    np.testing.assert_array_equal(out["frames"], obj["frames"])
    assert out["fps"] == 30.0


def test_garbage_is_a_motion_error(tmp_path):
    path = tmp_path / "broken.pkl"
    path.write_bytes(pickle.dumps({"a": [1, 2, 3]})[:-5])
    with pytest.raises(MotionError, match=r"broken.pkl: not a readable pickle"):
        safe_load(path)
    with pytest.raises(MotionError, match=r"missing.pkl: cannot read the file"):
        safe_load(tmp_path / "missing.pkl")


def test_other_globals_are_refused(tmp_path):
    path = tmp_path / "obj.pkl"
    path.write_bytes(pickle.dumps({"when": collections.Counter("aab")}))
    with pytest.raises(MotionError, match=r"refusing to unpickle 'collections.Counter'"):
        safe_load(path)


def test_stand_ins_do_not_open_other_classes(tmp_path):
    # copyreg._reconstructor is allowed for MimicKit's pickled Motion (protocols 0-1)
    # only: with any other class it is refused before that class is instantiated.
    path = tmp_path / "recon.pkl"
    path.write_bytes(b"ccopy_reg\n_reconstructor\n(c__builtin__\nset\nc__builtin__\nobject\nNtR.")
    with pytest.raises(MotionError, match=r"recon.pkl: not a readable pickle .*_reconstructor"):
        safe_load(path)
    # A class named Motion elsewhere than MimicKit's module paths is an ordinary refusal.
    path.write_bytes(b"cevil.module\nMotion\n)R.")
    with pytest.raises(MotionError, match=r"refusing to unpickle 'evil.module.Motion'"):
        safe_load(path)
