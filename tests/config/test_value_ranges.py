"""Bad values are refused where they are read, in one line naming the flag or key, the
value and the allowed range: flags, config keys, engine and robot-profile YAML, MJCF
numbers, BVH channels, motion arrays of the wrong kind, and the motion CLI's options."""

from __future__ import annotations

import json
import pickle
import re
from dataclasses import dataclass, field

import numpy as np
import pytest

from mjmimic.cli.main import main
from mjmimic.config import (
    AT_LEAST_ONE,
    NON_NEGATIVE,
    POSITIVE,
    PROBABILITY,
    ArgFlag,
    ArgSpec,
    Bounds,
    load_config,
    load_yaml,
    resolve_args,
)
from mjmimic.engines.config import EngineConfig
from mjmimic.errors import AssetError, ConfigError, MotionError
from mjmimic.motion.formats import read_motion
from mjmimic.motion.formats.bvh import read_bvh
from mjmimic.paths import ASSETS_DIR, REPO_DIR
from mjmimic.robots.model import RobotModel, load_mjcf
from mjmimic.robots.profiles import PROFILES_DIR, load_profile

HUMANOID_XML = ASSETS_DIR / "robots" / "humanoid" / "humanoid.xml"
SQUAT = ASSETS_DIR / "motions" / "humanoid_squat.npz"


def _one_line(exc: pytest.ExceptionInfo[Exception], *needles: str) -> str:
    message = str(exc.value)
    assert "\n" not in message, message
    for needle in needles:
        assert needle in message, f"{needle!r} not in: {message}"
    return message


# ---------------------------------------------------------------------------------------
# Bounds


@pytest.mark.parametrize(
    ("bounds", "inside", "outside", "text"),
    [
        (AT_LEAST_ONE, [1, 2, 10**30], [0, -1, 0.5, float("nan")], ">= 1"),
        (POSITIVE, [1e-9, 3.0], [0, -1e-9, float("nan")], "> 0"),
        (NON_NEGATIVE, [0, 0.0, 5], [-1e-12, float("nan")], ">= 0"),
        (PROBABILITY, [0, 0.5, 1], [-0.1, 1.01, float("nan")], "in [0, 1]"),
        (Bounds(0, 1, high_open=True), [0, 0.99], [1, 2], "in [0, 1)"),
        (Bounds(high=5), [-3, 5], [6], "<= 5"),
    ],
)
def test_bounds(bounds, inside, outside, text):
    assert str(bounds) == text
    assert all(bounds.contains(v) for v in inside)
    assert not any(bounds.contains(v) for v in outside)


# ---------------------------------------------------------------------------------------
# Flags

SPEC = ArgSpec(
    [
        ArgFlag("num_envs", int, 64, bounds=AT_LEAST_ONE, help="parallel environments"),
        ArgFlag("max_time", float, bounds=POSITIVE, help="minutes"),
        ArgFlag("share", list[float], [0.5], bounds=PROBABILITY, help="shares"),
        ArgFlag("offset", float, help="any finite number"),
    ],
    prog="mjmimic run",
)


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["--num_envs", "0"], ["--num_envs", "'0'", "must be >= 1"]),
        (["--num_envs", "-5"], ["--num_envs", "'-5'", "must be >= 1"]),
        (["--max_time", "nan"], ["--max_time", "'nan'", "finite", "> 0"]),
        (["--max_time", "0"], ["--max_time", "'0'", "must be > 0"]),
        (["--share", "0.5", "1.5"], ["--share", "'1.5'", "must be in [0, 1]"]),
        (["--offset", "inf"], ["--offset", "'inf'", "must be a finite number"]),
        (["--offset", "-nan"], ["--offset", "finite"]),
    ],
)
def test_flag_out_of_range(argv, needles):
    with pytest.raises(ConfigError) as info:
        resolve_args(argv, SPEC)
    _one_line(info, "command line:", *needles)


