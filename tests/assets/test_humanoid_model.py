"""The bundled humanoid MJCF matches the DeepMimic skeleton facts and stands on a floor."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from mjmimic.motion.keyframes import foot_geoms, lowest_point
from mjmimic.paths import ASSETS_DIR
from mjmimic.robots.model import RobotModel

HUMANOID = ASSETS_DIR / "robots" / "humanoid" / "humanoid.xml"

BODY_MASSES = {
    "pelvis": 6.0,
    "torso": 14.0,
    "head": 2.0,
    "right_upper_arm": 1.5,
    "right_lower_arm": 1.0,
    "right_hand": 0.5,
    "left_upper_arm": 1.5,
    "left_lower_arm": 1.0,
    "left_hand": 0.5,
    "right_thigh": 4.5,
    "right_shin": 3.0,
    "right_foot": 1.0,
    "left_thigh": 4.5,
    "left_shin": 3.0,
    "left_foot": 1.0,
}

# DeepMimic attach offsets mapped to z-up with p = (x, -z, y); the root's is not a fact.
BODY_OFFSETS = {
    "torso": (0.0, 0.0, 0.236151),
    "head": (0.0, 0.0, 0.223894),
    "right_upper_arm": (-0.02405, -0.18311, 0.2435),
    "right_lower_arm": (0.0, 0.0, -0.274788),
    "right_hand": (0.0, 0.0, -0.258947),
    "left_upper_arm": (-0.02405, 0.18311, 0.2435),
    "left_lower_arm": (0.0, 0.0, -0.274788),
    "left_hand": (0.0, 0.0, -0.258947),
    "right_thigh": (0.0, -0.084887, 0.0),
    "right_shin": (0.0, 0.0, -0.421546),
    "right_foot": (0.0, 0.0, -0.40987),
    "left_thigh": (0.0, 0.084887, 0.0),
    "left_shin": (0.0, 0.0, -0.421546),
    "left_foot": (0.0, 0.0, -0.40987),
}


def _spherical(prefix: str) -> list[str]:
    return [f"{prefix}_{axis}" for axis in "xyz"]


HINGES = [
    *_spherical("abdomen"),
    *_spherical("neck"),
    *_spherical("right_shoulder"),
    "right_elbow",
    *_spherical("left_shoulder"),
    "left_elbow",
    *_spherical("right_hip"),
    "right_knee",
    *_spherical("right_ankle"),
    *_spherical("left_hip"),
    "left_knee",
    *_spherical("left_ankle"),
]


@pytest.fixture(scope="module")
def model() -> mujoco.MjModel:
    return mujoco.MjModel.from_xml_path(str(HUMANOID))


def _name(model: mujoco.MjModel, obj: mujoco.mjtObj, i: int) -> str:
    return mujoco.mj_id2name(model, obj, i) or ""


def _stand(model: mujoco.MjModel) -> mujoco.MjData:
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("stand").id)
    mujoco.mj_forward(model, data)
    return data


def test_bodies_in_depth_first_order(model: mujoco.MjModel) -> None:
    names = [_name(model, mujoco.mjtObj.mjOBJ_BODY, b) for b in range(1, model.nbody)]
    assert names == list(BODY_MASSES)


def test_joints_are_28_named_hinges_after_a_free_root(model: mujoco.MjModel) -> None:
    assert model.jnt_type[0] == mujoco.mjtJoint.mjJNT_FREE
    assert _name(model, mujoco.mjtObj.mjOBJ_JOINT, 0) == "root"
    names = [_name(model, mujoco.mjtObj.mjOBJ_JOINT, j) for j in range(1, model.njnt)]
    assert names == HINGES
    assert all(model.jnt_type[1:] == mujoco.mjtJoint.mjJNT_HINGE)
    assert model.nq == 7 + 28 and model.nv == 6 + 28
    # The project's robot parser sees the 3-hinge groups as spherical joints.
    robot = RobotModel(model, str(HUMANOID))
    assert robot.num_dofs == 28 and robot.dof_names == HINGES
    kinds = {j.name: j.kind for j in robot.joints}
    assert kinds["right_hip"] == "spherical" and kinds["right_knee"] == "hinge"
    assert kinds["right_hand"] == "fixed"


def test_hinge_axes_limits_and_no_springs(model: mujoco.MjModel) -> None:
    for j in range(1, model.njnt):
        name = _name(model, mujoco.mjtObj.mjOBJ_JOINT, j)
        axis = {"x": (1, 0, 0), "z": (0, 0, 1)}.get(name[-1], (0, 1, 0))
        np.testing.assert_array_equal(model.jnt_axis[j], axis, err_msg=name)
        assert model.jnt_limited[j], name
        assert model.jnt_range[j, 0] < 0 or model.jnt_range[j, 1] > 0, name
        assert model.jnt_stiffness[j] == 0, name
        # 0.05: the stability margin for stiff PD at 120 Hz (see the comment in the MJCF).
        assert model.dof_armature[model.jnt_dofadr[j]] == 0.05, name
    for side in ("right", "left"):
        np.testing.assert_allclose(model.joint(f"{side}_elbow").range, [-2.8, 0.0])
        np.testing.assert_allclose(model.joint(f"{side}_knee").range, [0.0, 2.8])


def test_masses(model: mujoco.MjModel) -> None:
    assert model.body_subtreemass[0] == pytest.approx(45.0, abs=0.01)
    for name, mass in BODY_MASSES.items():
        assert model.body(name).mass[0] == pytest.approx(mass, abs=1e-9), name


def test_bone_offsets(model: mujoco.MjModel) -> None:
    for name, offset in BODY_OFFSETS.items():
        np.testing.assert_allclose(model.body(name).pos, offset, atol=1e-6, err_msg=name)
        np.testing.assert_array_equal(model.body(name).quat, [1, 0, 0, 0], err_msg=name)


def test_options_and_robot_only_content(model: mujoco.MjModel) -> None:
    assert model.opt.timestep == pytest.approx(1 / 120, abs=1e-7)
    assert model.opt.integrator == mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    assert model.nlight == 0
    assert not np.any(model.geom_type == mujoco.mjtGeom.mjGEOM_PLANE)
    assert all(model.geom_bodyid > 0)  # nothing attached to the world
    assert np.all(model.geom_friction[:, 0] == 1.0)


def test_one_pd_position_actuator_per_hinge(model: mujoco.MjModel) -> None:
    assert model.nu == 28
    for a in range(model.nu):
        joint = int(model.actuator_trnid[a, 0])
        name = _name(model, mujoco.mjtObj.mjOBJ_ACTUATOR, a)
        assert name == _name(model, mujoco.mjtObj.mjOBJ_JOINT, joint) == HINGES[a]
        kp, kv = model.actuator_gainprm[a, 0], -model.actuator_biasprm[a, 2]
        assert model.actuator_biasprm[a, 1] == -kp > -2000, name  # position servo
        assert 0 < kv <= kp / 5, name
        assert model.actuator_forcelimited[a] and model.actuator_forcerange[a, 1] > 0, name
        np.testing.assert_allclose(model.actuator_ctrlrange[a], model.jnt_range[joint])
    legs = [HINGES.index(n) for n in HINGES if "hip" in n or "knee" in n or "ankle" in n]
    arms = [HINGES.index(n) for n in HINGES if "shoulder" in n or "elbow" in n]
    effort = model.actuator_forcerange[:, 1]
    assert np.all((effort[legs] >= 100) & (effort[legs] <= 300))
    assert effort[arms].max() < effort[legs].min()


def test_feet_are_flat_boxes_below_the_ankles(model: mujoco.MjModel) -> None:
    feet = foot_geoms(model)
    assert [model.body(model.geom_bodyid[g]).name for g in feet] == ["right_foot", "left_foot"]
    for g in feet:
        np.testing.assert_allclose(2 * model.geom_size[g], [0.177, 0.09, 0.055], atol=0.01)
        np.testing.assert_array_equal(model.geom_quat[g], [1, 0, 0, 0])
        # Ankle above the box: the box top is at or below the joint, the toe ahead of it.
        assert model.geom_pos[g, 2] + model.geom_size[g, 2] <= 0.0
        assert model.geom_pos[g, 0] > 0.0


def test_rest_pose_conventions(model: mujoco.MjModel) -> None:
    """Arms hang down; knee + bends the shin back, elbow - swings the forearm forward."""
    data = _stand(model)
    hand = data.body("right_hand").xpos.copy()  # xpos is a live view into data
    shoulder = data.body("right_upper_arm").xpos
    assert hand[2] < shoulder[2] - 0.5 and abs(hand[0] - shoulder[0]) < 1e-6
    assert data.body("left_hand").xpos[1] > 0.15 > -0.15 > data.body("right_hand").xpos[1]
    foot_x = float(data.body("right_foot").xpos[0])
    data.qpos[model.joint("right_knee").qposadr[0]] = 0.5
    data.qpos[model.joint("right_elbow").qposadr[0]] = -0.5
    mujoco.mj_kinematics(model, data)
    assert data.body("right_foot").xpos[0] < foot_x - 0.1
    assert data.body("right_hand").xpos[0] > hand[0] + 0.1


def test_stand_key_touches_floor_and_has_human_height(model: mujoco.MjModel) -> None:
    data = _stand(model)
    assert abs(lowest_point(model, data, foot_geoms(model))) < 0.002
    head = model.geom("head").id
    assert data.geom_xpos[head, 2] > 1.4
    assert 1.55 < data.geom_xpos[head, 2] + model.geom_size[head, 0] < 1.7  # top of the head
    assert data.ncon == 0  # no self-contact in the rest pose


def test_pd_holds_stand_on_a_floor() -> None:
    spec = mujoco.MjSpec.from_file(str(HUMANOID))
    spec.worldbody.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 0.05])
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("stand").id)
    data.ctrl[:] = data.qpos[7:]
    for _ in range(round(2.0 / model.opt.timestep)):
        mujoco.mj_step(model, data)
    assert data.qpos[2] > 0.8
    # Still upright (pelvis z axis within ~10 degrees of vertical) and nearly at rest.
    assert data.xmat[model.body("pelvis").id][8] > np.cos(np.radians(10))
    assert np.abs(data.qvel).max() < 0.5
