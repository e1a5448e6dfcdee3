"""``mjmimic sim2sim --episodes N --training_run RUN``: the training env's own numbers for
the same policy beside sim2sim's.

The run's model.pt is evaluated in its env (``training/evaluation.py``: N deterministic
test episodes, random clip and start time, to the clip's end or the episode limit) as
sim2sim runs it: with the env's randomization, pushes and observation noise as trained
when sim2sim runs ``--randomize``, with all of them off when sim2sim runs the nominal
robot. Both then say which share of episodes ran their full length and the mean tracking
errors, so a gap between the columns is the sim2sim gap, not a different measure.

The model.pt must hold the policy of the ONNX file: the same config hash, and the same
actions on a batch of observations (the ONNX graph against the torch policy), else the
comparison would be of two policies and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from mjmimic.errors import MjmimicError
from mjmimic.export.metadata import PolicyMetadata, config_hash
from mjmimic.training.evaluation import run_evaluation
from mjmimic.training.model_file import load_weights, read_model
from mjmimic.training.setup import RunConfig, build_env_and_agent

SAME_POLICY_TOLERANCE = 1e-4  # ONNX vs torch on the same observations (export: 1e-5)


@dataclass
class TrainingNumbers:
    """The training env's test episodes, in sim2sim's terms."""

    model_file: Path
    randomized: bool  # the env's randomization, pushes and noise on (as trained)
    episodes: int
    full_length_rate: float
    root_pos_err: float | None  # m, mean over episodes
    joint_rot_err: float | None  # rad


def training_numbers(
    model_file: Path,
    policy_file: Path,
    meta: PolicyMetadata,
    episodes: int,
    seed: int,
    randomized: bool,
) -> TrainingNumbers:
    saved = read_model(model_file)
    if config_hash(saved["config"]) != meta.config_hash:
        raise MjmimicError(
            f"--training_run {model_file}: its config is not the one {policy_file} was "
            "exported from (config hashes differ); give the run the policy came from"
        )
    run = RunConfig.from_dict(saved["config"], f"{model_file} (saved config)")
    run.device = "cpu"
    if not randomized:
        run.env.domain_randomization = None
        if hasattr(run.env, "obs_noise"):
            run.env.obs_noise = {}
    torch.manual_seed(seed)
    env, agent = build_env_and_agent(run, num_envs=min(episodes, run.num_envs, 64))
    try:
        load_weights(agent, env, saved["model"], model_file)
        agent.eval_mode()
        _require_same_policy(agent, env, policy_file, meta, model_file)
        summary = run_evaluation(env, agent, episodes).summary
    finally:
        env.engine.close()
    return TrainingNumbers(
        model_file,
        randomized,
        int(summary["episodes"]),
        summary["full_length_rate"],
        _finite(summary.get("root_pos_err")),
        _finite(summary.get("joint_rot_err")),
    )


def _require_same_policy(agent, env, policy_file: Path, meta: PolicyMetadata, model_file: Path):
    """The ONNX's actions are the torch policy's (clipped to the env's bounds) on
    observations of the env's first states."""
    obs = env.reset()[:1, : env.policy_obs_dim]
    low, high = env.action_bounds()
    with torch.no_grad():
        torch_actions = torch.clamp(agent.normalized_policy(obs), low, high).numpy()
    session = ort.InferenceSession(str(policy_file), providers=["CPUExecutionProvider"])
    feed = {"obs": obs.numpy().astype(np.float32)}
    if "time_step" in meta.inputs:
        feed["time_step"] = np.zeros((1, 1), np.float32)
    onnx_actions = session.run(meta.outputs[:1], feed)[0]
    if np.abs(onnx_actions - torch_actions).max() > SAME_POLICY_TOLERANCE:
        raise MjmimicError(
            f"--training_run {model_file}: its weights are not those of {policy_file} "
            "(another checkpoint of the run?); export the policy from this model.pt or give "
            "the model.pt it was exported from"
        )


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)