def test_flag_range_in_arg_file_names_the_line(tmp_path):
    arg_file = tmp_path / "args.txt"
    arg_file.write_text("# settings\n--num_envs 0\n")
    with pytest.raises(ConfigError) as info:
        resolve_args(["--arg_file", str(arg_file)], SPEC)
    _one_line(info, f"{arg_file}:2", "--num_envs", "'0'", ">= 1")


def test_flag_in_range_and_help():
    args = resolve_args(["--num_envs", "1", "--max_time", "0.5", "--offset", "-3"], SPEC)
    assert (args.num_envs, args.max_time, args.offset) == (1, 0.5, -3.0)
    assert "(>= 1; default: 64)" in SPEC.format_help()


def test_bounds_on_a_text_flag_is_a_spec_mistake():
    with pytest.raises(TypeError, match="bounds need an int or float flag"):
        ArgFlag("name", str, bounds=AT_LEAST_ONE)


# ---------------------------------------------------------------------------------------
# Config keys


@dataclass
class _Section:
    rate: float = field(default=1.0, metadata={"help": "Hz", "bounds": POSITIVE})
    count: int = field(default=1, metadata={"help": "n", "bounds": AT_LEAST_ONE})
    shares: list[float] = field(default_factory=list, metadata={"bounds": PROBABILITY})
    offset: float = 0.0
    gains: dict[str, float] = field(default_factory=dict)


@pytest.mark.parametrize(
    ("yaml_text", "needles"),
    [
        ("count: 0\n", ["x.yaml:1", "count = 0", "out of range", ">= 1"]),
        ("rate: .nan\n", ["x.yaml:1", "rate = nan", "finite"]),
        ("rate: -2\n", ["rate = -2.0", "> 0"]),
        ("shares: [0.2, 3]\n", ["x.yaml:1", "shares", "in [0, 1]"]),
        ("offset: .inf\n", ["offset = inf", "finite number"]),
        ("gains: {knee: .nan}\n", ["gains.knee = nan", "finite number"]),
        # A count past float's range and one past Python's int-conversion digit limit.
        (f"offset: {10**400}\n", ["offset", "finite number"]),
        (f"count: '{'9' * 5000}'\n", ["count", "is not an int"]),
        ("count: '²'\n", ["count", "is not an int"]),
    ],
)
def test_config_key_out_of_range(tmp_path, yaml_text, needles):
    path = tmp_path / "x.yaml"
    path.write_text(yaml_text)
    data, origins = load_yaml(path)
    with pytest.raises(ConfigError) as info:
        load_config(_Section, data, str(path), origins)
    _one_line(info, *needles)


