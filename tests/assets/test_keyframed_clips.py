"""Keyframed humanoid clips: grounded, inside joint limits, looping, planted and up to date."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mujoco
import numpy as np
import pytest

from mjmimic.errors import MotionError
from mjmimic.motion.keyframes import build_keyframed_clip, foot_geoms, lowest_point
from mjmimic.paths import ASSETS_DIR

HUMANOID = ASSETS_DIR / "robots" / "humanoid" / "humanoid.xml"
SPECS = ASSETS_DIR / "motions" / "keyframes"
CLIP_NAMES = ("humanoid_squat", "humanoid_step")


@pytest.fixture(scope="module")
def model() -> mujoco.MjModel:
    return mujoco.MjModel.from_xml_path(str(HUMANOID))


@pytest.fixture(scope="module")
def clips() -> dict[str, dict[str, Any]]:
    return {name: build_keyframed_clip(SPECS / f"{name}.yaml", HUMANOID) for name in CLIP_NAMES}


def _frames(model: mujoco.MjModel, clip: dict[str, Any]) -> Iterator[mujoco.MjData]:
    """Forward kinematics of every frame (positions only, no contacts)."""
    data = mujoco.MjData(model)
    for pos, rot, dof in zip(clip["root_pos"], clip["root_rot"], clip["dof_pos"], strict=True):
        data.qpos[:] = np.concatenate([pos, rot, dof])
        mujoco.mj_kinematics(model, data)
        yield data


def _write_spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


GOOD_SPEC = """\
fps: 10
loop_mode: clamp
duration: 1.0
keyframes:
  - {time: 0.0, joints: {}}
  - {time: 0.5, joints: {right_knee: 0.8, left_elbow: -0.4}}
