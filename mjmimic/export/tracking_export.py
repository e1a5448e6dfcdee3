"""Export of a whole-body tracking policy: BeyondMimic's ONNX interface and its metadata.

mjlab's motion policy graph takes ``obs`` (1, P) and ``time_step`` (1, 1) and returns the
raw action and the reference at that control step: ``joint_pos``, ``joint_vel`` (1, D) and
the tracked bodies' ``body_pos_w``, ``body_quat_w`` (wxyz), ``body_lin_vel_w``,
``body_ang_vel_w`` (1, K, ·), ``time_step`` clamped to the clip's last step. BeyondMimic's
deploy code builds the command terms of the observation from these outputs, so the
reference is in the graph as constants: one clip sampled at the control rate, computed
here with the env's own motion library and torch kinematics (the very numbers its
reward and observation used in training). Shapes are fixed (batch 1), as mjlab exports
them: deploy code that sizes its buffers from the model's input shapes then works.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from mjmimic.envs.base import Env
from mjmimic.envs.capabilities import ReferenceMotions, require
from mjmimic.errors import MjmimicError
from mjmimic.export.metadata import ObsTermInfo
from mjmimic.export.tracking_metadata import (
    ACTIONS_DEFAULT_OFFSET,
    TASK_TRACKING,
    TASK_VERSION,
    TRACKING_INPUTS,
    TRACKING_OUTPUTS,
    ReferenceOutputs,
    TrackingFallInfo,
    TrackingObservationInfo,
)
from mjmimic.motion.library import LOOP_WRAP
from mjmimic.rotations import matrix_to_quat

# The reference outputs after ``actions``, as the graph returns them.
REFERENCE_OUTPUTS = TRACKING_OUTPUTS[1:]


class TrackingDeployedPolicy(nn.Module):
    """``actions`` (the env's clipped raw action) plus the reference at ``time_step``."""

    input_names: ClassVar[list[str]] = TRACKING_INPUTS
    output_names: ClassVar[list[str]] = TRACKING_OUTPUTS
    dynamic_axes: ClassVar[dict[str, dict[int, str]]] = {}  # mjlab's fixed shapes (batch 1)

    def __init__(self, actions: nn.Module, reference: dict[str, torch.Tensor]):
        super().__init__()
        self.actions = actions
        for name in REFERENCE_OUTPUTS:
            self.register_buffer(name, reference[name].detach().clone().float())
        self.last_step = int(reference["joint_pos"].shape[0]) - 1

    def forward(self, obs: torch.Tensor, time_step: torch.Tensor) -> tuple[torch.Tensor, ...]:
        step = torch.clamp(time_step.long().squeeze(-1), 0, self.last_step)
        return (self.actions(obs), *(getattr(self, name)[step] for name in REFERENCE_OUTPUTS))

    @staticmethod
    def example_inputs(obs_dim: int) -> tuple[torch.Tensor, ...]:
        return torch.zeros(1, obs_dim), torch.zeros(1, 1)

    def parity_feeds(self, batch: torch.Tensor) -> list[tuple[torch.Tensor, ...]]:
        """One observation at a time (batch 1), at steps from 0 to past the last."""
        n = batch.shape[0]
        steps = [i * (self.last_step + 10) // max(n - 1, 1) for i in range(n)]
        return [(batch[i : i + 1], torch.tensor([[float(k)]])) for i, k in enumerate(steps)]


@dataclass
class TrackingDeployment:
    """The graph to export and what the metadata says about its reference."""

    module: TrackingDeployedPolicy
    reference: ReferenceOutputs


def tracking_deployment(
    env: Env, spec: dict[str, Any], actions: nn.Module, clip: str | None, episode_length: float
) -> TrackingDeployment:
    """The tracking graph of ``env``'s policy (``actions``), replaying ``clip`` (default:
    the run's first) sampled every control step: to its end, or for a looping clip to
    the episode length."""
    lib = require(env, ReferenceMotions, "mjmimic export").motion_lib
    names = list(lib.names)
    if clip is not None and clip not in names:
        raise MjmimicError(
            f"--clip {clip}: the run has no such clip; its clips are: {', '.join(names)}"
        )
    index = names.index(clip) if clip is not None else 0
    ids = torch.tensor([index])
    horizon = float(lib.clip_duration(ids)[0])
    if bool(lib.clip_loop_mode(ids)[0] == LOOP_WRAP):
        horizon = max(horizon, episode_length)
    num_steps = math.ceil(horizon / env.dt - 1e-6) + 1
    times = torch.arange(num_steps, dtype=torch.float64) * env.dt
    state = lib.get_state(ids.expand(num_steps), times)
    kin = env.engine.kinematics
    pos, mat = kin.forward_kinematics_matrices(
        state.root_pos, state.root_rot, state.dof_pos, state.joint_rot
    )
    quat = matrix_to_quat(mat)
    lin, ang = kin.body_velocities(
        pos, quat, state.root_lin_vel, state.root_ang_vel, state.dof_pos, state.dof_vel
    )
    body_names = list(env.robot.body_names)
    tracked = [body_names.index(b) for b in spec["observation"]["tracked_bodies"]]
    reference = {
        "joint_pos": state.dof_pos,
        "joint_vel": state.dof_vel,
        "body_pos_w": pos[:, tracked],
        "body_quat_w": quat[:, tracked],
        "body_lin_vel_w": lin[:, tracked],
        "body_ang_vel_w": ang[:, tracked],
    }
    module = TrackingDeployedPolicy(actions, reference).eval()
    return TrackingDeployment(module, ReferenceOutputs(names[index], num_steps))


def tracking_fields(
    spec: dict[str, Any], deployment: TrackingDeployment, episode_length: float
) -> dict[str, Any]:
    """The ``PolicyMetadata`` fields of a tracking policy (format version 2)."""
    obs, falls, actions = spec["observation"], spec["falls"], spec["actions"]
    default = [float(v) for v in actions["default_joint_pos"]]
    return {
        "task": TASK_TRACKING,
        "format_version": TASK_VERSION[TASK_TRACKING],
        "default_joint_pos": default,
        "action_scale": [float(v) for v in actions["action_scale"]],
        "action_offset": default,
        "action_mapping": ACTIONS_DEFAULT_OFFSET,
        "observation": TrackingObservationInfo(
            size=obs["size"],
            terms=[ObsTermInfo(name, size, list(labels)) for name, size, labels in obs["terms"]],
            body_names=list(obs["body_names"]),
            anchor_body=obs["anchor_body"],
            tracked_bodies=list(obs["tracked_bodies"]),
            key_bodies=list(obs["key_bodies"]),
            base_lin_vel_obs=obs["base_lin_vel_obs"],
            noise={k: float(v) for k, v in obs["noise"].items()},
        ),
        "falls": TrackingFallInfo(
            contact_bodies=list(falls["contact_bodies"]),
            termination_height=falls["termination_height"],
            anchor_height_threshold=falls["anchor_height_threshold"],
            anchor_ori_threshold=falls["anchor_ori_threshold"],
            end_effectors=list(falls["end_effectors"]),
            end_effector_height_threshold=falls["end_effector_height_threshold"],
        ),
        "episode_length": float(episode_length),
        "reference_outputs": deployment.reference,
        "inputs": list(TRACKING_INPUTS),
        "outputs": list(TRACKING_OUTPUTS),
    }
