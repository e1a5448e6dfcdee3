"""``mjmimic export`` of a whole-body tracking policy, read the way mjlab's and
BeyondMimic's deploy code reads it: mjlab's unprefixed keys split on "," and parsed with
``float``, the graph run with ``obs`` and ``time_step``. What it finds must be the
training env: its sizes, its PD targets for the policy's action, its reference at that
control step and its policy observation's term order. mjmimic's own metadata is format
version 2 for this task; a DeepMimic export keeps version 1, key for key.
"""

from __future__ import annotations

import json
import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from mjmimic.errors import MjmimicError
from mjmimic.export.metadata import VERSION_KEY, PolicyMetadata, read_policy

STEPS = 6
# mjlab writes every number with 3 decimals: a PD target rebuilt from them is off by at
# most half a unit in the last place of the default and of the scale times the action.
ROUNDING = 5e-4
# The export samples the reference at k * dt in float64; the env's clock adds dt in
# float32, so the two look the clip up at times a few 1e-7 s apart.
REFERENCE_TOL = 1e-4

V1_KEYS = [
    "mjmimic_version",
    "robot_name",
    "robot_file",
    "joint_names",
    "default_joint_pos",
    "control_mode",
    "action_scale",
    "action_offset",
    "kp",
    "kd",
    "effort_limit",
    "control_dt",
    "sim_dt",
    "observation",
    "physics",
    "falls",
    "reference_motions",
    "config_hash",
    "quat_convention",
    "inputs",
    "outputs",
    "format_version",
]


def read_like_mjlab(path) -> tuple[dict[str, str], ort.InferenceSession]:
    """What a BeyondMimic deploy script starts with: the plain metadata map and a session."""
    model = onnx.load(str(path))
    return {p.key: p.value for p in model.metadata_props}, ort.InferenceSession(str(path))


def csv_floats(text: str) -> np.ndarray:
    return np.array([float(x) for x in text.split(",")])


def test_mjlab_keys_name_the_env(tracking_exported, tracking_env):
    env, _ = tracking_env
    meta, session = read_like_mjlab(tracking_exported.policy)
    joints = meta["joint_names"].split(",")
    assert joints == list(env.robot.dof_names)
    d = len(joints)
    kp, kd = csv_floats(meta["joint_stiffness"]), csv_floats(meta["joint_damping"])
    np.testing.assert_allclose(kp, env.engine.pd.kp, atol=ROUNDING)
    np.testing.assert_allclose(kd, env.engine.pd.kd, atol=ROUNDING)
    np.testing.assert_allclose(
        csv_floats(meta["default_joint_pos"]), env.default_dof_pos, atol=ROUNDING
    )
    np.testing.assert_allclose(csv_floats(meta["action_scale"]), env.action_scale, atol=ROUNDING)
    assert meta["observation_names"].split(",") == [t.name for t in env.policy_layout]
    assert meta["command_names"] == "motion"
    assert meta["anchor_body_name"] == "torso_link"
    assert meta["body_names"].split(",") == env.tracked_names
    assert meta["run_path"] == tracking_exported.run_dir.name
    # mjlab's number format, exactly.
    assert meta["joint_stiffness"].split(",")[0] == f"{float(env.engine.pd.kp[0]):.3f}"
    inputs = {i.name: i.shape for i in session.get_inputs()}
    outputs = {o.name: o.shape for o in session.get_outputs()}
    assert inputs == {"obs": [1, env.policy_obs_dim], "time_step": [1, 1]}
    k = len(env.tracked_names)
    assert outputs == {
        "actions": [1, d],
        "joint_pos": [1, d],
        "joint_vel": [1, d],
        "body_pos_w": [1, k, 3],
        "body_quat_w": [1, k, 4],
        "body_lin_vel_w": [1, k, 3],
        "body_ang_vel_w": [1, k, 3],
    }


