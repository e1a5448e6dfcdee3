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

A whole-body tracking policy (``deployment_spec()["task"] == "tracking"``) is exported with
BeyondMimic's interface instead (``tracking_export.py``: ``obs`` and ``time_step`` in, the
raw action and the reference at that step out), as format version 2, with mjlab's
metadata keys beside mjmimic's (``mjlab_metadata.py``).
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Any, ClassVar

import mujoco
import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

import mjmimic
from mjmimic.agents.networks import NormalizedPolicy
from mjmimic.config.schema import config_to_dict
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
from mjmimic.export.mjlab_metadata import mjlab_props
from mjmimic.export.sim2sim import write_scene_mjcf
from mjmimic.export.tracking_export import (
    TrackingDeployment,
    tracking_deployment,
    tracking_fields,
)
from mjmimic.export.tracking_metadata import TASK_TRACKING
from mjmimic.training.model_file import is_torch_file, load_weights, read_model
from mjmimic.training.setup import RunConfig, build_env_and_agent

OPSET = 17
# onnxruntime and torch differ by float rounding only; more than this is an export bug.
PARITY_TOLERANCE = 1e-5


class DeployedPolicy(nn.Module):
    """``NormalizedPolicy`` plus the env's action clipping: the exact joint command."""

    # The graph's interface (read by _to_onnx_bytes and _check_parity).
    input_names: ClassVar[list[str]] = ["obs"]
    output_names: ClassVar[list[str]] = ["actions"]
    dynamic_axes: ClassVar[dict[str, dict[int, str]]] = {
        "obs": {0: "batch"},
        "actions": {0: "batch"},
    }

    def __init__(self, policy: NormalizedPolicy, low: torch.Tensor, high: torch.Tensor):
        super().__init__()
        self.policy = policy
        self.register_buffer("low", low.detach().clone().float())
        self.register_buffer("high", high.detach().clone().float())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.minimum(torch.maximum(self.policy(obs), self.low), self.high)

    @staticmethod
    def example_inputs(obs_dim: int) -> tuple[torch.Tensor, ...]:
        return (torch.zeros(1, obs_dim),)

    @staticmethod
    def parity_feeds(batch: torch.Tensor) -> list[tuple[torch.Tensor, ...]]:
        return [(batch,)]


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


