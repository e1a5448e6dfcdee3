"""``mjmimic export``: a trained model.pt -> one self-contained ONNX file.

The graph is the deterministic policy on raw observations: observation normalizer, actor
mean, action un-normalization to env units and the env's action clipping, so a deployment
script feeds the observation it built and sends the output to the joints as it is. The
metadata (``metadata.py``) says how to build that observation and what the output means.

The export rebuilds the training env from the run's saved config (one env), because the
observation layout, PD gains, action bounds and reference clips are facts of the env,
not of the weights. The file is checked with ``onnx.checker`` and run with onnxruntime
against torch on real observations before it takes the ``-o`` name: it is written beside
it under a temporary name and renamed only then, so a failed export leaves whatever was
there intact. ``-o`` never overwrites a torch file (the run's own model.pt, say), and a
model with non-finite weights is refused: its ONNX would compute NaN.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import mujoco
import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

import mjmimic
from mjmimic.agents.networks import NormalizedPolicy
from mjmimic.envs.base import Env
from mjmimic.envs.capabilities import Deployable, require
from mjmimic.errors import MjmimicError
from mjmimic.export.metadata import (
    FallInfo,
    ObservationInfo,
    ObsTermInfo,
    PhysicsInfo,
    PolicyMetadata,
    config_hash,
    encode_clip,
    read_policy,
)
from mjmimic.training.model_file import is_torch_file, load_weights, read_model
from mjmimic.training.setup import RunConfig, build_env_and_agent

OPSET = 17
# onnxruntime and torch differ by float rounding only; more than this is an export bug.
PARITY_TOLERANCE = 1e-5


class DeployedPolicy(nn.Module):
    """``NormalizedPolicy`` plus the env's action clipping: the exact joint command."""

    def __init__(self, policy: NormalizedPolicy, low: torch.Tensor, high: torch.Tensor):
        super().__init__()
        self.policy = policy
        self.register_buffer("low", low.detach().clone().float())
        self.register_buffer("high", high.detach().clone().float())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.minimum(torch.maximum(self.policy(obs), self.low), self.high)


def find_model_file(source: Path) -> Path:
    """``source`` itself, or ``source/model.pt`` for a run directory."""
    if source.is_dir():
        model = source / "model.pt"
        if not model.is_file():
            raise MjmimicError(f"{source}: no model.pt in this directory (is it a training run?)")
        return model
    if not source.is_file():
        raise MjmimicError(f"{source}: no such run directory or model file")
    return source


def export_policy(source: Path, output: Path) -> tuple[PolicyMetadata, float]:
    """Write the ONNX policy of ``source`` (run dir or model.pt) to ``output``; returns its
    metadata and the largest |onnxruntime - torch| measured on real observations."""
    model_file = find_model_file(source)
    _check_output(output, model_file)
    saved = read_model(model_file)
    _require_finite(saved["model"], model_file)
    run = RunConfig.from_dict(saved["config"], f"{model_file} (saved config)")
    run.engine.num_threads = 1
    run.device = "cpu"  # the ONNX graph is traced on the CPU, wherever the run trained
    env, agent = build_env_and_agent(run, num_envs=1)
    try:
        load_weights(agent, env, saved["model"], model_file)
        agent.eval_mode()
        low, high = env.action_bounds()
        module = DeployedPolicy(agent.normalized_policy, low, high).eval()
        meta = build_metadata(env, run, saved["config"])
        meta.validate(
            f"{model_file} (saved config)", "fix the robot's gains and limits or the env config"
        )
        proto = onnx.load_from_string(_to_onnx_bytes(module, env.obs_dim))
        for key, value in meta.to_props().items():
            proto.metadata_props.add(key=key, value=value)
        onnx.checker.check_model(proto, full_check=True)
        err = _write_checked(proto, output, module, env.reset())
    finally:
        env.engine.close()
    return meta, err


def _check_output(output: Path, model_file: Path) -> None:
    """Refuse an ``-o`` that would replace the run's model or checkpoint, any torch file,
    or a directory."""
    hint = "give a new name ending in .onnx, e.g. -o policy.onnx"
    if output.is_dir():
        raise MjmimicError(f"{output}: cannot write the policy there: a directory; {hint}")
    own = {model_file.resolve(), model_file.with_name("checkpoint.pt").resolve()}
    if output.resolve() in own or (output.is_file() and is_torch_file(output)):
        raise MjmimicError(
            f"-o {output}: refusing to overwrite a torch file (a run's model or checkpoint) "
            f"with the ONNX policy; {hint}"
        )


def _require_finite(weights: dict[str, torch.Tensor], model_file: Path) -> None:
    for key, t in weights.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            bad = int((~torch.isfinite(t)).sum())
            raise MjmimicError(
                f"{model_file}: {key} holds {bad} non-finite value(s) of {t.numel()}: the "
                "policy would output NaN; export a model saved before the run diverged "
                "('mjmimic doctor RUN_DIR' says when)"
            )


