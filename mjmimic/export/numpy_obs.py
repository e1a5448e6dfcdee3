"""The DeepMimic observation rebuilt from MuJoCo data in plain numpy, for one character.

This is sim2sim's own code path, written from the metadata and the formulas in
docs/deploying.md, not from the training env: it reads the character's state from
``MjData`` (MuJoCo's ``xpos``/``xquat``, not mjmimic's torch FK) and builds each term the
metadata lists, in the metadata's order. Agreement with the training env is therefore
evidence that both follow the documented formulas (tests/export/test_parity.py).

Quaternions are (w, x, y, z). Positions world frame, z up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np

from mjmimic.errors import MjmimicError
from mjmimic.export.metadata import ObservationInfo, ObsTermInfo, PolicyMetadata

# --------------------------------------------------------------------------------------
# Quaternion helpers (wxyz, any leading batch shape)


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def quat_conj(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def quat_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` (..., 3) by unit quaternions ``q`` (..., 4)."""
    w, u = q[..., :1], q[..., 1:]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def quat_angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (rad) of the rotation between unit quaternions ``a`` and ``b``."""
    dot = np.abs(np.sum(a * b, axis=-1))
    return 2.0 * np.arccos(np.clip(dot, 0.0, 1.0))


def quat_to_exp_map(q: np.ndarray) -> np.ndarray:
    """Axis * angle of unit quaternions, angle in [0, pi]."""
    q = np.where(q[..., :1] < 0, -q, q)
    v = q[..., 1:]
    s = np.linalg.norm(v, axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(s, q[..., :1])
    # sin(angle/2) ~ angle/2 near 0: the ratio tends to 2 / w.
    scale = np.where(s > 1e-12, angle / np.maximum(s, 1e-12), 2.0 / q[..., :1])
    return v * scale


def sign_continuous(q: np.ndarray) -> np.ndarray:
    """Flip signs along axis 0 so consecutive quaternions have a positive dot product."""
    q = q.copy()
    for i in range(1, q.shape[0]):
        flip = np.sum(q[i] * q[i - 1], axis=-1) < 0
        q[i][flip] *= -1.0
    return q


def tan_norm(q: np.ndarray) -> np.ndarray:
    """The rotated x-axis then the rotated z-axis (..., 6)."""
    shape = (*q.shape[:-1], 3)
    x = quat_rotate(q, np.broadcast_to([1.0, 0.0, 0.0], shape))
    z = quat_rotate(q, np.broadcast_to([0.0, 0.0, 1.0], shape))
    return np.concatenate([x, z], axis=-1)


def heading_cos_sin(q: np.ndarray) -> tuple[float, float]:
    """cos/sin of the yaw of ``q``'s x-axis; heading 0 when it points straight up/down."""
    fx, fy, _ = quat_rotate(q, np.array([1.0, 0.0, 0.0]))
    r = math.hypot(fx, fy)
    return (fx / r, fy / r) if r > 1e-9 else (1.0, 0.0)


def to_heading_frame(cos: float, sin: float, v: np.ndarray) -> np.ndarray:
    """World vectors (..., 3) seen in the frame rotated by the heading about +z."""
    out = v.copy()
    out[..., 0] = cos * v[..., 0] + sin * v[..., 1]
    out[..., 1] = cos * v[..., 1] - sin * v[..., 0]
    return out


# --------------------------------------------------------------------------------------
# Character state from MuJoCo


@dataclass
class Pose:
    """One character's (or reference frame's) state, float64, world frame."""

    root_pos: np.ndarray  # (3,)
    root_rot: np.ndarray  # (4,)
    joint_rot: np.ndarray  # (B-1, 4) rotation of each non-root body relative to its rest pose
    key_pos: np.ndarray  # (K, 3)
    root_vel: np.ndarray | None = None  # (3,) world
    root_ang_vel: np.ndarray | None = None  # (3,) world
    dof_vel: np.ndarray | None = None  # (D,) joint order


