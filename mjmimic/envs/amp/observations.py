"""AMP's discriminator observation: a window of n frames of motion, as one vector.

``compute_amp_disc_obs`` is MimicKit's ``amp_env.compute_disc_obs``: every frame of the
window (oldest -> newest) in DeepMimic's target-frame encoding
(``deepmimic.observations.target_frame_obs``) relative to the *newest* frame, followed by
that frame's velocities:

1. root position minus the newest frame's root position, z replaced by the absolute root
   height if ``root_height_obs`` (else dropped). With ``track_root`` (``enable_tar_obs``
   and ``global_obs``) the reference is the world origin instead: absolute positions;
2. root rotation tan-norm, 3. joint rotation tan-norm of every non-root body,
4. key-body positions minus that frame's root position,
5. root linear velocity, 6. root angular velocity, 7. DoF velocities (if ``dof_vel_obs``).

Without ``global_obs`` positions, root rotations and velocities of every frame are seen
from the newest frame's heading frame, so the window does not depend on which way the
character faces. Flattened frame by frame: (N, n * per_frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mjmimic.envs.char_state import CharState
from mjmimic.envs.deepmimic.observations import (
    ObsTerm,
    obs_term,
    target_frame_obs,
    target_frame_terms,
    vec_labels,
)
from mjmimic.envs.disc_history import frame_name
from mjmimic.envs.heading import heading_cos_sin, yaw_rotate_inverse
from mjmimic.rotations import quat_identity


@dataclass(frozen=True)
class AMPDiscSettings:
    """The env keys that shape AMP's discriminator observation."""

    global_obs: bool
    root_height_obs: bool = True
    track_root: bool = False  # enable_tar_obs and global_obs: frames relative to the origin
    dof_vel_obs: bool = True  # disc_dof_vel_obs


def compute_amp_disc_obs(frames: CharState, cfg: AMPDiscSettings) -> torch.Tensor:
    """(N, n * per_frame) from a window ``frames`` (N, n, ...) oldest -> newest; needs
    root_pos, root_rot, joint_rot, key_pos, root_vel, root_ang_vel, dof_vel."""
    n, steps = frames.root_pos.shape[:2]
    if cfg.track_root:
        ref_pos = torch.zeros_like(frames.root_pos[:, -1])
        ref_rot = quat_identity((n,), frames.root_rot.dtype, frames.root_rot.device)
    else:
        ref_pos, ref_rot = frames.root_pos[:, -1], frames.root_rot[:, -1]
    pose = target_frame_obs(ref_pos, ref_rot, frames, cfg.global_obs, cfg.root_height_obs)
    vel = torch.stack([frames.root_vel, frames.root_ang_vel], dim=-2)  # (N, n, 2, 3)
    if not cfg.global_obs:
        cos, sin = heading_cos_sin(ref_rot)
        vel = yaw_rotate_inverse(cos[:, None, None], sin[:, None, None], vel)
    parts = [pose, vel.reshape(n, steps, 6)]
    if cfg.dof_vel_obs:
        parts.append(frames.dof_vel)
    return torch.cat(parts, dim=-1).reshape(n, -1)


def amp_disc_obs_layout(
    num_steps: int,
    body_names: list[str],
    key_body_names: list[str],
    dof_names: list[str],
    cfg: AMPDiscSettings,
) -> list[ObsTerm]:
    """The terms of ``compute_amp_disc_obs``'s output in order, oldest frame first, named
    as the DeepMimic target terms with the frame as prefix: ``disc[t-9].root_pos.x``,
    ``disc[t-9].root_height``, ``disc[t-9].root_rot.tan.x``,
    ``disc[t-9].joint_rot[<body>].norm.z``, ``disc[t-9].key_pos[<body>].y``,
    ``disc[t-9].root_vel.x``, ``disc[t-9].root_ang_vel.z``, ``disc[t-9].dof_vel[<dof>]``
    ... ``disc[t].dof_vel[<dof>]``."""
    terms = []
    for k in range(num_steps):
        p = frame_name(k, num_steps)
        terms += target_frame_terms(p, body_names[1:], key_body_names, cfg.root_height_obs)
        terms += [
            obs_term(f"{p}.root_vel", vec_labels(f"{p}.root_vel")),
            obs_term(f"{p}.root_ang_vel", vec_labels(f"{p}.root_ang_vel")),
        ]
        if cfg.dof_vel_obs:
            terms.append(obs_term(f"{p}.dof_vel", [f"{p}.dof_vel[{d}]" for d in dof_names]))
    return [t for t in terms if t.size > 0]