def test_actions_and_reference_are_the_envs(tracking_exported, tracking_env, on_clip, monkeypatch):
    """Drive the env with the ONNX actions for a few steps: the PD target mjlab's formula
    gives is the one the env commands, and the graph's reference at time_step k is the
    env's at control step k."""
    env, agent = tracking_env
    meta, session = read_like_mjlab(tracking_exported.policy)
    default, scale = csv_floats(meta["default_joint_pos"]), csv_floats(meta["action_scale"])
    tracked = [env.robot.body_names.index(b) for b in meta["body_names"].split(",")]
    p, d = env.policy_obs_dim, env.action_dim
    sent = []
    step = env.engine.step
    monkeypatch.setattr(env.engine, "step", lambda cmd: (sent.append(cmd.clone()), step(cmd))[1])
    obs = on_clip(env, 0)  # the clip the graph replays (the default: the first)
    for k in range(STEPS):
        feed = {"obs": obs[:, :p].numpy(), "time_step": np.array([[k]], np.float32)}
        actions, joint_pos, joint_vel, pos, quat, lin, ang = session.run(None, feed)
        with torch.no_grad():
            low, high = env.action_bounds()
            expected = torch.clamp(agent.normalized_policy(obs[:, :p]), low, high).numpy()
        np.testing.assert_allclose(actions, expected, atol=1e-5)
        _, ref, _, _ = env._frames(None)  # the reference the env's reward and obs use now
        np.testing.assert_allclose(joint_pos, obs[:, :d].numpy(), atol=REFERENCE_TOL)
        np.testing.assert_allclose(joint_vel, obs[:, d : 2 * d].numpy(), atol=REFERENCE_TOL)
        np.testing.assert_allclose(pos, ref.pos[:, tracked].numpy(), atol=REFERENCE_TOL)
        np.testing.assert_allclose(quat, ref.quat[:, tracked].numpy(), atol=REFERENCE_TOL)
        np.testing.assert_allclose(lin, ref.lin_vel[:, tracked].numpy(), atol=1e-3)
        np.testing.assert_allclose(ang, ref.ang_vel[:, tracked].numpy(), atol=1e-3)
        obs, _, _, _ = env.step(torch.from_numpy(actions))
        target = default + scale * actions[0]
        bound = ROUNDING * (1.0 + np.abs(actions[0]))
        assert (np.abs(target - sent[-1][0].numpy()) <= bound).all()
    # The reference moved: the comparisons above were not all at one pose.
    first = session.run(["joint_pos"], {**feed, "time_step": np.zeros((1, 1), np.float32)})[0]
    assert np.abs(joint_pos - first).max() > 10 * REFERENCE_TOL


def test_time_step_is_clamped_to_the_clips_end(tracking_exported):
    _, meta = read_policy(tracking_exported.policy)
    _, session = read_like_mjlab(tracking_exported.policy)
    clip = meta.reference_motions[0]
    arrays = clip.arrays()
    obs = np.zeros((1, meta.observation.size), np.float32)

    def joint_pos(step: float) -> np.ndarray:
        return session.run(
            ["joint_pos"], {"obs": obs, "time_step": np.array([[step]], np.float32)}
        )[0][0]

    last = meta.reference_outputs.num_steps - 1
    np.testing.assert_allclose(joint_pos(1e6), joint_pos(last))
    np.testing.assert_allclose(joint_pos(last), arrays["dof_pos"][-1], atol=1e-5)
    np.testing.assert_allclose(joint_pos(0), arrays["dof_pos"][0], atol=1e-5)
    duration = (arrays["dof_pos"].shape[0] - 1) / float(arrays["fps"])
    assert last == math.ceil(duration / meta.control_dt - 1e-6)


def test_metadata_is_version_2_with_the_tracking_rules(tracking_exported, tracking_env):
    env, _ = tracking_env
    model, meta = read_policy(tracking_exported.policy)
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props[VERSION_KEY]) == meta.format_version == 2
    assert meta.task == "tracking" and meta.action_mapping == "default_offset"
    assert meta.inputs == ["obs", "time_step"] and meta.outputs[0] == "actions"
    obs = meta.observation
    assert obs.size == env.policy_obs_dim
    assert [t.name for t in obs.terms] == [t.name for t in env.policy_layout]
    labels = [label for t in obs.terms for label in t.labels]
    assert labels == env.obs_labels()[: env.policy_obs_dim]
    assert obs.anchor_body == "torso_link" and obs.tracked_bodies == env.tracked_names
    assert obs.base_lin_vel_obs is False
    np.testing.assert_allclose(meta.default_joint_pos, env.default_dof_pos.numpy(), atol=1e-7)
    np.testing.assert_allclose(meta.action_scale, env.action_scale.numpy(), atol=1e-7)
    falls = meta.falls
    assert (falls.anchor_height_threshold, falls.anchor_ori_threshold) == (0.25, 0.8)
    assert falls.end_effector_height_threshold == 0.25
    assert falls.end_effectors == list(env.cfg.end_effectors)
    assert meta.episode_length == 10.0
    assert meta.reference_outputs.clip == env.clip_names()[0]
    assert [c.name for c in meta.reference_motions] == env.clip_names()
    assert PolicyMetadata.from_props(meta.to_props(), "x") == meta