class RobotMap:
    """Where the metadata's joints and bodies live in a MuJoCo model, matched by name.

    A robot whose joint or body names differ from the policy's is refused, listing the
    differences; the order may differ (everything is looked up by name).
    """

    def __init__(self, model: mujoco.MjModel, meta: PolicyMetadata, source: str):
        self.model = model
        hinges = {}
        for j in range(model.njnt):
            kind = model.jnt_type[j]
            if kind == mujoco.mjtJoint.mjJNT_FREE:
                continue
            name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j) or f"joint{j}"
            if kind != mujoco.mjtJoint.mjJNT_HINGE:
                raise MjmimicError(
                    f"{source}: joint '{name}' is not a hinge; sim2sim drives hinges"
                )
            hinges[name] = j
        _require_same(source, "joints", meta.joint_names, list(hinges))
        ids = [hinges[n] for n in meta.joint_names]
        self.qpos_adr = model.jnt_qposadr[ids].copy()
        self.dof_adr = model.jnt_dofadr[ids].copy()
        bodies = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b) for b in range(model.nbody)]
        robot_bodies = [b for b in bodies[1:] if b]
        obs = meta.observation
        _require_same(source, "bodies", obs.body_names, robot_bodies)
        self.body_ids = np.array([bodies.index(n) for n in obs.body_names])
        self.parent_ids = model.body_parentid[self.body_ids[1:]]
        self.key_index = [obs.body_names.index(n) for n in obs.key_bodies]  # into body order
        # Bodies fixed to their parent always have identity joint rotation: no error.
        self.moving = model.body_jntnum[self.body_ids[1:]] > 0
        root_joint = model.body_jntadr[self.body_ids[0]]
        if root_joint < 0 or model.jnt_type[root_joint] != mujoco.mjtJoint.mjJNT_FREE:
            raise MjmimicError(f"{source}: the root body '{obs.body_names[0]}' has no free joint")
        self.root_qpos = int(model.jnt_qposadr[root_joint])
        self.root_dof = int(model.jnt_dofadr[root_joint])

    def qpos(self, root_pos: np.ndarray, root_rot: np.ndarray, dof_pos: np.ndarray) -> np.ndarray:
        qpos = self.model.qpos0.copy()
        qpos[self.root_qpos : self.root_qpos + 3] = root_pos
        qpos[self.root_qpos + 3 : self.root_qpos + 7] = root_rot
        qpos[self.qpos_adr] = dof_pos
        return qpos

    def qvel(self, root_rot: np.ndarray, lin: np.ndarray, ang: np.ndarray, dof_vel: np.ndarray):
        qvel = np.zeros(self.model.nv)
        qvel[self.root_dof : self.root_dof + 3] = lin
        # MuJoCo's free joint stores angular velocity in the body frame.
        qvel[self.root_dof + 3 : self.root_dof + 6] = quat_rotate(quat_conj(root_rot), ang)
        qvel[self.dof_adr] = dof_vel
        return qvel

    def body_state(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """(world positions of all bodies (B, 3), joint rotations (B-1, 4)); needs
        ``mj_kinematics`` on the current qpos."""
        m = self.model
        rest = quat_mul(data.xquat[self.parent_ids], m.body_quat[self.body_ids[1:]])
        joint_rot = quat_mul(quat_conj(rest), data.xquat[self.body_ids[1:]])
        return data.xpos[self.body_ids].copy(), joint_rot

    def pose(self, data: mujoco.MjData) -> Pose:
        """The character in ``data`` (``mj_kinematics`` must have run on its qpos)."""
        r = self.root_qpos
        root_rot = data.qpos[r + 3 : r + 7] / np.linalg.norm(data.qpos[r + 3 : r + 7])
        body_pos, joint_rot = self.body_state(data)
        d = self.root_dof
        return Pose(
            root_pos=data.qpos[r : r + 3].copy(),
            root_rot=root_rot,
            joint_rot=joint_rot,
            key_pos=body_pos[self.key_index],
            root_vel=data.qvel[d : d + 3].copy(),
            root_ang_vel=quat_rotate(root_rot, data.qvel[d + 3 : d + 6]),
            dof_vel=data.qvel[self.dof_adr].copy(),
        )


def _require_same(source: str, what: str, policy: list[str], robot: list[str]) -> None:
    missing = [n for n in policy if n not in robot]
    extra = [n for n in robot if n not in policy]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"policy {what} missing from the robot: {', '.join(missing)}")
        if extra:
            parts.append(f"robot {what} the policy does not know: {', '.join(extra)}")
        raise MjmimicError(f"{source}: robot does not match the policy ({'; '.join(parts)})")


