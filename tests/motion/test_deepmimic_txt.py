"""DeepMimic humanoid3d clips imported onto z-up humanoids built like DeepMimic's.

Geometry checks run MuJoCo's own kinematics on the imported poses: feet on the floor and
the head at standing height only come out if axes, signs and joint decomposition agree.
"""

from __future__ import annotations

import json

import mujoco
import numpy as np
import pytest

from mjmimic.errors import MotionError
from mjmimic.motion.formats import read_motion
from mjmimic.motion.formats.deepmimic_txt import import_deepmimic_txt
from mjmimic.paths import ASSETS_DIR
from mjmimic.robots.model import RobotModel

OUR_HUMANOID = ASSETS_DIR / "robots/humanoid/humanoid.xml"


@pytest.fixture(scope="module", params=["ours", "amp"])
def humanoid(request, shared_data) -> RobotModel:
    """mjmimic's humanoid, and the AMP humanoid (same bones and joint names)."""
    if request.param == "ours":
        if not OUR_HUMANOID.is_file():
            pytest.skip(f"{OUR_HUMANOID} is not there yet")
        return RobotModel.from_file(OUR_HUMANOID)
    return RobotModel.from_file(shared_data / "robots/amp_humanoid/amp_humanoid_standalone.xml")


def _clip(shared_data, name: str):
    return shared_data / f"motions/deepmimic/humanoid3d_{name}.txt"


def _lowest_point(model: mujoco.MjModel, data: mujoco.MjData, geom: int) -> float:
    c, rot, size = data.geom_xpos[geom], data.geom_xmat[geom].reshape(3, 3), model.geom_size[geom]
    kind = model.geom_type[geom]
    if kind == mujoco.mjtGeom.mjGEOM_SPHERE:
        return c[2] - size[0]
    if kind == mujoco.mjtGeom.mjGEOM_CAPSULE:
        return c[2] - abs(rot[2, 2]) * size[1] - size[0]
    center, half = model.geom_aabb[geom, :3], model.geom_aabb[geom, 3:]  # box: exact
    return c[2] + rot[2] @ center - np.abs(rot[2]) @ half


def _trace(robot: RobotModel, motion):
    """Per frame: lowest point of the foot geoms and highest head geom centre (m)."""
    model = robot.mj_model
    data = mujoco.MjData(model)
    feet = {robot.body_index("right_foot") + 1, robot.body_index("left_foot") + 1}
    head = robot.body_index("head") + 1
    foot_geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] in feet]
    head_geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] == head]
    assert foot_geoms and head_geoms
    aligned = motion.align_to_robot(robot, motion.name)
    low, top = [], []
    for i in range(motion.num_frames):
        data.qpos[:3] = aligned.root_pos[i]
        data.qpos[3:7] = aligned.root_rot[i]
        data.qpos[7:] = aligned.dof_pos[i]
        mujoco.mj_kinematics(model, data)
        low.append(min(_lowest_point(model, data, g) for g in foot_geoms))
        top.append(max(data.geom_xpos[g][2] for g in head_geoms))
    return np.array(low), np.array(top)


def test_walk_stands_on_the_floor(humanoid, shared_data):
    m = read_motion(_clip(shared_data, "walk"), humanoid)
    assert m.fps == 30.0 and m.num_frames == 39 and m.loop_mode == "wrap"
    assert m.joint_names == humanoid.dof_names
    np.testing.assert_allclose(m.root_pos[0, :2], 0.0, atol=1e-12)
    assert m.root_pos[-1, 0] > 1.0  # walks forward, along +x
    assert abs(m.root_pos[-1, 1]) < 0.1
    low, head = _trace(humanoid, m)
    assert np.abs(low).max() < 0.05, f"lowest foot point per frame: {low.round(3)}"
    assert head.min() > 1.4 and head.max() < 1.8, f"head height per frame: {head.round(3)}"


def test_walk_knees_and_elbows_bend_the_right_way(humanoid, shared_data):
    m = read_motion(_clip(shared_data, "walk"), humanoid)
    for side in ("right", "left"):
        knee = m.dof_pos[:, m.joint_names.index(f"{side}_knee")]
        elbow = m.dof_pos[:, m.joint_names.index(f"{side}_elbow")]
        assert knee.min() > -0.05 and knee.max() > 0.5  # flexion is +y on our knees
        assert elbow.max() < 0.05 and elbow.min() < -0.1  # and -y on our elbows


