"""ADD's discriminator observation: the character's whole pose and velocities per frame.

``compute_add_disc_obs`` is MimicKit's ``add_env.compute_disc_obs``. ADD's discriminator
sees the difference between the reference's and the simulated character's observation
at the same motion time (``disc_obs_demo - disc_obs``, computed by the learner), so the
encoding is absolute where it can be. Per frame of the window (oldest -> newest):

1. root position: world xyz if ``global_obs``, else only its height (x, y are 0);
2. root rotation tan-norm, 3. joint rotation tan-norm of every non-root body,
4. positions of **all** bodies (the root's row included, always 0) minus the root,
5. root linear velocity, 6. root angular velocity, 7. DoF velocities.

Without ``global_obs`` each frame's root rotation, body positions and velocities are seen
from *that frame's* heading frame (unlike AMP, which uses the newest frame's).
Flattened frame by frame: (N, n * per_frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mjmimic.envs.char_state import CharState
from mjmimic.envs.deepmimic.observations import ObsTerm, obs_term, rot_labels, vec_labels
from mjmimic.envs.disc_history import frame_name
from mjmimic.envs.heading import heading_cos_sin, tan_norm, yaw_rotate_inverse


@dataclass(frozen=True)
class ADDDiscSettings:
    """The env keys that shape ADD's discriminator observation."""

    global_obs: bool


def compute_add_disc_obs(frames: CharState, cfg: ADDDiscSettings) -> torch.Tensor:
    """(N, n * per_frame) from a window ``frames`` (N, n, ...) oldest -> newest; needs
    root_pos, root_rot, joint_rot, body_pos, root_vel, root_ang_vel, dof_vel."""
    n, steps = frames.root_pos.shape[:2]
    root_pos = frames.root_pos
    # Per frame: [root tan axis, root norm axis, body_1 … body_B, root vel, root ang vel]
    vecs = torch.cat(
        [
            tan_norm(frames.root_rot).view(n, steps, 2, 3),
            frames.body_pos - root_pos.unsqueeze(-2),
            frames.root_vel.unsqueeze(-2),
            frames.root_ang_vel.unsqueeze(-2),
        ],
        dim=-2,
    )
    if not cfg.global_obs:
        cos, sin = heading_cos_sin(frames.root_rot)
        vecs = yaw_rotate_inverse(cos.unsqueeze(-1), sin.unsqueeze(-1), vecs)
        root_pos = torch.cat([torch.zeros_like(root_pos[..., :2]), root_pos[..., 2:]], dim=-1)
    vecs = vecs.reshape(n, steps, -1)
    out = torch.cat(
        [
            root_pos,
            vecs[..., :6],  # root rotation
            tan_norm(frames.joint_rot).reshape(n, steps, -1),
            vecs[..., 6:],  # body positions, root vel, root ang vel
            frames.dof_vel,
        ],
        dim=-1,
    )
    return out.reshape(n, -1)


def add_disc_obs_layout(
    num_steps: int, body_names: list[str], dof_names: list[str]
) -> list[ObsTerm]:
    """The terms of ``compute_add_disc_obs``'s output in order, oldest frame first:
    ``disc[t].root_pos.x`` (.y, .z), ``disc[t].root_rot.tan.x``,
    ``disc[t].joint_rot[<body>].norm.z``, ``disc[t].body_pos[<body>].y``,
    ``disc[t].root_vel.x``, ``disc[t].root_ang_vel.z``, ``disc[t].dof_vel[<dof>]``."""
    terms = []
    for k in range(num_steps):
        p = frame_name(k, num_steps)
        terms += [
            obs_term(f"{p}.root_pos", vec_labels(f"{p}.root_pos")),
            obs_term(f"{p}.root_rot", rot_labels(f"{p}.root_rot")),
            obs_term(
                f"{p}.joint_rot",
                [lb for b in body_names[1:] for lb in rot_labels(f"{p}.joint_rot[{b}]")],
            ),
            obs_term(
                f"{p}.body_pos", [lb for b in body_names for lb in vec_labels(f"{p}.body_pos[{b}]")]
            ),
            obs_term(f"{p}.root_vel", vec_labels(f"{p}.root_vel")),
            obs_term(f"{p}.root_ang_vel", vec_labels(f"{p}.root_ang_vel")),
            obs_term(f"{p}.dof_vel", [f"{p}.dof_vel[{d}]" for d in dof_names]),
        ]
    return [t for t in terms if t.size > 0]