"""


def test_layout_and_types(model: mujoco.MjModel, clips: dict[str, dict[str, Any]]) -> None:
    hinges = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j) for j in range(1, 29)]
    for name, clip in clips.items():
        n = len(clip["dof_pos"])
        assert clip["fps"] == 30.0 and clip["loop_mode"] == "wrap", name
        assert clip["joint_names"] == hinges, name
        assert clip["root_pos"].shape == (n, 3) and clip["root_rot"].shape == (n, 4), name
        assert clip["dof_pos"].shape == (n, 28), name
        assert all(clip[k].dtype == np.float32 for k in ("root_pos", "root_rot", "dof_pos"))
        np.testing.assert_array_equal(clip["root_rot"], np.tile([1, 0, 0, 0], (n, 1)))
        np.testing.assert_array_equal(clip["root_pos"][:, :2], 0.0)
    # duration * fps + 1 frames: 2.0 s and 1.2 s at 30 fps.
    assert len(clips["humanoid_squat"]["dof_pos"]) == 61
    assert len(clips["humanoid_step"]["dof_pos"]) == 37


def test_wrap_clips_close_the_period(clips: dict[str, dict[str, Any]]) -> None:
    for name, clip in clips.items():
        for key in ("root_pos", "root_rot", "dof_pos"):
            np.testing.assert_array_equal(clip[key][0], clip[key][-1], err_msg=f"{name} {key}")


def test_joint_angles_within_limits(
    model: mujoco.MjModel, clips: dict[str, dict[str, Any]]
) -> None:
    low, high = model.jnt_range[1:].T
    for name, clip in clips.items():
        assert np.all(clip["dof_pos"] >= low - 1e-6), name
        assert np.all(clip["dof_pos"] <= high + 1e-6), name
        assert np.ptp(clip["dof_pos"], axis=0).max() > 0.5, name  # the clip really moves


def test_lowest_foot_point_on_the_floor_every_frame(
    model: mujoco.MjModel, clips: dict[str, dict[str, Any]]
) -> None:
    feet = foot_geoms(model)
    for name, clip in clips.items():
        lows = [lowest_point(model, d, feet) for d in _frames(model, clip)]
        assert np.max(np.abs(lows)) < 0.01, name


def test_feet_stay_planted_while_on_the_floor(
    model: mujoco.MjModel, clips: dict[str, dict[str, Any]]
) -> None:
    """A foot touching the floor does not slide, a lifted foot clears it."""
    feet = foot_geoms(model)
    for name, clip in clips.items():
        lifted = dict.fromkeys(feet, 0.0)
        grounded: dict[int, list[np.ndarray]] = {g: [] for g in feet}
        for data in _frames(model, clip):
            for g in feet:
                low = lowest_point(model, data, [g])
                lifted[g] = max(lifted[g], low)
                if low < 0.005:
                    grounded[g].append(data.geom_xpos[g, :2].copy())
        for g in feet:
            xy = np.array(grounded[g])
            assert len(xy) > 0, name
            assert np.ptp(xy, axis=0).max() < 0.01, f"{name}: foot geom {g} slides"
        if name == "humanoid_step":
            assert min(lifted.values()) > 0.15  # each foot is lifted in turn


def test_squat_keeps_the_centre_of_mass_over_the_feet(
    model: mujoco.MjModel, clips: dict[str, dict[str, Any]]
) -> None:
    clip = clips["humanoid_squat"]
    assert np.ptp(clip["root_pos"][:, 2]) > 0.1  # it does squat
    foot = model.geom("right_foot").id
    for data in _frames(model, clip):
        mujoco.mj_comPos(model, data)
        heel = data.geom_xpos[foot, 0] - model.geom_size[foot, 0]
        toe = data.geom_xpos[foot, 0] + model.geom_size[foot, 0]
        assert heel + 0.02 < data.subtree_com[1, 0] < toe - 0.02


def test_no_self_collision(model: mujoco.MjModel, clips: dict[str, dict[str, Any]]) -> None:
    for name, clip in clips.items():
        for f, data in enumerate(_frames(model, clip)):
            mujoco.mj_collision(model, data)
            assert data.ncon == 0, f"{name} frame {f}"


def test_bundled_npz_files_are_up_to_date(clips: dict[str, dict[str, Any]]) -> None:
    for name, clip in clips.items():
        with np.load(ASSETS_DIR / "motions" / f"{name}.npz") as saved:
            assert str(saved["format"]) == "mjmimic.motion" and int(saved["format_version"]) == 1
            assert float(saved["fps"]) == clip["fps"]
            assert str(saved["loop_mode"]) == clip["loop_mode"]
            assert saved["joint_names"].tolist() == clip["joint_names"]
            for key in ("root_pos", "root_rot", "dof_pos"):
                np.testing.assert_array_equal(saved[key], clip[key], err_msg=f"{name} {key}")


def test_clamp_holds_the_last_key_and_eases(tmp_path: Path) -> None:
    clip = build_keyframed_clip(_write_spec(tmp_path, GOOD_SPEC), HUMANOID)
    knee = clip["joint_names"].index("right_knee")
    q = clip["dof_pos"][:, knee]
    assert clip["loop_mode"] == "clamp" and len(q) == 11
    np.testing.assert_allclose(q[5:], 0.8, atol=1e-6)
    # Cosine easing: it leaves a key slowly (a linear blend would be at 0.16 after 0.1 s),
    # is symmetric about the middle of the segment and never overshoots the next key.
    assert q[0] == 0.0 and q[1] < 0.8 * 0.2
    np.testing.assert_allclose(q[1] + q[4], 0.8, atol=1e-6)
    assert np.all(np.diff(q[:6]) > 0)
    # Once the bent knee has lifted that foot, the other one holds the standing height.
    np.testing.assert_allclose(clip["root_pos"][5:, 2], clip["root_pos"][0, 2], atol=1e-6)


def test_keep_feet_off_holds_the_first_frame_height(tmp_path: Path) -> None:
    spec = GOOD_SPEC.replace("right_knee: 0.8", "right_knee: 0.8, left_knee: 0.8")
    grounded = build_keyframed_clip(_write_spec(tmp_path, spec), HUMANOID)
    assert grounded["root_pos"][-1, 2] < grounded["root_pos"][0, 2] - 0.03  # crouched
    free = build_keyframed_clip(
        _write_spec(tmp_path, spec + "keep_feet_on_floor: false\n"), HUMANOID
    )
    np.testing.assert_array_equal(free["root_pos"][:, 2], grounded["root_pos"][0, 2])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("fps: 10", "fps: 10\nspeed: 2"), "unknown key 'speed'"),
        (("{time: 0.5,", "{time: 0.5, ease: cubic,"), "unknown key 'ease'"),
        (("right_knee:", "right_kne:"), "unknown joint 'right_kne'"),
        (("right_knee: 0.8", "right_knee: -0.8"), "outside its range"),
        (("loop_mode: clamp", "loop_mode: pingpong"), "loop_mode 'pingpong'"),
        (("duration: 1.0", "duration: 1.05"), "whole number of frames"),
        (("time: 0.5", "time: 1.5"), "must be at or before duration"),
        (("fps: 10\n", ""), "missing required key 'fps'"),
    ],
)
def test_bad_spec_raises_motion_error(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = _write_spec(tmp_path, GOOD_SPEC.replace(*change))
    with pytest.raises(MotionError, match=message) as info:
        build_keyframed_clip(path, HUMANOID)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
