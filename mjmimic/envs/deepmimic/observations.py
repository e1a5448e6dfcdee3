"""DeepMimic observation: the character's state plus future reference frames, as one vector.

``compute_deepmimic_obs`` builds the policy input with MimicKit's layout (same terms, same
order, same frames), so a config that gives 464 numbers there gives 464 here.
``observation_layout`` names every one of those numbers (``tar2.key_pos[head].z``), so a
NaN or an out-of-range value in dimension 317 can be reported by name.

Frames. "Heading frame" = the world rotated about +z so the root's facing direction (its
x-axis projected on the ground) becomes +x. With ``global_obs`` everything is in world axes
(positions relative to the root); without, the character part is in the current root's
heading frame and the target part in the first target frame's heading frame.

Rotations enter as "tan-norm": the rotated x-axis then the rotated z-axis (6 numbers),
continuous and unique, unlike a quaternion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from mjmimic.envs.char_state import CharState
from mjmimic.envs.heading import heading_cos_sin, tan_norm, yaw_rotate_inverse

# --------------------------------------------------------------------------------------
# Inputs and settings


@dataclass(frozen=True)
class ObsSettings:
    """The env keys that shape the observation (defaults: MimicKit's code defaults)."""

    global_obs: bool
    root_height_obs: bool = True
    enable_phase_obs: bool = True
    num_phase_encoding: int = 0
    enable_tar_obs: bool = False
    tar_obs_steps: tuple[int, ...] = (1,)


@dataclass(frozen=True)
class ObsTerm:
    """A contiguous block of the observation vector."""

    name: str  # e.g. "joint_rot", "tar2.key_pos"
    size: int
    labels: tuple[str, ...]  # one per dimension, e.g. "joint_rot[right_shin].tan.x"


def phase_encoding(phase: torch.Tensor, num_encoding: int) -> torch.Tensor:
    """``[φ, sin(2π·2^0 φ), …, sin(2π·2^(k-1) φ), cos(2π·2^0 φ), …, cos(2π·2^(k-1) φ)]``."""
    phase = phase.unsqueeze(-1)
    if num_encoding <= 0:
        return phase
    freq = (2.0 * math.pi) * torch.pow(
        2.0, torch.arange(num_encoding, dtype=phase.dtype, device=phase.device)
    )
    angle = phase * freq
    return torch.cat([phase, torch.sin(angle), torch.cos(angle)], dim=-1)


# --------------------------------------------------------------------------------------
# The observation


def compute_deepmimic_obs(
    char: CharState,
    targets: CharState | None,
    phase: torch.Tensor | None,
    cfg: ObsSettings,
) -> torch.Tensor:
    """The DeepMimic policy observation, (N, obs_dim), in MimicKit's order:

    1. root height (if ``root_height_obs``)
    2. root rotation tan-norm (world, or heading-relative if not ``global_obs``)
    3. root linear velocity, 4. root angular velocity (world or heading frame)
    5. joint rotation tan-norm of every non-root body (local rotations, so frame-free)
    6. DoF velocities
    7. key-body positions minus root position (world axes or heading frame)
    8. phase encoding (if ``enable_phase_obs``), see ``phase_encoding``
    9. for each target step (if ``enable_tar_obs``): target root position relative to the
       reference root (current sim root if ``global_obs``, else the first target frame's
       root, in its heading frame) with z replaced by the absolute target root height if
       ``root_height_obs`` else dropped; target root rotation tan-norm; target joint
       rotation tan-norms; target key positions relative to that target's own root.

    ``char`` needs every field but ``body_pos``; ``targets`` (N, S, ...) needs root_pos,
    root_rot, joint_rot and key_pos; ``phase`` (N,) is the motion phase in [0, 1].
    """
    n = char.root_pos.shape[0]
    root_pos = char.root_pos
    key_rel = char.key_pos - root_pos.unsqueeze(-2)
    # Every 3-vector that may need the heading rotation, rotated in one go:
    # [root tan axis, root norm axis, root vel, root ang vel, key_1 … key_K]
    vecs = torch.cat(
        [
            tan_norm(char.root_rot).view(n, 2, 3),
            char.root_vel.unsqueeze(-2),
            char.root_ang_vel.unsqueeze(-2),
            key_rel,
        ],
        dim=-2,
    )
    if not cfg.global_obs:
        cos, sin = heading_cos_sin(char.root_rot)
        vecs = yaw_rotate_inverse(cos.unsqueeze(-1), sin.unsqueeze(-1), vecs)
    vecs = vecs.reshape(n, -1)

    parts = []
    if cfg.root_height_obs:
        parts.append(root_pos[:, 2:3])
    parts += [
        vecs[:, :12],  # root rot (6), root vel (3), root ang vel (3)
        tan_norm(char.joint_rot).reshape(n, -1),
        char.dof_vel,
        vecs[:, 12:],  # key positions
    ]
    if cfg.enable_phase_obs:
        if phase is None:
            raise ValueError("enable_phase_obs is set but no phase was given")
        parts.append(phase_encoding(phase, cfg.num_phase_encoding))
    if cfg.enable_tar_obs:
        if targets is None:
            raise ValueError("enable_tar_obs is set but no target frames were given")
        if targets.root_pos.shape[1] != len(cfg.tar_obs_steps):
            raise ValueError(
                f"got {targets.root_pos.shape[1]} target frames for tar_obs_steps "
                f"{list(cfg.tar_obs_steps)}"
            )
        parts.append(_target_obs(char, targets, cfg))
    return torch.cat(parts, dim=-1)


def _target_obs(char: CharState, tar: CharState, cfg: ObsSettings) -> torch.Tensor:
    n = tar.root_pos.shape[0]
    ref_pos = char.root_pos if cfg.global_obs else tar.root_pos[:, 0]
    frames = target_frame_obs(ref_pos, tar.root_rot[:, 0], tar, cfg.global_obs, cfg.root_height_obs)
    return frames.reshape(n, -1)


def target_frame_obs(
    ref_root_pos: torch.Tensor,
    ref_root_rot: torch.Tensor,
    frames: CharState,
    global_obs: bool,
    root_height_obs: bool,
) -> torch.Tensor:
    """MimicKit's target-frame encoding of a stack of S frames, (N, S, per_frame).

    Per frame: root position minus ``ref_root_pos`` (N, 3), with z replaced by the
    frame's absolute root height if ``root_height_obs``, else dropped; root rotation
    tan-norm; joint rotation tan-norms; key positions relative to that frame's own root.
    Without ``global_obs`` the positions and the root rotation are seen from the heading
    frame of ``ref_root_rot`` (N, 4). DeepMimic's target observation and AMP's
    discriminator frames (``envs/amp/observations.py``) are this encoding with different
    reference roots. ``frames`` (N, S, ...) needs root_pos, root_rot, joint_rot, key_pos.
    """
    n, steps = frames.root_pos.shape[:2]
    # Per frame: [root pos diff, root tan axis, root norm axis, key_1 … key_K]
    vecs = torch.cat(
        [
            (frames.root_pos - ref_root_pos.unsqueeze(-2)).unsqueeze(-2),
            tan_norm(frames.root_rot).view(n, steps, 2, 3),
            frames.key_pos - frames.root_pos.unsqueeze(-2),
        ],
        dim=-2,
    )
    if not global_obs:
        cos, sin = heading_cos_sin(ref_root_rot)
        vecs = yaw_rotate_inverse(cos[:, None, None], sin[:, None, None], vecs)
    vecs = vecs.reshape(n, steps, -1)
    if root_height_obs:
        root_part = torch.cat([vecs[..., :2], frames.root_pos[..., 2:3]], dim=-1)
    else:
        root_part = vecs[..., :2]
    return torch.cat(
        [
            root_part,
            vecs[..., 3:9],
            tan_norm(frames.joint_rot).reshape(n, steps, -1),
            vecs[..., 9:],
        ],
        dim=-1,
    )


# --------------------------------------------------------------------------------------
# Names of the dimensions

_AXES = ("x", "y", "z")
_TAN_NORM_LABELS = tuple(f"{a}.{c}" for a in ("tan", "norm") for c in _AXES)


def observation_layout(
    num_bodies: int,
    num_dofs: int,
    key_body_names: list[str],
    body_names: list[str],
    dof_names: list[str],
    cfg: ObsSettings,
) -> list[ObsTerm]:
    """The terms of ``compute_deepmimic_obs``'s output, in order, one label per dimension.

    Label scheme (``<body>`` = MJCF body name, ``<dof>`` = MJCF joint name):

    * ``root_height``
    * ``root_rot.tan.x`` … ``root_rot.norm.z`` (tan = the body's x-axis, norm = its z-axis,
      both expressed in the observation frame); same for ``joint_rot[<body>].tan.x``
    * ``root_vel.x``, ``root_ang_vel.z``, ``dof_vel[<dof>]``, ``key_pos[<body>].x``
    * ``phase``, ``phase.sin<k>``, ``phase.cos<k>`` (frequency 2^k cycles per clip)
    * target step s (the value from ``tar_obs_steps``): ``tar<s>.root_pos.x``,
      ``tar<s>.root_pos.y``, ``tar<s>.root_height`` (absolute, if ``root_height_obs``),
      ``tar<s>.root_rot.tan.x``, ``tar<s>.joint_rot[<body>].norm.y``,
      ``tar<s>.key_pos[<body>].z``
    """
    if len(body_names) != num_bodies or len(dof_names) != num_dofs:
        raise ValueError(
            f"got {len(body_names)} body names for {num_bodies} bodies and "
            f"{len(dof_names)} DoF names for {num_dofs} DoFs"
        )
    joint_bodies = body_names[1:]
    terms = []
    if cfg.root_height_obs:
        terms.append(obs_term("root_height", ["root_height"]))
    terms += [
        obs_term("root_rot", rot_labels("root_rot")),
        obs_term("root_vel", vec_labels("root_vel")),
        obs_term("root_ang_vel", vec_labels("root_ang_vel")),
        obs_term("joint_rot", [lb for b in joint_bodies for lb in rot_labels(f"joint_rot[{b}]")]),
        obs_term("dof_vel", [f"dof_vel[{d}]" for d in dof_names]),
        obs_term("key_pos", [lb for k in key_body_names for lb in vec_labels(f"key_pos[{k}]")]),
    ]
    if cfg.enable_phase_obs:
        k = range(cfg.num_phase_encoding)
        terms.append(
            obs_term(
                "phase", ["phase"] + [f"phase.sin{i}" for i in k] + [f"phase.cos{i}" for i in k]
            )
        )
    if cfg.enable_tar_obs:
        for step in cfg.tar_obs_steps:
            terms += target_frame_terms(
                f"tar{step}", joint_bodies, key_body_names, cfg.root_height_obs
            )
    return [t for t in terms if t.size > 0]


def target_frame_terms(
    prefix: str, joint_bodies: list[str], key_body_names: list[str], root_height_obs: bool
) -> list[ObsTerm]:
    """The terms of one frame of ``target_frame_obs``, named ``<prefix>.root_pos`` (x, y,
    then ``<prefix>.root_height`` if ``root_height_obs``), ``<prefix>.root_rot``,
    ``<prefix>.joint_rot``, ``<prefix>.key_pos``; empty terms included."""
    root = [f"{prefix}.root_pos.x", f"{prefix}.root_pos.y"]
    if root_height_obs:
        root.append(f"{prefix}.root_height")
    return [
        obs_term(f"{prefix}.root_pos", root),
        obs_term(f"{prefix}.root_rot", rot_labels(f"{prefix}.root_rot")),
        obs_term(
            f"{prefix}.joint_rot",
            [lb for b in joint_bodies for lb in rot_labels(f"{prefix}.joint_rot[{b}]")],
        ),
        obs_term(
            f"{prefix}.key_pos",
            [lb for k in key_body_names for lb in vec_labels(f"{prefix}.key_pos[{k}]")],
        ),
    ]


def obs_term(name: str, labels: list[str]) -> ObsTerm:
    return ObsTerm(name, len(labels), tuple(labels))


def vec_labels(prefix: str) -> list[str]:
    return [f"{prefix}.{a}" for a in _AXES]


def rot_labels(prefix: str) -> list[str]:
    return [f"{prefix}.{s}" for s in _TAN_NORM_LABELS]


def observation_labels(layout: list[ObsTerm]) -> list[str]:
    """One label per observation dimension, in order."""
    return [label for t in layout for label in t.labels]


def observation_size(layout: list[ObsTerm]) -> int:
    return sum(t.size for t in layout)