# --------------------------------------------------------------------------------------
# The observation


def phase_encoding(phase: float, num_encoding: int) -> np.ndarray:
    freq = 2.0 * math.pi * 2.0 ** np.arange(num_encoding)
    return np.concatenate([[phase], np.sin(phase * freq), np.cos(phase * freq)])


def observation(
    info: ObservationInfo, char: Pose, targets: list[Pose], phase: float | None
) -> np.ndarray:
    """The policy input (float32, ``info.size``): every term the metadata lists, in its
    order. ``targets`` are the reference at ``info.tar_obs_steps`` control steps ahead."""
    terms = _character_terms(info, char)
    if info.enable_phase_obs:
        terms["phase"] = phase_encoding(phase, info.num_phase_encoding)
    if info.enable_tar_obs:
        terms.update(_target_terms(info, char, targets))
    return assemble(info.terms, terms)


def assemble(layout: list[ObsTermInfo], terms: dict[str, np.ndarray]) -> np.ndarray:
    """The values of the terms ``layout`` lists, in its order, as one float32 vector; a
    term this sim2sim does not compute, or of another size, is a one-line error."""
    parts = []
    for term in layout:
        if term.name not in terms:
            raise MjmimicError(
                f"observation term '{term.name}' is unknown to this sim2sim; "
                "was the policy exported by a newer mjmimic?"
            )
        value = np.asarray(terms[term.name], dtype=np.float64).reshape(-1)
        if value.size != term.size:
            raise MjmimicError(
                f"observation term '{term.name}': metadata says {term.size} numbers, "
                f"the robot gives {value.size}"
            )
        parts.append(value)
    return np.concatenate(parts).astype(np.float32)


def _character_terms(info: ObservationInfo, char: Pose) -> dict[str, np.ndarray]:
    root_axes = tan_norm(char.root_rot).reshape(2, 3)
    vel = np.stack([char.root_vel, char.root_ang_vel])
    keys = char.key_pos - char.root_pos
    if not info.global_obs:  # the character's own heading frame
        cos, sin = heading_cos_sin(char.root_rot)
        root_axes, vel, keys = (to_heading_frame(cos, sin, v) for v in (root_axes, vel, keys))
    return {
        "root_height": char.root_pos[2:3],
        "root_rot": root_axes,
        "root_vel": vel[0],
        "root_ang_vel": vel[1],
        "joint_rot": tan_norm(char.joint_rot),
        "dof_vel": char.dof_vel,
        "key_pos": keys,
    }


def _target_terms(info: ObservationInfo, char: Pose, targets: list[Pose]) -> dict[str, np.ndarray]:
    # Global: target root relative to the simulated root in world axes. Local: relative
    # to the first target frame's root, in that frame's heading frame.
    origin = char.root_pos if info.global_obs else targets[0].root_pos
    cos, sin = (1.0, 0.0) if info.global_obs else heading_cos_sin(targets[0].root_rot)
    out = {}
    for step, tar in zip(info.tar_obs_steps, targets, strict=True):
        pos = to_heading_frame(cos, sin, tar.root_pos - origin)
        axes = to_heading_frame(cos, sin, tan_norm(tar.root_rot).reshape(2, 3))
        keys = to_heading_frame(cos, sin, tar.key_pos - tar.root_pos)
        root = [pos[0], pos[1], tar.root_pos[2]] if info.root_height_obs else pos[:2]
        out[f"tar{step}.root_pos"] = np.asarray(root)
        out[f"tar{step}.root_rot"] = axes
        out[f"tar{step}.joint_rot"] = tan_norm(tar.joint_rot)
        out[f"tar{step}.key_pos"] = keys
    return out
