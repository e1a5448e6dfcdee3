"""Kinematic description of a floating-base robot read from its MJCF.

The body list is MuJoCo's body order without the world body, which is the depth-first
(pre-order) order of the MJCF: index 0 is the root (the body with the free joint), every
parent comes before its children. This is the order used for every per-body tensor in
mjmimic (observations, rewards, FK, motion files).

DoF convention (one number per velocity DoF, ``num_dofs = nv - 6``):

* hinge: the MuJoCo joint angle (qpos - the joint's ``ref``), radians.
* three hinges in one body with orthogonal axes form a **spherical** joint; its three DoFs
  are the three hinge angles, composed like MuJoCo does (first hinge outermost, i.e.
  intrinsic Euler angles about the listed axes). MimicKit's exp-map for such a joint is
  available through ``joint_rotations`` + ``rotations.quat_to_exp_map``.
* ball: an exp-map (axis * angle, 3 numbers) of the ball quaternion.
* a body without joints is fixed to its parent (0 DoFs).

Any other arrangement (slide joints, 2 hinges, non-orthogonal triples, a hinge beside a
ball) is refused with an ``AssetError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import mujoco
import numpy as np

from mjmimic.errors import AssetError

JointKind = Literal["fixed", "hinge", "spherical", "ball"]


@dataclass(frozen=True)
class Joint:
    """The joint between a non-root body and its parent."""

    name: str  # hinge name; for 3-hinge groups the shared prefix (``right_hip``)
    kind: JointKind
    body: int  # index into RobotModel.body_names
    dof_start: int
    dof_count: int
    hinge_names: tuple[str, ...]  # MuJoCo joint names making up this joint
    axes: np.ndarray  # (k, 3) hinge axes in the body frame (k = 0 for fixed/ball)
    anchors: np.ndarray  # (k, 3) joint positions in the body frame (all equal)
    qpos_adr: int  # first qpos address in MuJoCo's qpos


class RobotModel:
    """Bodies, joints, DoF layout and limits of one articulated floating-base robot."""

    def __init__(self, model: mujoco.MjModel, source: str):
        self.source = source
        self.mj_model = model
        root = _find_root(model, source)
        if root != 1:
            raise AssetError(f"{source}: the robot root body must be the first body in worldbody")
        self.body_names: list[str] = [
            mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b) or f"body{b}"
            for b in range(1, model.nbody)
        ]
        self.parents: list[int] = [int(model.body_parentid[b]) - 1 for b in range(1, model.nbody)]
        self.parents[0] = -1
        self.body_local_pos = model.body_pos[1:].copy()
        self.body_local_quat = model.body_quat[1:].copy()
        self.joints: list[Joint] = []
        dof = 0
        for b in range(2, model.nbody):
            joint = _classify_body_joint(model, b, dof, source)
            self.joints.append(joint)
            dof += joint.dof_count
        self.num_dofs = dof
        if self.num_dofs != model.nv - 6:
            raise AssetError(
                f"{source}: expected nv - 6 = {model.nv - 6} joint DoFs, found {self.num_dofs}"
            )
        self.dof_names: list[str] = []
        low, high = [], []
        for j in self.joints:
            if j.kind == "ball":
                jid = _joint_id(model, j.hinge_names[0])
                self.dof_names += [f"{j.name}_{a}" for a in "xyz"]
                limit = model.jnt_range[jid, 1] if model.jnt_limited[jid] else np.pi
                low += [-limit] * 3
                high += [limit] * 3
            else:
                for hinge in j.hinge_names:
                    jid = _joint_id(model, hinge)
                    self.dof_names.append(hinge)
                    lo, hi = model.jnt_range[jid] if model.jnt_limited[jid] else (-np.pi, np.pi)
                    low.append(lo)
                    high.append(hi)
        self.dof_low = np.asarray(low, dtype=np.float64)
        self.dof_high = np.asarray(high, dtype=np.float64)
        self.has_ball_joints = any(j.kind == "ball" for j in self.joints)
        # Hinge ``ref`` values: MuJoCo rotates by (qpos - qpos0) for hinges.
        self.hinge_qpos0 = np.zeros(self.num_dofs)
        for j in self.joints:
            if j.kind in ("hinge", "spherical"):
                self.hinge_qpos0[j.dof_start : j.dof_start + j.dof_count] = model.qpos0[
                    j.qpos_adr : j.qpos_adr + j.dof_count
                ]
        self.dof_body = np.zeros(self.num_dofs, dtype=np.int64)
        for j in self.joints:
            self.dof_body[j.dof_start : j.dof_start + j.dof_count] = j.body

    @classmethod
    def from_file(cls, path: str | Path) -> RobotModel:
        return cls(load_mjcf(path), str(path))

    @property
    def num_bodies(self) -> int:
        return len(self.body_names)

    def body_index(self, name: str) -> int:
        try:
            return self.body_names.index(name)
        except ValueError:
            raise AssetError(
                f"{self.source}: no body named '{name}'; bodies are: {', '.join(self.body_names)}"
            ) from None

    def body_indices(self, names: list[str]) -> list[int]:
        return [self.body_index(n) for n in names]

    def joint_by_name(self, name: str) -> Joint:
        for j in self.joints:
            if j.name == name or name in j.hinge_names:
                return j
        raise AssetError(
            f"{self.source}: no joint named '{name}'; joints are: "
            + ", ".join(j.name for j in self.joints if j.kind != "fixed")
        )

    def describe(self) -> str:
        """One line per joint: the DoF table users check a robot against."""
        lines = []
        for j in self.joints:
            dofs = range(j.dof_start, j.dof_start + j.dof_count)
            limits = ", ".join(f"[{self.dof_low[d]:+.2f}, {self.dof_high[d]:+.2f}]" for d in dofs)
            lines.append(f"{self.body_names[j.body]:<24} {j.kind:<9} {j.name:<24} {limits}")
        return "\n".join(lines)


# Compiled numbers an MJCF sets, per element kind: MuJoCo accepts "nan" and "inf" in an
# attribute with only a printed warning, and the model then simulates NaN (or, for a joint
# range, silently drops the limit).
_FINITE_FIELDS: tuple[tuple[str, mujoco.mjtObj | None, str], ...] = (
    ("body_pos", mujoco.mjtObj.mjOBJ_BODY, "pos"),
    ("body_quat", mujoco.mjtObj.mjOBJ_BODY, "quat"),
    ("body_ipos", mujoco.mjtObj.mjOBJ_BODY, "inertial pos"),
    ("body_iquat", mujoco.mjtObj.mjOBJ_BODY, "inertial quat"),
    ("body_mass", mujoco.mjtObj.mjOBJ_BODY, "mass"),
    ("body_inertia", mujoco.mjtObj.mjOBJ_BODY, "inertia"),
    ("jnt_pos", mujoco.mjtObj.mjOBJ_JOINT, "pos"),
    ("jnt_axis", mujoco.mjtObj.mjOBJ_JOINT, "axis"),
    ("jnt_range", mujoco.mjtObj.mjOBJ_JOINT, "range"),
    ("jnt_stiffness", mujoco.mjtObj.mjOBJ_JOINT, "stiffness"),
    ("qpos0", None, "ref (qpos0)"),
    ("dof_damping", mujoco.mjtObj.mjOBJ_DOF, "damping"),
    ("dof_armature", mujoco.mjtObj.mjOBJ_DOF, "armature"),
    ("dof_frictionloss", mujoco.mjtObj.mjOBJ_DOF, "frictionloss"),
    ("geom_size", mujoco.mjtObj.mjOBJ_GEOM, "size"),
    ("geom_pos", mujoco.mjtObj.mjOBJ_GEOM, "pos"),
    ("geom_quat", mujoco.mjtObj.mjOBJ_GEOM, "quat"),
    ("geom_friction", mujoco.mjtObj.mjOBJ_GEOM, "friction"),
    ("site_pos", mujoco.mjtObj.mjOBJ_SITE, "pos"),
    ("site_quat", mujoco.mjtObj.mjOBJ_SITE, "quat"),
    ("actuator_gear", mujoco.mjtObj.mjOBJ_ACTUATOR, "gear"),
    ("actuator_gainprm", mujoco.mjtObj.mjOBJ_ACTUATOR, "gain"),
    ("actuator_biasprm", mujoco.mjtObj.mjOBJ_ACTUATOR, "bias"),
    ("actuator_ctrlrange", mujoco.mjtObj.mjOBJ_ACTUATOR, "ctrlrange"),
    ("actuator_forcerange", mujoco.mjtObj.mjOBJ_ACTUATOR, "forcerange"),
)
_OBJ_WORD = {
    mujoco.mjtObj.mjOBJ_BODY: "body",
    mujoco.mjtObj.mjOBJ_JOINT: "joint",
    mujoco.mjtObj.mjOBJ_DOF: "joint",
    mujoco.mjtObj.mjOBJ_GEOM: "geom",
    mujoco.mjtObj.mjOBJ_SITE: "site",
    mujoco.mjtObj.mjOBJ_ACTUATOR: "actuator",
}


def load_mjcf(path: str | Path) -> mujoco.MjModel:
    """Compile an MJCF file, turning MuJoCo's exceptions into one-line user errors.

    Raises:
        AssetError: the file is missing, does not compile, or sets a NaN or infinite
            number (a body pos/quat, a joint range, a gain...).
    """
    path = Path(path)
    if not path.is_file():
        raise AssetError(f"robot model not found: {path}")
    try:
        model = mujoco.MjModel.from_xml_path(str(path))
    except ValueError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown error"
        raise AssetError(f"{path}: MuJoCo cannot load this MJCF: {first_line}") from None
    _check_finite(model, path)
    return model


def _check_finite(model: mujoco.MjModel, path: Path) -> None:
    for name, obj, attribute in _FINITE_FIELDS:
        rows = np.asarray(getattr(model, name))
        if rows.ndim == 1:
            rows = rows[:, None]
        bad = np.nonzero(~np.isfinite(rows).all(axis=1))[0]
        if not bad.size:
            continue
        row = int(bad[0])
        if obj is None:  # qpos0: name the joint whose qpos address this is
            joint = int(np.searchsorted(model.jnt_qposadr, row, side="right") - 1)
            obj, row = mujoco.mjtObj.mjOBJ_JOINT, joint
        if obj == mujoco.mjtObj.mjOBJ_DOF:
            obj, row = mujoco.mjtObj.mjOBJ_JOINT, int(model.dof_jntid[row])
        element = mujoco.mj_id2name(model, obj, row) or f"#{row}"
        raise AssetError(
            f"{path}: {_OBJ_WORD[obj]} {element!r} has a NaN or infinite {attribute} "
            f"({' '.join(f'{v:g}' for v in rows[int(bad[0])])}); give finite numbers in the MJCF"
        )


def _joint_id(model: mujoco.MjModel, name: str) -> int:
    return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)


def _find_root(model: mujoco.MjModel, source: str) -> int:
    roots = [b for b in range(1, model.nbody) if model.body_parentid[b] == 0]
    movable = [b for b in roots if model.body_jntnum[b] > 0]
    if len(movable) != 1 or len(roots) != 1:
        raise AssetError(
            f"{source}: expected exactly one robot (one body under worldbody with a free joint), "
            f"found {len(roots)} top-level bodies ({len(movable)} with joints)"
        )
    root = movable[0]
    if (
        model.body_jntnum[root] != 1
        or model.jnt_type[model.body_jntadr[root]] != mujoco.mjtJoint.mjJNT_FREE
    ):
        raise AssetError(
            f"{source}: the root body must have exactly one <freejoint/>; fixed-base robots "
            "are not supported"
        )
    return root


def _classify_body_joint(model: mujoco.MjModel, body: int, dof_start: int, source: str) -> Joint:
    body_name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, body) or f"body{body}"
    n = int(model.body_jntnum[body])
    jids = list(range(model.body_jntadr[body], model.body_jntadr[body] + n)) if n else []
    types = [int(model.jnt_type[j]) for j in jids]
    names = tuple(
        mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j) or f"joint{j}" for j in jids
    )
    index = body - 1
    empty = np.zeros((0, 3))
    if n == 0:
        return Joint(body_name, "fixed", index, dof_start, 0, (), empty, empty, -1)
    hinge = int(mujoco.mjtJoint.mjJNT_HINGE)
    anchors = model.jnt_pos[jids].copy()
    if not np.allclose(anchors, anchors[0], atol=1e-9):
        raise AssetError(
            f"{source}: body '{body_name}' has joints at different positions "
            f"({', '.join(names)}); the joints of one body must share one anchor point"
        )
    if n == 1 and types[0] == int(mujoco.mjtJoint.mjJNT_BALL):
        return Joint(
            names[0],
            "ball",
            index,
            dof_start,
            3,
            names,
            empty,
            anchors,
            int(model.jnt_qposadr[jids[0]]),
        )
    if all(t == hinge for t in types) and n in (1, 3):
        axes = model.jnt_axis[jids].copy()
        if n == 1:
            return Joint(
                names[0],
                "hinge",
                index,
                dof_start,
                1,
                names,
                axes,
                anchors,
                int(model.jnt_qposadr[jids[0]]),
            )
        gram = axes @ axes.T
        if np.allclose(gram, np.eye(3), atol=1e-6):
            prefix = _common_prefix(names)
            return Joint(
                prefix,
                "spherical",
                index,
                dof_start,
                3,
                names,
                axes,
                anchors,
                int(model.jnt_qposadr[jids[0]]),
            )
    kinds = ", ".join(
        f"{nm} ({mujoco.mjtJoint(t).name.removeprefix('mjJNT_').lower()})"
        for nm, t in zip(names, types, strict=True)
    )
    raise AssetError(
        f"{source}: body '{body_name}' has an unsupported joint arrangement: {kinds}; "
        "supported per body: none (fixed), 1 hinge, 3 hinges with orthogonal axes "
        "(spherical) or 1 ball joint"
    )


def _common_prefix(names: tuple[str, ...]) -> str:
    """``right_hip_x, right_hip_y, right_hip_z`` -> ``right_hip``."""
    stems = {nm.rsplit("_", 1)[0] for nm in names}
    return stems.pop() if len(stems) == 1 else names[0]