def _write_checked(
    proto: onnx.ModelProto, output: Path, module: nn.Module, obs: torch.Tensor
) -> float:
    """Save ``proto`` as ``output`` once onnxruntime has loaded the written bytes and
    matched torch on ``obs``; returns that parity error. Until then the file has a
    temporary name in the same directory (so the rename is atomic and nothing at
    ``output`` is touched by a failure)."""
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            onnx.save(proto, str(tmp))
        except OSError as exc:
            raise MjmimicError(f"{output}: cannot write the policy ({exc.strerror})") from None
        err = _check_parity(tmp, module, obs, output)
        read_policy(tmp)  # what every reader does first must accept it
        try:
            os.replace(tmp, output)
        except OSError as exc:
            raise MjmimicError(f"{output}: cannot write the policy ({exc.strerror})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return err


def _to_onnx_bytes(module: nn.Module, obs_dim: int) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter (dynamo=False) warns that it is deprecated. It is kept
        # on purpose: the dynamo exporter needs onnxscript and gives no benefit for an MLP.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (torch.zeros(1, obs_dim),),
            buffer,
            input_names=["obs"],
            output_names=["actions"],
            dynamic_axes={"obs": {0: "batch"}, "actions": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
    return buffer.getvalue()


def _check_parity(path: Path, module: nn.Module, obs: torch.Tensor, name: Path) -> float:
    """Largest |onnxruntime - torch| on ``obs`` and perturbed copies, running the file
    ``path``; raises (naming ``name``, the file it is for) if too big."""
    gen = torch.Generator().manual_seed(0)
    batch = torch.cat([obs, obs + 0.1 * torch.randn(15, obs.shape[1], generator=gen)])
    with torch.no_grad():
        expected = module(batch).numpy()
    if not np.isfinite(expected).all():
        raise MjmimicError(
            f"{name}: not written: the policy's actions are non-finite on the env's own "
            "observations (finite weights, so an overflow); export an earlier model"
        )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["actions"], {"obs": batch.numpy()})[0]
    err = float(np.abs(got - expected).max())
    if not err <= PARITY_TOLERANCE:
        raise MjmimicError(
            f"{name}: not written: onnxruntime differs from torch by {err:.3g} "
            f"(> {PARITY_TOLERANCE}); please report this with the model file"
        )
    return err


def build_metadata(env: Env, run: RunConfig, config: dict) -> PolicyMetadata:
    """The metadata of ``env``'s policy (a one-env instance of the run's task)."""
    robot, engine = env.robot, env.engine
    spec = require(env, Deployable, "mjmimic export").deployment_spec()
    low, high = (t.detach().cpu().double().numpy() for t in env.action_bounds())
    obs = spec["observation"]
    observation = ObservationInfo(
        size=obs["size"],
        terms=[ObsTermInfo(name, size, list(labels)) for name, size, labels in obs["terms"]],
        global_obs=obs["global_obs"],
        root_height_obs=obs["root_height_obs"],
        enable_phase_obs=obs["enable_phase_obs"],
        num_phase_encoding=obs["num_phase_encoding"],
        enable_tar_obs=obs["enable_tar_obs"],
        tar_obs_steps=list(obs["tar_obs_steps"]),
        body_names=list(obs["body_names"]),
        key_bodies=list(obs["key_bodies"]),
    )
    model = engine.model
    physics = PhysicsInfo(
        integrator=run.engine.integrator,
        solver=run.engine.solver,
        iterations=run.engine.iterations,
        ls_iterations=run.engine.ls_iterations,
        floor_friction=run.engine.floor_friction,
        armature=_floats(model.dof_armature[6:]),
        damping=_floats(model.dof_damping[6:]),
        stiffness=_floats(model.jnt_stiffness[model.dof_jntid[6:]]),
        frictionloss=_floats(model.dof_frictionloss[6:]),
    )
    clips = [
        encode_clip(m.name, w, m.fps, m.loop_mode, m.root_pos, m.root_rot, m.dof_pos)
        for m, w in spec["reference_motions"]
    ]
    pd = engine.pd
    return PolicyMetadata(
        mjmimic_version=mjmimic.__version__,
        robot_name=mujoco.MjSpec.from_file(robot.source).modelname,
        robot_file=Path(robot.source).name,
        joint_names=list(robot.dof_names),
        default_joint_pos=_floats(robot.hinge_qpos0),
        control_mode=engine.control_mode,
        action_scale=_floats(0.5 * (high - low)),
        action_offset=_floats(0.5 * (high + low)),
        kp=_floats(pd.kp),
        kd=_floats(pd.kd),
        effort_limit=[float(e) if np.isfinite(e) else None for e in pd.effort],
        control_dt=float(engine.control_dt),
        sim_dt=float(engine.sim_dt),
        observation=observation,
        physics=physics,
        falls=FallInfo(list(spec["falls"]["contact_bodies"]), spec["falls"]["termination_height"]),
        reference_motions=clips,
        config_hash=config_hash(config),
    )


def _floats(values) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]