def export_policy(
    source: Path, output: Path, clip: str | None = None, scene_mjcf: Path | None = None
) -> tuple[PolicyMetadata, float]:
    """Write the ONNX policy of ``source`` (run dir or model.pt) to ``output``; returns its
    metadata and the largest |onnxruntime - torch| measured on real observations.
    ``clip``: the clip a tracking policy's graph replays (default: the run's first);
    ``scene_mjcf``: also write the robot as trained (sim2sim's scene) as an MJCF there."""
    model_file = find_model_file(source)
    _check_output(output, model_file)
    saved = read_model(model_file)
    _require_finite(saved["model"], model_file)
    run = RunConfig.from_dict(saved["config"], f"{model_file} (saved config)")
    run.engine.num_threads = 1
    run.device = "cpu"  # the ONNX graph is traced on the CPU, wherever the run trained
    # The metadata describes the nominal robot (domain randomization varies per-env copies
    # of it, which one env for export does not need); the ranges go in as they are, for
    # 'sim2sim --randomize'.
    randomization = run.env.domain_randomization
    run.env.domain_randomization = None
    env, agent = build_env_and_agent(run, num_envs=1)
    try:
        load_weights(agent, env, saved["model"], model_file)
        agent.eval_mode()
        low, high = env.action_bounds()
        module: nn.Module = DeployedPolicy(agent.normalized_policy, low, high).eval()
        spec = require(env, Deployable, "mjmimic export").deployment_spec()
        tracking = None
        if spec.get("task") == TASK_TRACKING:
            tracking = tracking_deployment(env, spec, module, clip, run.env.episode_length)
            module = tracking.module
        elif clip is not None:
            raise MjmimicError(
                f"--clip {clip}: only a tracking policy replays a clip in its graph; this "
                f"run's env is {run.env_name}"
            )
        meta = build_metadata(env, run, saved["config"], spec, tracking)
        if randomization is not None:
            meta.domain_randomization = config_to_dict(randomization)
        meta.validate(
            f"{model_file} (saved config)", "fix the robot's gains and limits or the env config"
        )
        props = meta.to_props()
        if tracking is not None:
            props |= mjlab_props(meta, spec["mjlab"], model_file.resolve().parent.name)
        proto = onnx.load_from_string(_to_onnx_bytes(module, env.policy_obs_dim))
        for key, value in props.items():
            proto.metadata_props.add(key=key, value=value)
        onnx.checker.check_model(proto, full_check=True)
        err = _write_checked(proto, output, module, env.reset()[:, : env.policy_obs_dim])
        if scene_mjcf is not None:
            try:
                write_scene_mjcf(Path(env.robot.source), meta, scene_mjcf)
            except OSError as exc:
                raise MjmimicError(
                    f"--scene_mjcf {scene_mjcf}: cannot write ({exc.strerror})"
                ) from None
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
    """The graph of ``module`` (``DeployedPolicy`` or ``TrackingDeployedPolicy``), with
    the input and output names and the dynamic axes the module declares."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter (dynamo=False) warns that it is deprecated. It is kept
        # on purpose: the dynamo exporter needs onnxscript and gives no benefit for an MLP.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            module.example_inputs(obs_dim),
            buffer,
            input_names=module.input_names,
            output_names=module.output_names,
            dynamic_axes=module.dynamic_axes,
            opset_version=OPSET,
            dynamo=False,
        )
    return buffer.getvalue()


def _check_parity(path: Path, module: nn.Module, obs: torch.Tensor, name: Path) -> float:
    """Largest |onnxruntime - torch| over every output on ``obs`` and perturbed copies,
    running the file ``path``; raises (naming ``name``, the file it is for) if too big."""
    gen = torch.Generator().manual_seed(0)
    batch = torch.cat([obs, obs + 0.1 * torch.randn(15, obs.shape[1], generator=gen)])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    err = 0.0
    for inputs in module.parity_feeds(batch):
        with torch.no_grad():
            expected = module(*inputs)
        expected = [t.numpy() for t in (expected if isinstance(expected, tuple) else (expected,))]
        if not np.isfinite(expected[0]).all():
            raise MjmimicError(
                f"{name}: not written: the policy's actions are non-finite on the env's own "
                "observations (finite weights, so an overflow); export an earlier model"
            )
        feed = dict(zip(module.input_names, (x.numpy() for x in inputs), strict=True))
        got = session.run(module.output_names, feed)
        err = max(err, *(float(np.abs(g - e).max()) for g, e in zip(got, expected, strict=True)))
    if not err <= PARITY_TOLERANCE:
        raise MjmimicError(
            f"{name}: not written: onnxruntime differs from torch by {err:.3g} "
            f"(> {PARITY_TOLERANCE}); please report this with the model file"
        )
    return err


def build_metadata(
    env: Env,
    run: RunConfig,
    config: dict,
    spec: dict[str, Any],
    tracking: TrackingDeployment | None = None,
) -> PolicyMetadata:
    """The metadata of ``env``'s policy (a one-env instance of the run's task), from its
    ``deployment_spec()``; ``tracking``: the graph of a tracking policy."""
    robot, engine = env.robot, env.engine
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
    task = (
        _deepmimic_fields(env, spec)
        if tracking is None
        else tracking_fields(spec, tracking, run.env.episode_length)
    )
    return PolicyMetadata(
        mjmimic_version=mjmimic.__version__,
        robot_name=mujoco.MjSpec.from_file(robot.source).modelname,
        robot_file=Path(robot.source).name,
        joint_names=list(robot.dof_names),
        control_mode=engine.control_mode,
        kp=_floats(pd.kp),
        kd=_floats(pd.kd),
        effort_limit=[float(e) if np.isfinite(e) else None for e in pd.effort],
        control_dt=float(engine.control_dt),
        sim_dt=float(engine.sim_dt),
        physics=physics,
        reference_motions=clips,
        config_hash=config_hash(config),
        **task,
    )


def _deepmimic_fields(env: Env, spec: dict[str, Any]) -> dict[str, Any]:
    """The fields of a DeepMimic, AMP or ADD policy (format version 1): actions in env
    units, the observation settings of ``deepmimic/observations.py``."""
    low, high = (t.detach().cpu().double().numpy() for t in env.action_bounds())
    obs = spec["observation"]
    return {
        "default_joint_pos": _floats(env.robot.hinge_qpos0),
        "action_scale": _floats(0.5 * (high - low)),
        "action_offset": _floats(0.5 * (high + low)),
        "observation": ObservationInfo(
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
        ),
        "falls": FallInfo(
            list(spec["falls"]["contact_bodies"]), spec["falls"]["termination_height"]
        ),
    }


def _floats(values) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]
