"""``mjmimic motion ...`` end to end on the reference data: exit codes, messages, files."""

from __future__ import annotations

import json

import imageio.v2 as imageio
import numpy as np
import pytest

from mjmimic.cli.main import main
from mjmimic.motion.formats import read_motion
from mjmimic.robots.model import RobotModel


@pytest.fixture(scope="module")
def data(shared_data):
    return {
        "g1": str(shared_data / "robots/unitree_g1/g1.xml"),
        "box": str(shared_data / "motions/g1_holosoma/sub3_largebox_003_mj.npz"),
        "asap": str(sorted((shared_data / "motions/g1_asap/npz").glob("*.npz"))[0]),
        "phc": str(sorted((shared_data / "motions/g1_asap/pkl").glob("*.pkl"))[0]),
        "bvh": str(shared_data / "motions/cmu_bvh/scaled_131_01.bvh"),
    }


def _run(capsys, *argv):
    code = main(["motion", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_info(capsys, data):
    code, out, _ = _run(capsys, "info", data["phc"])
    assert code == 0
    assert "fps:         30" in out and "frames:      230" in out and "dofs:        23" in out
    assert "joint names: (not stored in the file)" in out
    code, out, _ = _run(capsys, "info", data["bvh"])
    assert code == 0 and "human skeleton" in out and "fps:         120" in out
    assert "joints:      31: Hips, LHipJoint" in out


def test_convert_edit_chain_and_errors(capsys, tmp_path, data):
    g1 = data["g1"]
    code, _, err = _run(capsys, "convert", data["box"], tmp_path / "box.pkl")
    assert code == 2 and err.startswith("mjmimic: error: sub3_largebox_003_mj.npz: reading a ")
    assert list(tmp_path.iterdir()) == []
    code, out, _ = _run(capsys, "convert", data["box"], tmp_path / "box.pkl", "--robot", g1)
    assert code == 0 and out.strip() == f"wrote {tmp_path / 'box.pkl'}"
    steps = [
        ("resample", "box.pkl", "r.npz", "--fps", "25", "--robot", g1),
        ("trim", "r.npz", "t.npz", "--time", "1:2"),
        ("set-loop", "t.npz", "w.npz", "wrap"),
        ("convert", "w.npz", "bm.npz", "--format", "beyondmimic", "--robot", g1),
    ]
    for command, src, dst, *rest in steps:
        assert _run(capsys, command, tmp_path / src, tmp_path / dst, *rest)[0] == 0
    final = read_motion(tmp_path / "bm.npz", RobotModel.from_file(g1))
    assert final.fps == 25 and final.num_frames == 26
    assert read_motion(tmp_path / "w.npz").loop_mode == "wrap"
    # The input is never the output; a failed write leaves nothing behind.
    before = (tmp_path / "t.npz").read_bytes()
    code, _, err = _run(capsys, "trim", tmp_path / "t.npz", tmp_path / "t.npz", "--frames", "0:5")
    assert code == 2 and "is the input file" in err
    assert (tmp_path / "t.npz").read_bytes() == before
    files = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = _run(capsys, "trim", tmp_path / "t.npz", tmp_path / "x.npz", "--frames", "3:4")
    assert code == 2 and "keep 1 of 26 frames" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == files
    code, _, err = _run(capsys, "resample", tmp_path / "t.npz", tmp_path / "x.npz")
    assert code == 2 and "the following arguments are required: --fps" in err


def test_check_exit_codes_and_json(capsys, tmp_path, data):
    code, out, _ = _run(capsys, "check", data["box"], "--robot", data["g1"], "--json")
    assert code == 0
    assert not [f for f in json.loads(out) if f["severity"] != "info"]
    # 23-DoF ASAP clip on the 29-DoF G1: an error naming the missing wrists, exit 1.
    code, out, _ = _run(capsys, "check", data["asap"], "--robot", data["g1"])
    assert code == 1
    assert "error   dof_names" in out and "missing from the clip: left_wrist_roll_joint" in out
    nan = tmp_path / "nan.npz"
    m = read_motion(data["asap"])
    m.dof_pos[7, 2] = np.nan
    np.savez(nan, fps=30, root_pos=m.root_pos, root_quat_wxyz=m.root_rot, dof_pos=m.dof_pos)
    code, out, _ = _run(capsys, "check", nan, "--robot", data["g1"], "--json")
    (finding,) = json.loads(out)
    assert code == 1 and finding["code"] == "unreadable"
    assert "dof_pos has NaN or infinite values (first at frame 7)" in finding["message"]
    code, _, err = _run(capsys, "check", data["box"])
    assert code == 2 and "the following arguments are required: --robot" in err


def test_render_gif(capsys, tmp_path, data):
    short = tmp_path / "short.npz"
    assert _run(capsys, "trim", data["asap"], short, "--frames", "0:3")[0] == 0
    # The 23-DoF clip cannot be shown on the 29-DoF G1 without its wrists: a clear error.
    code, _, err = _run(capsys, "render", short, "--robot", data["g1"], "-o", tmp_path / "a.gif")
    assert code == 2 and "missing from the motion: left_wrist_roll_joint" in err
    box = tmp_path / "box.npz"
    assert _run(capsys, "trim", data["box"], box, "--frames", "0:3", "--robot", data["g1"])[0] == 0
    out = tmp_path / "box.gif"
    args = ("render", box, "--robot", data["g1"], "-o", out, "--width", "64", "--height", "48")
    assert _run(capsys, *args)[0] == 0
    frames = imageio.mimread(out)
    assert len(frames) == 3 and frames[0].shape[:2] == (48, 64)
    assert np.asarray(frames[0]).std() > 1  # not a blank image
