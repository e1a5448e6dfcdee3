from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mjmimic.cli.main import main
from mjmimic.errors import MotionError
from mjmimic.motion.check import check_motion
from mjmimic.motion.formats import read_motion
from mjmimic.motion.skeleton import SkeletonMotion
from mjmimic.retarget.retarget import retarget
from mjmimic.retarget.source import HumanKeypoints, from_skeleton, load_source
from mjmimic.robots.profiles import resolve_robot


def _segment(src: HumanKeypoints, frames: int, start: int = 0) -> HumanKeypoints:
    stop = start + frames
    return replace(src, pos=src.pos[start:stop], rot=src.rot[start:stop])


@pytest.fixture(scope="module")
def human():
    return resolve_robot("humanoid")


def test_humanoid_onto_itself_reproduces_the_clip(human, shared_data: Path) -> None:
    path = shared_data / "motions/deepmimic/humanoid3d_walk.txt"
    src = _segment(load_source(path, *human), 30)  # 1 s at 30 fps
    motion, report = retarget(src, *human)
    assert report.scale == pytest.approx(1.0)
    assert report.keypoint_error_cm < 1.0
    ref = read_motion(path, human[1]).align_to_robot(human[1], path.name)
    assert np.median(np.abs(motion.dof_pos - ref.dof_pos[:30])) < 0.02


@pytest.mark.parametrize(
    ("clip", "robot"),
    [("deepmimic/humanoid3d_walk.txt", "k1"), ("deepmimic/humanoid3d_run.txt", "t1")],
)
def test_deepmimic_to_robot(human, shared_data: Path, clip: str, robot: str) -> None:
    profile, model = resolve_robot(robot)
    src = _segment(load_source(shared_data / "motions" / clip, *human), 50)
    motion, report = retarget(src, profile, model)
    assert motion.joint_names == model.dof_names
    assert report.limit_violations == 0
    assert report.penetration_cm < 1.0
    assert report.keypoint_error_cm < 8.0
    assert 0.0 < report.stance_fraction < 1.0
    assert report.skate_cm_s < 15.0
    assert not [f for f in check_motion(motion, model) if f.severity != "info"]


def test_bvh_to_g1(shared_data: Path) -> None:
    from mjmimic.motion.formats.bvh import read_bvh

    skel = read_bvh(shared_data / "motions/cmu_bvh/scaled_131_01.bvh")
    src = _segment(from_skeleton(skel, "walk"), 240, start=600)  # 2 s of walking
    profile, model = resolve_robot("g1")
    motion, report = retarget(src, profile, model)
    assert motion.fps == pytest.approx(30.0) and motion.num_frames == 60
    assert report.limit_violations == 0 and report.penetration_cm < 1.0
    assert report.keypoint_error_cm < 8.0
    # The walker moves forward, and the robot with it (scaled).
    assert np.linalg.norm(motion.root_pos[-1, :2] - motion.root_pos[0, :2]) > 0.5


def test_bvh_without_leg_joints_names_them() -> None:
    skel = SkeletonMotion(
        30.0,
        ["Hips", "Spine"],
        [-1, 0],
        np.zeros((2, 3)),
        np.tile([1.0, 0, 0, 0], (2, 2, 1)),
        np.zeros((2, 3)),
    )
    with pytest.raises(MotionError, match=r"no BVH joint found for keypoint.*left_foot"):
        from_skeleton(skel, "x")


def test_cli_retarget_then_check(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clip = tmp_path / "jump.npz"
    src = shared_data / "motions/deepmimic/humanoid3d_jump.txt"
    assert (
        main(
            [
                "motion",
                "trim",
                str(src),
                str(clip),
                "--frames",
                "0:40",
                "--robot",
                str(resolve_robot("humanoid")[1].source),
            ]
        )
        == 0
    )
    out = tmp_path / "jump_k1.npz"
    assert main(["motion", "retarget", str(clip), "--robot", "k1", "-o", str(out)]) == 0
    assert "limit violations 0" in capsys.readouterr().out
    assert main(["motion", "check", str(out), "--robot", "k1"]) == 0
    assert main(["motion", "retarget", str(clip), "--robot", "nao", "-o", str(out)]) == 2
    assert "unknown robot 'nao'" in capsys.readouterr().err


def test_side_by_side_preview(human, tmp_path: Path, shared_data: Path) -> None:
    import imageio.v2 as imageio

    from mjmimic.motion.edit import trim_frames
    from mjmimic.render.video import write_side_by_side_video

    path = shared_data / "motions/deepmimic/humanoid3d_walk.txt"
    original = trim_frames(read_motion(path, human[1]).align_to_robot(human[1], "walk"), 0, 6)
    profile, robot = resolve_robot("g1")
    src = _segment(load_source(path, *human), 6)
    motion, _ = retarget(src, profile, robot)
    out = write_side_by_side_video(
        (original, human[1]), (motion, robot), tmp_path / "p.gif", 64, 48
    )
    frames = imageio.mimread(out)
    assert len(frames) == 6 and frames[0].shape[:2] == (48, 128)
    left, right = frames[3][..., :3][:, :64], frames[3][..., :3][:, 64:]
    assert not np.array_equal(left, right)  # two different robots
