"""``mjmimic export``: a valid ONNX model equal to the torch policy, carrying metadata
that round-trips and that readers of later versions and older files can rely on."""

from __future__ import annotations

import copy
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from mjmimic.errors import MjmimicError
from mjmimic.export.metadata import (
    FORMAT_VERSION,
    VERSION_KEY,
    PolicyMetadata,
    read_policy,
)
from mjmimic.export.onnx_export import DeployedPolicy, _to_onnx_bytes
from mjmimic.motion.formats import read_motion
from mjmimic.training import checkpoint
from mjmimic.training.setup import RunConfig, build_env_and_agent


@pytest.fixture(scope="module")
def env_and_agent(exported):
    saved = checkpoint.load(exported.run_dir / "model.pt", checkpoint.MODEL_FORMAT)
    run = RunConfig.from_dict(saved["config"], "model.pt")
    run.engine.num_threads = 1
    env, agent = build_env_and_agent(run, num_envs=4)
    agent.load_model_state_dict(saved["model"])
    agent.eval_mode()
    yield env, agent
    env.engine.close()


def test_checker_passes_and_io_is_named(exported):
    model = onnx.load(str(exported.policy))
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == ["obs"]
    assert [o.name for o in model.graph.output] == ["actions"]


def test_onnxruntime_equals_torch(exported, env_and_agent):
    env, agent = env_and_agent
    gen = torch.Generator().manual_seed(1)
    obs = env.reset()
    # Real observations plus far-off ones (the normalizer clips those).
    noise = torch.randn(60, env.obs_dim, generator=gen)
    batch = torch.cat([obs, obs.repeat(15, 1) + 100.0 * noise])
    low, high = env.action_bounds()
    with torch.no_grad():
        expected = torch.clamp(agent.normalized_policy(batch), low, high).numpy()
    session = ort.InferenceSession(str(exported.policy), providers=["CPUExecutionProvider"])
    got = session.run(["actions"], {"obs": batch.numpy()})[0]
    assert got.shape == (64, env.action_dim)
    assert np.abs(got - expected).max() <= 1e-5


def test_action_bounds_are_applied_in_the_graph(env_and_agent):
    env, agent = env_and_agent
    policy = copy.deepcopy(agent.normalized_policy)
    with torch.no_grad():  # push every action mean far past the bounds, half each way
        policy.actor.mean_head.bias[:] = torch.tensor([-10.0, 10.0]).repeat(env.action_dim)[
            : env.action_dim
        ]
    low, high = env.action_bounds()
    module = DeployedPolicy(policy, low, high).eval()
    session = ort.InferenceSession(_to_onnx_bytes(module, env.obs_dim))
    got = session.run(["actions"], {"obs": env.reset().numpy()})[0]
    np.testing.assert_array_equal(got[:, 0::2], low[0::2].expand(4, -1).numpy())
    np.testing.assert_array_equal(got[:, 1::2], high[1::2].expand(4, -1).numpy())


def test_metadata_describes_the_env(exported, env_and_agent):
    env, _ = env_and_agent
    model, meta = read_policy(exported.policy)
    props = {p.key: p.value for p in model.metadata_props}
    assert all(k.startswith("mjmimic.") for k in props)
    assert sum(k.endswith("version") and "format" in k for k in props) == 1
    for value in props.values():  # every value is a JSON document
        json.loads(value)
    assert json.loads(props[VERSION_KEY]) == 1  # a DeepMimic policy: the version 1 layout
    assert meta.joint_names == env.robot.dof_names
    assert meta.robot_name == "mjmimic_humanoid"
    assert meta.quat_convention == "wxyz"
    assert meta.observation.size == env.obs_dim
    labels = [lb for t in meta.observation.terms for lb in t.labels]
    assert labels == [lb for t in env.obs_layout for lb in t.labels]
    low, high = (t.numpy() for t in env.action_bounds())
    np.testing.assert_allclose(meta.action_offset, 0.5 * (low + high), atol=1e-6)
    np.testing.assert_allclose(meta.action_scale, 0.5 * (high - low), atol=1e-6)
    np.testing.assert_allclose(meta.kp, env.engine.pd.kp)
    knee = meta.joint_names.index("right_knee")
    assert (meta.kp[knee], meta.kd[knee], meta.effort_limit[knee]) == (600.0, 60.0, 250.0)
    assert meta.control_dt == pytest.approx(1 / 30) and meta.sim_dt == pytest.approx(1 / 120)
    assert meta.falls.contact_bodies == ["right_foot", "left_foot"]
    assert meta.config_hash.startswith("sha256:") and len(meta.config_hash) == 7 + 64


def test_embedded_clip_is_the_training_clip(exported, env_and_agent):
    env, _ = env_and_agent
    _, meta = read_policy(exported.policy)
    (clip,) = meta.reference_motions
    arrays = clip.arrays()
    motion = read_motion(env.cfg.motion_file).align_to_robot(env.robot, "clip")
    assert clip.name == "humanoid_squat" and float(arrays["fps"]) == motion.fps
    np.testing.assert_array_equal(arrays["dof_pos"], motion.dof_pos)
    np.testing.assert_array_equal(arrays["root_rot"], motion.root_rot)
    clip.npz_base64 = clip.npz_base64[:-8] + "AAAAAAA="
    with pytest.raises(MjmimicError, match="sha256 mismatch"):
        clip.arrays()


def test_metadata_round_trip(exported):
    _, meta = read_policy(exported.policy)
    props = meta.to_props()
    assert PolicyMetadata.from_props(props, "x") == meta
    # Readers ignore keys they do not know (added by a later version).
    later = {**props, "mjmimic.obs_history": json.dumps({"length": 1})}
    assert PolicyMetadata.from_props(later, "x") == meta
    # Optional keys may be missing from older files; their default is the old behaviour.
    older = {k: v for k, v in props.items() if k not in ("mjmimic.inputs", "mjmimic.outputs")}
    assert PolicyMetadata.from_props(older, "x") == meta


def test_newer_or_incomplete_metadata_is_refused(exported):
    _, meta = read_policy(exported.policy)
    props = meta.to_props()
    newer = {**props, VERSION_KEY: json.dumps(FORMAT_VERSION + 1)}
    with pytest.raises(MjmimicError, match="newer than this mjmimic reads"):
        PolicyMetadata.from_props(newer, "p.onnx")
    lacking = {k: v for k, v in props.items() if k != "mjmimic.kp"}
    with pytest.raises(MjmimicError, match=r"lacks mjmimic\.kp"):
        PolicyMetadata.from_props(lacking, "p.onnx")
    broken = {**props, "mjmimic.kd": "[1, 2"}
    with pytest.raises(MjmimicError, match=r"mjmimic\.kd is not valid JSON"):
        PolicyMetadata.from_props(broken, "p.onnx")


def test_describe_prints_the_metadata(exported, cli):
    result = cli(["export", "--describe", str(exported.policy)])
    assert result.code == 0 and result.err == ""
    out = result.out
    assert "format version 1" in out and "mjmimic_humanoid" in out
    assert "[ 140: 143] tar1.root_pos" in out
    assert "quaternions:      wxyz" in out
    knee = next(line for line in out.splitlines() if line.strip().startswith("right_knee"))
    assert knee.split()[-3:] == ["600.0", "60.0", "250.0"]