def test_readers_refuse_a_tracking_file_they_would_misread(tracking_exported):
    _, meta = read_policy(tracking_exported.policy)
    props = meta.to_props()
    with pytest.raises(MjmimicError, match="a tracking policy needs format version 2"):
        PolicyMetadata.from_props({**props, VERSION_KEY: "1"}, "p.onnx")
    with pytest.raises(MjmimicError, match="newer than this mjmimic reads"):
        PolicyMetadata.from_props({**props, VERSION_KEY: "3"}, "p.onnx")
    with pytest.raises(MjmimicError, match=r"mjmimic\.task is 'dance'"):
        PolicyMetadata.from_props({**props, "mjmimic.task": '"dance"'}, "p.onnx")
    observation = json.loads(props["mjmimic.observation"])
    observation["tracked_bodies"].remove("torso_link")
    edited = {**props, "mjmimic.observation": json.dumps(observation)}
    with pytest.raises(
        MjmimicError, match=r"tracked_bodies is one without.*anchor body torso_link"
    ):
        PolicyMetadata.from_props(edited, "p.onnx")


def test_a_deepmimic_export_is_version_1_key_for_key(exported):
    model, meta = read_policy(exported.policy)
    props = {p.key: p.value for p in model.metadata_props}
    assert list(props) == ["mjmimic." + k for k in V1_KEYS]  # no mjlab key, no new key
    assert json.loads(props[VERSION_KEY]) == 1
    assert meta.task == "deepmimic" and meta.action_mapping == "command"
    # Written again, the metadata is the same text: nothing was added or reformatted.
    assert meta.to_props() == props


def test_clip_picks_the_replayed_clip(tracking_exported, cli, one_line_error, tmp_path):
    _, meta = read_policy(tracking_exported.policy)
    second = meta.reference_motions[1]
    out = tmp_path / "kick.onnx"
    result = cli(["export", str(tracking_exported.run_dir), "-o", str(out), "--clip", second.name])
    assert result.code == 0, result.err
    _, picked = read_policy(out)
    assert picked.reference_outputs.clip == second.name
    _, session = read_like_mjlab(out)
    feed = {
        "obs": np.zeros((1, picked.observation.size), np.float32),
        "time_step": np.zeros((1, 1), np.float32),
    }
    np.testing.assert_allclose(
        session.run(["joint_pos"], feed)[0][0], second.arrays()["dof_pos"][0], atol=1e-5
    )
    bad = tmp_path / "bad.onnx"
    line = one_line_error(
        cli(["export", str(tracking_exported.run_dir), "-o", str(bad), "--clip", "dance"]),
        "--clip dance",
        "no such clip",
    )
    assert all(c.name in line for c in meta.reference_motions)
    assert not bad.exists()


def test_clip_is_refused_for_a_deepmimic_run(exported, cli, one_line_error, tmp_path):
    result = cli(["export", str(exported.run_dir), "-o", str(tmp_path / "p.onnx"), "--clip", "x"])
    one_line_error(result, "--clip x", "only a tracking policy")


def test_describe_says_how_to_apply_the_actions(tracking_exported, cli):
    result = cli(["export", "--describe", str(tracking_exported.policy)])
    assert result.code == 0 and result.err == ""
    assert "format version 2" in result.out
    assert "PD target = default_joint_pos + action_scale * actions" in result.out
    assert "anchor height > 0.25 m" in result.out
    assert "[  58:  61] motion_anchor_pos_b" in result.out
