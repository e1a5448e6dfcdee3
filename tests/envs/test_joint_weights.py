"""joint_err_w: by joint or body name, MimicKit's positional list, and helpful errors."""

from __future__ import annotations

import pytest
import torch

from mjmimic.envs.deepmimic.joint_weights import dof_weights, resolve_joint_weights
from mjmimic.errors import ConfigError

SOURCE = "cfg.yaml: env.joint_err_w"


def index_of(robot, body: str) -> int:
    return robot.body_names.index(body) - 1


def test_default_is_all_ones(humanoid):
    w = resolve_joint_weights(humanoid, None, SOURCE)
    assert w.shape == (14,) and w.dtype == torch.float32
    assert (w == 1).all()


def test_mapping_by_joint_and_body_names(humanoid):
    w = resolve_joint_weights(
        humanoid, {"right_knee": 0.6, "right_hand": 0, "neck": 0.5, "left_foot": 0.3}, SOURCE
    )
    expected = torch.ones(14)
    expected[index_of(humanoid, "right_shin")] = 0.6  # joint right_knee
    expected[index_of(humanoid, "right_hand")] = 0.0  # fixed body
    expected[index_of(humanoid, "head")] = 0.5  # joint neck
    expected[index_of(humanoid, "left_foot")] = 0.3  # body of left_ankle
    assert torch.equal(w, expected)
    by_body = resolve_joint_weights(humanoid, {"right_shin": 0.6}, SOURCE)
    by_joint = resolve_joint_weights(humanoid, {"right_knee": 0.6}, SOURCE)
    assert torch.equal(by_body, by_joint)


def test_positional_list_in_body_order(humanoid):
    values = [1.0, 0.6, 1.0, 0.6, 0.0, 1.0, 0.6, 0.0, 1.0, 0.6, 0.5, 1.0, 0.6, 0.5]
    w = resolve_joint_weights(humanoid, values, SOURCE)
    assert w.tolist() == pytest.approx(values)
    assert w[index_of(humanoid, "right_hand")] == 0.0


def test_wrong_list_length_states_expected_length_and_order(humanoid):
    with pytest.raises(ConfigError) as info:
        resolve_joint_weights(humanoid, [1.0] * 13, SOURCE)
    msg = str(info.value)
    assert msg.startswith(SOURCE)
    assert "expected 14 weights" in msg and "got 13" in msg
    assert "torso, head, right_upper_arm, right_lower_arm, right_hand" in msg
    assert "\n" not in msg


def test_unknown_name_suggests_the_closest(humanoid):
    with pytest.raises(
        ConfigError, match=r"unknown joint or body 'right_kne'; did you mean 'right_knee'"
    ):
        resolve_joint_weights(humanoid, {"right_kne": 1.0}, SOURCE)
    with pytest.raises(ConfigError, match=r"valid names: .*left_ankle") as info:
        resolve_joint_weights(humanoid, {"tail": 1.0}, SOURCE)
    assert "did you mean" not in str(info.value)


def test_names_that_cannot_take_a_weight(humanoid):
    with pytest.raises(ConfigError, match="one hinge of the spherical joint 'right_hip'"):
        resolve_joint_weights(humanoid, {"right_hip_x": 1.0}, SOURCE)
    with pytest.raises(ConfigError, match="root body"):
        resolve_joint_weights(humanoid, {"pelvis": 1.0}, SOURCE)
    with pytest.raises(ConfigError, match="name the same joint"):
        resolve_joint_weights(humanoid, {"right_knee": 1.0, "right_shin": 0.5}, SOURCE)


@pytest.mark.parametrize("bad", [-0.5, float("nan"), "high", True, None])
def test_weights_must_be_non_negative_numbers(humanoid, bad):
    with pytest.raises(ConfigError, match="expected a number >= 0"):
        resolve_joint_weights(humanoid, {"neck": bad}, SOURCE)
    with pytest.raises(ConfigError, match=r"\[1\] \(head\)"):
        resolve_joint_weights(humanoid, [1.0, bad] + [1.0] * 12, SOURCE)


def test_dof_weights_follow_their_joint(humanoid):
    jw = resolve_joint_weights(humanoid, {"right_knee": 0.6, "right_hip": 0.2}, SOURCE)
    dw = dof_weights(humanoid, jw)
    assert dw.shape == (28,)
    names = humanoid.dof_names
    assert dw[names.index("right_knee")] == pytest.approx(0.6)
    assert dw[[names.index(f"right_hip_{a}") for a in "xyz"]].tolist() == pytest.approx([0.2] * 3)
    assert (dw == 1).sum() == 28 - 4