def test_config_keys_in_range(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("rate: 2e-4\ncount: 3\nshares: [0, 1]\noffset: -1.5\n")
    data, origins = load_yaml(path)
    cfg = load_config(_Section, data, str(path), origins)
    assert (cfg.rate, cfg.count, cfg.shares, cfg.offset) == (2e-4, 3, [0, 1], -1.5)


@pytest.mark.parametrize(
    ("line", "needles"),
    [
        ("iterations: 0", ["iterations = 0", "engine.iterations", ">= 1"]),
        ("ls_iterations: -3", ["engine.ls_iterations = -3", ">= 1"]),
        ("control_freq: 0", ["engine.control_freq = 0", ">= 1"]),
        ("floor_friction: .nan", ["engine.floor_friction = nan", "finite"]),
        ("num_threads: 0", ["engine.num_threads = 0", ">= 1"]),
        ("joint_gains: {'*knee': {kp: -5}}", ["engine.joint_gains.*knee.kp = -5.0", ">= 0"]),
        ("joint_gains: {'*knee': {kd: .nan}}", ["kd = nan", "finite"]),
        ("joint_gains: {'*knee': {effort: 0}}", ["effort = 0.0", "> 0"]),
    ],
)
def test_engine_yaml_out_of_range(tmp_path, line, needles):
    text = (REPO_DIR / "configs/engines/mujoco_cpu.yaml").read_text()
    key = line.split(":")[0]
    text = re.sub(rf"^{key}:.*$", "", text, flags=re.M) + line + "\n"
    path = tmp_path / "engine.yaml"
    path.write_text(text)
    data, origins = load_yaml(path)
    with pytest.raises(ConfigError) as info:
        load_config(EngineConfig, data, str(path), origins, section="engine")
    _one_line(info, f"{path}:", *needles)


@pytest.mark.parametrize(
    ("old", "new", "needles"),
    [
        ("kp: 800,", "kp: -800,", ["joints.abdomen_x.kp = -800.0", ">= 0"]),
        ("kd: 80,", "kd: .nan,", ["joints.abdomen_x.kd = nan", "finite"]),
        ("effort: 200,", "effort: 0,", ["joints.abdomen_x.effort = 0.0", "> 0"]),
        ("init_root_height: 0.889", "init_root_height: -0.889", ["init_root_height", "> 0"]),
    ],
)
def test_robot_profile_gains_out_of_range(tmp_path, old, new, needles):
    text = (PROFILES_DIR / "humanoid.yaml").read_text()
    assert old in text
    path = tmp_path / "humanoid.yaml"
    path.write_text(text.replace(old, new, 1))  # the first joint only
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    _one_line(info, f"{path}:", *needles)


# ---------------------------------------------------------------------------------------
# MJCF, BVH and motion arrays


@pytest.mark.parametrize(
    ("pattern", "needles"),
    [
        (r'(<body[^>]*pos=")([^ "]+)', ["body 'pelvis'", "NaN or infinite pos"]),
        (r'(<joint[^>]*range=")([^ "]+)', ["joint 'abdomen_x'", "range", "nan"]),
        (r'(<joint[^>]*axis=")([^ "]+)', ["joint", "axis"]),
    ],
)
def test_mjcf_with_nan_is_refused(tmp_path, pattern, needles):
    xml, count = re.subn(pattern, r"\1nan", HUMANOID_XML.read_text(), count=1)
    assert count == 1
    path = tmp_path / "robot.xml"
    path.write_text(xml)
    with pytest.raises(AssetError) as info:
        load_mjcf(path)
    _one_line(info, str(path), "finite numbers", *needles)


BVH = """HIERARCHY
ROOT Hips
{{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
}}
MOTION
Frames: 2
Frame Time: {dt}
0 0.9 0 0 0 0
0 0.9 0 {value} 0 0
"""


@pytest.mark.parametrize(
    ("dt", "value", "needles"),
    [
        ("0.0333", "nan", ["channel values", "NaN or infinite"]),
        ("0.0333", "inf", ["channel values", "NaN or infinite"]),
        ("nan", "0", ["Frame Time", "nan"]),
        ("1e-320", "0", ["Frame Time"]),
    ],
)
def test_bvh_with_nan_is_refused(tmp_path, dt, value, needles):
    path = tmp_path / "clip.bvh"
    path.write_text(BVH.format(dt=dt, value=value))
    with pytest.raises(MotionError) as info:
        read_bvh(path)
    _one_line(info, "clip.bvh", *needles)


def test_bvh_negative_channel_count_does_not_hang(tmp_path):
    path = tmp_path / "clip.bvh"
    path.write_text(BVH.format(dt="0.03", value="0").replace("CHANNELS 6", "CHANNELS -2"))
    with pytest.raises(MotionError) as info:
        read_bvh(path)
    _one_line(info, "CHANNELS -2", "0 to 6")


@pytest.fixture(scope="module")
def humanoid() -> RobotModel:
    return RobotModel.from_file(HUMANOID_XML)


def _squat_arrays() -> dict[str, np.ndarray]:
    with np.load(SQUAT) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.parametrize(
    ("dtype", "word"), [(np.complex128, "complex numbers"), (np.bool_, "true/false")]
)
@pytest.mark.parametrize("key", ["dof_pos", "root_pos"])
def test_npz_complex_or_bool_arrays_are_refused(tmp_path, dtype, word, key):
    arrays = _squat_arrays()
    arrays[key] = arrays[key].astype(dtype)
    path = tmp_path / "clip.npz"
    np.savez(path, **arrays)
    with pytest.raises(MotionError) as info:
        read_motion(path)
    _one_line(info, "clip.npz", key, word, "floats")


@pytest.mark.parametrize("value", [1 + 2j, True, "30"])
def test_mimickit_pkl_wrong_kind_of_fps_or_frames(tmp_path, humanoid, value):
    frames = np.zeros((3, 6 + humanoid.num_dofs))
    frames[:, 3] = 0.1
    path = tmp_path / "clip.pkl"
    path.write_bytes(pickle.dumps({"loop_mode": 1, "fps": value, "frames": frames}))
    with pytest.raises(MotionError) as info:
        read_motion(path, humanoid)
    _one_line(info, "clip.pkl", "fps")
    path.write_bytes(pickle.dumps({"loop_mode": 1, "fps": 30, "frames": frames.astype(complex)}))
    with pytest.raises(MotionError) as info:
        read_motion(path, humanoid)
    _one_line(info, "frames", "complex numbers")


@pytest.mark.parametrize("loop_mode", [float("inf"), float("nan"), [1]])
def test_mimickit_pkl_bad_loop_mode(tmp_path, humanoid, loop_mode):
    frames = np.zeros((3, 6 + humanoid.num_dofs))
    path = tmp_path / "clip.pkl"
    path.write_bytes(pickle.dumps({"loop_mode": loop_mode, "fps": 30, "frames": frames}))
    with pytest.raises(MotionError) as info:
        read_motion(path, humanoid)
    _one_line(info, "loop_mode must be 0 (clamp) or 1 (wrap)")


def test_deepmimic_uneven_dt_is_refused_not_resampled_forever(tmp_path, humanoid):
    from mjmimic.motion.formats.deepmimic_txt import POSE_SIZE

    pose = [0.0, 0.9, 0.0, 1.0, 0.0, 0.0, 0.0] + [0.0] * (POSE_SIZE - 7)
    frames = [[0.03, *pose], [1e6, *pose], [0.03, *pose], [0.03, *pose]]
    path = tmp_path / "clip.txt"
    path.write_text(json.dumps({"Loop": "wrap", "Frames": frames}))
    with pytest.raises(MotionError) as info:
        read_motion(path, humanoid)
    _one_line(info, "clip.txt", "too uneven")


# ---------------------------------------------------------------------------------------
# The motion CLI's numeric options


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["resample", str(SQUAT), "{out}", "--fps", "nan"], ["--fps", "'nan'", "finite"]),
        (["resample", str(SQUAT), "{out}", "--fps", "0"], ["--fps", "'0'", "in (0, 1000]"]),
        (["resample", str(SQUAT), "{out}", "--fps", "1e9"], ["--fps", "in (0, 1000]"]),
        (["info", str(SQUAT), "--in-fps", "-1"], ["--in-fps", "'-1'"]),
        (["trim", str(SQUAT), "{out}", "--time", "nan:1"], ["--time", "finite"]),
        (
            ["retarget", str(SQUAT), "--robot", "g1", "-o", "{out}", "--fps", "nan"],
            ["--fps", "'nan'", "finite"],
        ),
        (
            ["render", str(SQUAT), "--robot", "humanoid", "-o", "x.mp4", "--width", "0"],
            ["--width", "'0'", ">= 1"],
        ),
    ],
)
def test_motion_cli_numbers_out_of_range(tmp_path, capsys, argv, needles):
    out = tmp_path / "out.npz"
    code = main(["motion", *(a.format(out=out) for a in argv)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("mjmimic: error: "), err
    assert all(n in err for n in needles), err
    assert not out.exists()
