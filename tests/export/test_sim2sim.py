"""``mjmimic sim2sim``: the ONNX file alone drives a fresh MuJoCo simulation; wrong robots
and bad files are refused in one line."""

from __future__ import annotations

import re

import imageio.v2 as imageio
import onnx
import pytest

from mjmimic.export.sim2sim import Sim2Sim
from mjmimic.paths import ASSETS_DIR

HUMANOID = ASSETS_DIR / "robots" / "humanoid" / "humanoid.xml"


def _report_value(out: str, label: str) -> float:
    match = re.search(rf"^{label}:\s+mean (\S+)", out, re.MULTILINE)
    assert match, out
    return float(match.group(1))


def test_runs_the_trained_policy_and_reports(exported, cli):
    result = cli(["sim2sim", str(exported.policy), "--robot", str(HUMANOID), "--seconds", "1"])
    assert result.code == 0, result.err
    assert result.err == ""
    assert "reference:           humanoid_squat" in result.out
    assert "simulated:           1.00 s (30 control steps)" in result.out
    assert re.search(r"^falls:\s+\d+", result.out, re.MULTILINE)
    # A 4-iteration policy tracks roughly; far off would mean a broken observation.
    assert 0.0 < _report_value(result.out, "root position err") < 0.3
    assert 0.0 < _report_value(result.out, "joint rotation err") < 1.0


def test_robot_profile_name_finds_the_same_mjcf(exported, cli):
    result = cli(["sim2sim", str(exported.policy), "--robot", "humanoid", "--seconds", "0.2"])
    assert result.code == 0, result.err
    assert f"on {HUMANOID}" in result.out.splitlines()[0]
    result = cli(["sim2sim", str(exported.policy), "--robot", "no_such_robot"])
    assert result.code == 2 and "no_such_robot" in result.err and "g1" in result.err


def test_falls_are_detected(exported):
    sim = Sim2Sim(exported.policy, HUMANOID)
    sim.reset(0.0)
    assert not sim.step(sim.act(sim.observe()))
    sim.reset(0.0)
    sim.data.qpos[2] = 0.3  # pelvis near the floor: torso and hands hit it
    assert sim.step(sim.act(sim.observe()))
    report = sim.run(0.2)
    assert report.fall_times == [] and len(report.root_pos_err) == 6


def test_robot_with_other_joint_names_is_refused(exported, cli, one_line_error, tmp_path):
    text = HUMANOID.read_text()
    robot = tmp_path / "renamed.xml"
    robot.write_text(text.replace('"right_knee"', '"r_knee"').replace('"neck_z"', '"neck_yaw"'))
    result = cli(["sim2sim", str(exported.policy), "--robot", str(robot)])
    one_line_error(
        result,
        "robot does not match the policy",
        "missing from the robot: neck_z, right_knee",
        "does not know: neck_yaw, r_knee",
    )


def test_motion_file_can_replace_the_embedded_clip(exported, cli):
    step_clip = ASSETS_DIR / "motions" / "humanoid_step.npz"
    base = ["sim2sim", str(exported.policy), "--robot", str(HUMANOID)]
    result = cli([*base, "--motion", str(step_clip), "--seconds", "0.2"])
    assert result.code == 0, result.err
    assert "reference:           humanoid_step" in result.out


def test_video(exported, cli, tmp_path):
    video = tmp_path / "sim2sim.gif"
    base = ["sim2sim", str(exported.policy), "--robot", str(HUMANOID)]
    result = cli([*base, "--seconds", "0.2", "--video", str(video)])
    assert result.code == 0, result.err
    frames = imageio.mimread(video)
    assert len(frames) == 6 and frames[0].shape[:2] == (480, 640)
    assert frames[0].std() > 5  # not a blank image


@pytest.fixture
def plain_onnx(tmp_path):
    """A valid ONNX model without mjmimic metadata."""
    path = tmp_path / "plain.onnx"
    x, y = (onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, [1, 3]) for n in "xy")
    graph = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    model = onnx.helper.make_model(graph)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("command", ["sim2sim", "describe"])
def test_bad_policy_files(command, cli, one_line_error, tmp_path, plain_onnx):
    text_file = tmp_path / "notes.onnx"
    text_file.write_text("this is not a model\n" * 20)
    cases = [
        (tmp_path / "missing.onnx", "file not found"),
        (text_file, "not an ONNX model file"),
        (plain_onnx, "no mjmimic metadata in this ONNX model"),
    ]
    for path, message in cases:
        argv = (
            ["sim2sim", str(path), "--robot", str(HUMANOID)]
            if command == "sim2sim"
            else ["export", "--describe", str(path)]
        )
        one_line_error(cli(argv), str(path), message)


def test_bad_export_inputs(cli, one_line_error, tmp_path, exported):
    out = tmp_path / "p.onnx"
    one_line_error(cli(["export", str(tmp_path / "nope"), "-o", str(out)]), "no such run")
    one_line_error(cli(["export", str(tmp_path), "-o", str(out)]), "no model.pt")
    one_line_error(cli(["export", str(exported.run_dir)]), "-o FILE.onnx required")
    one_line_error(cli(["export", str(exported.run_dir), "-o", str(tmp_path)]), "cannot write")
    assert not out.exists()


def test_bad_sim2sim_flags(exported, cli, one_line_error, tmp_path):
    base = ["sim2sim", str(exported.policy), "--robot", str(HUMANOID)]
    one_line_error(cli([*base, "--motion", "dance"]), "neither an embedded clip")
    one_line_error(cli([*base, "--video", str(tmp_path / "v.avi")]), ".mp4 or .gif")
    one_line_error(cli([*base, "--seconds", "0"]), "--seconds must be positive")
    one_line_error(cli([*base, "--episodes", "2", "--seed", "-1"]), "--seed")
    one_line_error(cli(["sim2sim", str(exported.policy)]), "--robot")
    missing_robot = tmp_path / "robot.xml"
    one_line_error(cli(["sim2sim", str(exported.policy), "--robot", str(missing_robot)]))
