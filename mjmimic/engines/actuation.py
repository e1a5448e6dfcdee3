"""Where each joint's PD gains and effort limit come from.

Precedence, per DoF (first that applies wins), recorded in ``PDTable.sources``:

1. ``joint_gains`` in the engine config (exact joint name, then the first matching glob);
   source ``config``;
2. the robot profile an env config names (``robot: g1``): ``envs/robot_defaults.py`` has
   put its gains into ``joint_gains``, one entry per joint, wherever step 1 gave none
   (per number: kp, kd, effort, armature); source ``robot profile``;
3. the MJCF's own actuator on that joint: a ``<position>``-style actuator gives kp (gain)
   and kd (-bias[2]); its ``forcerange`` (or a motor's ``ctrlrange × gear``) gives the effort;
4. the joint's ``stiffness``/``damping`` (MimicKit's convention). Those are then removed as
   passive spring/damper so the joint is not driven twice;
5. otherwise the joint has no gains: an error in ``pos`` mode.

The effort limit falls back to the joint's ``actuatorfrcrange`` and then to unlimited.
Ball joints have 3 DoFs sharing the joint's gains.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection
from dataclasses import dataclass

import mujoco
import numpy as np

from mjmimic.config import get_origin
from mjmimic.engines.config import EngineConfig, JointGains
from mjmimic.errors import AssetError
from mjmimic.robots.model import RobotModel
from mjmimic.robots.profiles import PROFILE_ORIGIN


@dataclass
class PDTable:
    """Per-DoF PD parameters in robot DoF order."""

    kp: np.ndarray
    kd: np.ndarray
    effort: np.ndarray  # inf = unlimited
    sources: list[str]  # where kp/kd came from, per DoF: config, robot profile, mjcf ...
    passive_from_joint: list[int]  # MuJoCo joint ids whose stiffness/damping became PD gains


def resolve_pd_table(
    robot: RobotModel,
    joint_gains: dict[str, JointGains],
    require_gains: bool,
    from_profile: Collection[str] = (),
) -> PDTable:
    """``from_profile``: the ``joint_gains`` keys whose kp came from a robot profile
    (``profile_gain_keys``); their source reads ``robot profile``."""
    model = robot.mj_model
    nd = robot.num_dofs
    kp = np.full(nd, np.nan)
    kd = np.full(nd, np.nan)
    effort = np.full(nd, np.inf)
    sources = ["none"] * nd
    passive: list[int] = []
    actuator_of_joint = _actuators_by_joint(model)
    for joint in robot.joints:
        for k, hinge in enumerate(joint.hinge_names):
            jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, hinge)
            dofs = (
                range(joint.dof_start, joint.dof_start + 3)
                if joint.kind == "ball"
                else [joint.dof_start + k]
            )
            key = config_gains_key(joint_gains, hinge)
            cfg = None if key is None else joint_gains[key]
            act = actuator_of_joint.get(jid)
            g_kp, g_kd, g_eff, src = _mjcf_gains(model, jid, act)
            if g_kp is not None and src == "mjcf joint stiffness/damping":
                passive.append(jid)
            if cfg is not None and cfg.kp is not None:
                src = "robot profile" if key in from_profile else "config"
                g_kp, g_kd = cfg.kp, cfg.kd if cfg.kd is not None else 0.0
            if cfg is not None and cfg.effort is not None:
                g_eff = cfg.effort
            for d in dofs:
                if g_kp is not None:
                    kp[d], kd[d], sources[d] = g_kp, g_kd, src
                if g_eff is not None:
                    effort[d] = g_eff
    missing = [robot.dof_names[d] for d in range(nd) if np.isnan(kp[d])]
    if require_gains and missing:
        raise AssetError(
            f"{robot.source}: no PD gains for {len(missing)} joint(s) ({', '.join(missing[:6])}"
            f"{', ...' if len(missing) > 6 else ''}); give them in the engine config under "
            "joint_gains (name or glob: {kp, kd, effort}) or as position actuators in the MJCF"
        )
    return PDTable(np.nan_to_num(kp), np.nan_to_num(kd), effort, sources, passive)


def config_gains_for(joint_gains: dict[str, JointGains], name: str) -> JointGains | None:
    """The config entry for joint ``name``: its exact name wins, then the first glob."""
    key = config_gains_key(joint_gains, name)
    return None if key is None else joint_gains[key]


def config_gains_key(joint_gains: dict[str, JointGains], name: str) -> str | None:
    """The key of ``config_gains_for``'s entry (the name or the glob), None if none."""
    if name in joint_gains:
        return name
    for pattern in joint_gains:
        if fnmatch.fnmatchcase(name, pattern):
            return pattern
    return None


def profile_gain_keys(cfg: EngineConfig) -> set[str]:
    """The ``joint_gains`` keys whose kp a robot profile gave (their recorded origin)."""
    keys = set()
    for key in cfg.joint_gains:
        try:
            origin = get_origin(cfg, f"joint_gains.{key}.kp")
        except KeyError:  # a glob with [...] is not a key path; globs are the config's own
            continue
        if origin.startswith(PROFILE_ORIGIN):
            keys.add(key)
    return keys


def _actuators_by_joint(model: mujoco.MjModel) -> dict[int, int]:
    out = {}
    for a in range(model.nu):
        if model.actuator_trntype[a] == mujoco.mjtTrn.mjTRN_JOINT:
            out.setdefault(int(model.actuator_trnid[a, 0]), a)
    return out


def _mjcf_gains(
    model: mujoco.MjModel, jid: int, act: int | None
) -> tuple[float | None, float | None, float | None, str]:
    """(kp, kd, effort, source) as the MJCF defines them for one joint."""
    effort = None
    if model.jnt_actfrclimited[jid]:
        effort = float(np.max(np.abs(model.jnt_actfrcrange[jid])))
    if act is not None:
        gear = float(model.actuator_gear[act, 0])
        if model.actuator_forcelimited[act]:
            effort = float(np.max(np.abs(model.actuator_forcerange[act])))
        is_position = (
            model.actuator_gaintype[act] == mujoco.mjtGain.mjGAIN_FIXED
            and model.actuator_biastype[act] == mujoco.mjtBias.mjBIAS_AFFINE
            and model.actuator_biasprm[act, 1] < 0
        )
        if is_position:
            kp = float(model.actuator_gainprm[act, 0]) * gear
            return kp, float(-model.actuator_biasprm[act, 2]) * gear, effort, "mjcf actuator"
        if model.actuator_ctrllimited[act] and effort is None:
            effort = float(np.max(np.abs(model.actuator_ctrlrange[act]))) * abs(gear)
    dof = model.jnt_dofadr[jid]
    stiffness = float(model.jnt_stiffness[jid])
    if stiffness > 0:
        return stiffness, float(model.dof_damping[dof]), effort, "mjcf joint stiffness/damping"
    return None, None, effort, "none"
