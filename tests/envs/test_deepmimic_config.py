"""DeepMimicEnvConfig: MimicKit keys, defaults, validation and settings converters."""

from __future__ import annotations

import dataclasses

import pytest

from mjmimic.envs.deepmimic.config import DeepMimicEnvConfig
from mjmimic.errors import ConfigError

# The env block of MimicKit's shipped DeepMimic G1 config (mjmimic-only keys excluded).
MIMICKIT_G1_ENV = {
    "char_file": "data/assets/g1/g1.xml",
    "camera_mode": "track",
    "episode_length": 10.0,
    "global_obs": True,
    "root_height_obs": True,
    "pose_termination": True,
    "pose_termination_dist": 1.0,
    "enable_phase_obs": False,
    "enable_tar_obs": True,
    "num_phase_encoding": 4,
    "tar_obs_steps": [1, 2, 3],
    "rand_reset": True,
    "zero_center_action": True,
    "log_tracking_error": False,
    "ref_char_offset": [2.0, 0.0, 0.0],
    "init_pose": [0.0, 0.0, 0.8] + [0.0] * 32,
    "enable_early_termination": True,
    "termination_height": 0.3,
    "key_bodies": ["left_ankle_roll_link", "right_ankle_roll_link", "head_link"],
    "contact_bodies": ["left_knee_link", "left_ankle_pitch_link", "left_ankle_roll_link"],
    "motion_file": "data/motions/g1/g1_walk.pkl",
    "joint_err_w": [1.0] * 30,
    "reward_pose_w": 0.5,
    "reward_vel_w": 0.1,
    "reward_root_pose_w": 0.15,
    "reward_root_vel_w": 0.1,
    "reward_key_pos_w": 0.15,
    "reward_pose_scale": 0.25,
    "reward_vel_scale": 0.01,
    "reward_root_pose_scale": 5.0,
    "reward_root_vel_scale": 1.0,
    "reward_key_pos_scale": 10.0,
}


def make(**changes) -> DeepMimicEnvConfig:
    return DeepMimicEnvConfig(**{**MIMICKIT_G1_ENV, **changes})


def test_mimickit_keys_build_a_valid_config():
    cfg = make()
    cfg.validate()
    assert cfg.track_root
    obs = cfg.obs_settings()
    assert obs.tar_obs_steps == (1, 2, 3) and obs.global_obs and not obs.enable_phase_obs
    rew = cfg.reward_settings()
    assert rew.track_root and rew.track_root_height and rew.weights["key_pos"].scale == 10.0
    term = cfg.termination_settings()
    assert term.track_root and term.termination_height == 0.3 and term.pose_termination
    local = make(global_obs=False)
    assert not local.track_root and not local.reward_settings().track_root


def test_required_keys_and_mimickit_defaults():
    required = {
        f.name
        for f in dataclasses.fields(DeepMimicEnvConfig)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    assert required == {
        "episode_length",
        "global_obs",
        "enable_early_termination",
        "motion_file",
    } | {
        f"reward_{t}_{k}"
        for t in ("pose", "vel", "root_pose", "root_vel", "key_pos")
        for k in ("w", "scale")
    }
    # One of char_file / robot names the robot; neither is an error.
    with pytest.raises(ConfigError, match="give char_file"):
        DeepMimicEnvConfig(**{k: MIMICKIT_G1_ENV[k] for k in required}).validate()
    minimal = DeepMimicEnvConfig(
        char_file=MIMICKIT_G1_ENV["char_file"], **{k: MIMICKIT_G1_ENV[k] for k in required}
    )
    minimal.validate()
    assert minimal.root_height_obs and minimal.enable_phase_obs and minimal.rand_reset
    assert minimal.num_phase_encoding == 0 and minimal.tar_obs_steps == [1]
    assert not minimal.pose_termination and minimal.pose_termination_dist == 1.0
    assert minimal.key_bodies == [] and minimal.joint_err_w is None
    assert minimal.termination_height is None and minimal.motion_fill_missing_joints == {}


def test_every_key_is_documented():
    for f in dataclasses.fields(DeepMimicEnvConfig):
        assert f.metadata.get("help"), f.name


@pytest.mark.parametrize(
    "changes, key",
    [
        ({"episode_length": 0.0}, "env.episode_length"),
        ({"episode_length": -3.0}, "env.episode_length"),
        ({"pose_termination_dist": 0.0}, "env.pose_termination_dist"),
        ({"reward_pose_w": -0.5}, "env.reward_pose_w"),
        ({"reward_key_pos_scale": -1.0}, "env.reward_key_pos_scale"),
        ({"reward_vel_scale": float("nan")}, "env.reward_vel_scale"),
        ({"tar_obs_steps": []}, "env.tar_obs_steps"),
        ({"tar_obs_steps": [1, -2]}, "env.tar_obs_steps"),
        ({"num_phase_encoding": -1}, "env.num_phase_encoding"),
        ({"key_bodies": ["head_link", "head_link"]}, "env.key_bodies"),
        ({"ref_char_offset": [1.0, 2.0]}, "env.ref_char_offset"),
        ({"init_pose": [0.0]}, "env.init_pose"),
        ({"termination_height": float("inf")}, "env.termination_height"),
        (
            {"motion_fill_missing_joints": {"left_wrist_roll_joint": float("nan")}},
            "env.motion_fill",
        ),
    ],
)
def test_validate_rejects_impossible_values(changes, key):
    with pytest.raises(ConfigError, match=key) as info:
        make(**changes).validate()
    assert "\n" not in str(info.value)


def test_empty_tar_obs_steps_is_fine_without_target_obs():
    make(enable_tar_obs=False, tar_obs_steps=[]).validate()