def test_no_joint_jumps_and_rotations_are_kept(humanoid, shared_data):
    m = read_motion(_clip(shared_data, "run"), humanoid)
    assert m.fps == 30.0 and m.num_frames == 25
    # The source's biggest frame-to-frame change is ~0.55 rad; no 2*pi or branch jumps.
    assert np.abs(np.diff(m.dof_pos, axis=0)).max() < 1.0
    low, _ = _trace(humanoid, m)
    assert np.median(low) == pytest.approx(0.0, abs=0.03)


@pytest.mark.parametrize(("clip", "frames", "fps"), [("jump", 107, 60.0), ("spin", 107, 24.0)])
def test_other_clips_import(humanoid, shared_data, clip, frames, fps):
    m = import_deepmimic_txt(_clip(shared_data, clip), humanoid)
    assert (m.num_frames, m.fps, m.loop_mode) == (frames, fps, "wrap")
    assert np.isfinite(m.dof_pos).all()


def test_uneven_dt_is_resampled(humanoid, shared_data):
    """roll has one double dt among 1/60 s ones: 121 rows over 2.016 s become 122 frames
    at 60 fps."""
    raw = json.loads(_clip(shared_data, "roll").read_text())["Frames"]
    assert len({round(f[0], 6) for f in raw[:-1]}) == 2
    t_end = sum(f[0] for f in raw[:-1])
    m = import_deepmimic_txt(_clip(shared_data, "roll"), humanoid)
    assert m.fps == 60.0
    assert m.num_frames == len(raw) + 1 == round(t_end * 60) + 1
    assert m.duration == pytest.approx(t_end, abs=0.5 / 60)
    # Root height (DeepMimic y) is linearly interpolated at the new frame times.
    times = np.concatenate([[0.0], np.cumsum([f[0] for f in raw[:-1]])])
    new_times = np.minimum(np.arange(m.num_frames) / 60.0, t_end)
    expected = np.interp(new_times, times, [f[2] for f in raw])
    np.testing.assert_allclose(m.root_pos[:, 2], expected, atol=1e-9)


def test_loop_none_is_clamp(humanoid, shared_data):
    assert import_deepmimic_txt(_clip(shared_data, "kick"), humanoid).loop_mode == "clamp"


def test_t_pose_model_is_refused(shared_data):
    """MimicKit's humanoid has the same joint names but T-pose arms."""
    mimickit = RobotModel.from_file(shared_data / "robots/mimickit_humanoid/humanoid.xml")
    with pytest.raises(MotionError, match=r"rest pose"):
        import_deepmimic_txt(_clip(shared_data, "walk"), mimickit)


def test_missing_robot_joint_is_named(humanoid, shared_data):
    with pytest.raises(MotionError, match=r"has no joint waist \(for DeepMimic chest\)"):
        import_deepmimic_txt(_clip(shared_data, "walk"), humanoid, joint_map={"chest": "waist"})


def test_partial_map_leaves_dofs_to_fill(humanoid, shared_data):
    jmap = {"right_knee": "right_knee", "left_knee": "left_knee"}
    m = import_deepmimic_txt(_clip(shared_data, "walk"), humanoid, joint_map=jmap)
    assert m.joint_names == ["right_knee", "left_knee"]
    fill = {n: 0.0 for n in humanoid.dof_names if n not in m.joint_names}
    assert m.align_to_robot(humanoid, "walk", fill_missing=fill).num_dofs == 28


def test_bad_files(tmp_path, humanoid):
    bad = tmp_path / "bad.txt"
    bad.write_text(json.dumps({"Loop": "wrap", "Frames": [[0.1] * 40, [0.1] * 40]}))
    with pytest.raises(MotionError, match=r"bad.txt: DeepMimic humanoid3d frames have 44"):
        import_deepmimic_txt(bad, humanoid)
    bad.write_text("not json")
    with pytest.raises(MotionError, match=r"bad.txt: not a DeepMimic motion"):
        import_deepmimic_txt(bad, humanoid)
    frame = [0.0, 0.0, 0.9, 0.0, 1.0, 0.0, 0.0, 0.0]  # dt = 0, root, then the joints
    frame += [1.0, 0.0, 0.0, 0.0] * 2 + [1.0, 0, 0, 0, 0.0, 1.0, 0, 0, 0, 1.0, 0, 0, 0, 0.0] * 2
    assert len(frame) == 44
    bad.write_text(json.dumps({"Loop": "wrap", "Frames": [frame, frame]}))
    with pytest.raises(MotionError, match=r"frame 0 has dt = 0.0"):
        import_deepmimic_txt(bad, humanoid)
