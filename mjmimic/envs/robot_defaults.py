"""What an env config's ``robot:`` fills in: the robot profile is where a robot's numbers live.

An env config that names a profile (``robot: g1``, or a profile .yaml) takes from it what
it does not set itself, so env configs refer to the robot instead of restating it:

* ``char_file``: the profile's MJCF (``robots/profiles.py`` ``find_mjcf``);
* ``key_bodies``, ``contact_bodies``: the profile's lists, unless the env config gives a
  list (an empty one included);
* ``joint_err_w``: the profile's joint ``weight``s by joint name, unless the env config
  gives ``joint_err_w`` (then that, as a whole);
* ``default_joint_pos``, ``action_scale`` (tasks whose actions are offsets from a default
  pose: tracking): the profile's per-DoF ``default`` and ``action_scale``, unless set;
* the engine's ``joint_gains``: per joint and per number (kp, kd, effort, armature), the
  engine config's entry for the joint (exact name, then the first matching glob, as in
  ``engines/actuation.py``) wins for the numbers it sets, the profile gives the others.
  The result is one exact-name entry per joint; entries that match no joint are kept.
  The MJCF's own actuators and stiffness are not used: a profile names every joint.

A value taken from the profile has the origin ``robot profile g1
(mjmimic/assets/robots/profiles/g1.yaml)`` (``get_origin``, ``mjmimic explain``); the
engine reports those gains' source as ``robot profile`` (``PDTable.sources``). The
resolved values are what a run saves in ``config.yaml``, so ``test``, ``--resume`` and
``export`` read the same numbers without the profile. Filling in only what is unset makes
this idempotent: applied to its own result, or to a saved config, it changes nothing.
The profile is checked against the MJCF (same joints, named bodies exist).
"""

from __future__ import annotations

import dataclasses
import fnmatch
from pathlib import Path
from typing import Any

from mjmimic.config import DEFAULT_ORIGIN, get_origin, set_origin
from mjmimic.engines.actuation import config_gains_key
from mjmimic.engines.config import EngineConfig, JointGains
from mjmimic.errors import AssetError, ConfigError
from mjmimic.paths import resolve_input_path
from mjmimic.robots.model import RobotModel
from mjmimic.robots.profiles import (
    JointProfile,
    RobotProfile,
    find_mjcf,
    load_profile,
    profile_origin,
    profile_path,
)

GAIN_FIELDS = ("kp", "kd", "effort", "armature")


def apply_robot_defaults(
    env: Any, engine: EngineConfig, where: str, config_dir: Path | None = None
) -> RobotProfile | None:
    """Fill ``env`` (a char env config: ``robot``, ``char_file``, ``key_bodies``, ...) and
    ``engine`` in place from the profile ``env.robot`` names; see the module docstring.
    ``where`` (the env file) places errors when ``env.robot`` has no recorded line;
    ``config_dir`` resolves relative paths. Returns the profile, None without ``robot``."""
    if env.robot is None:
        return None
    at = _where(env, "robot", where)
    if _is_path(env.robot):
        path = resolve_input_path(env.robot, config_dir, "robot profile", f"{at}: env.robot")
    else:
        try:
            path = profile_path(env.robot)
        except ConfigError as e:
            raise ConfigError(f"{at}: env.robot: {e}") from None
    profile = load_profile(path)
    if _is_path(env.robot):
        env.robot = str(path.resolve())  # as char_file: the saved config works from anywhere
    origin = profile_origin(profile, path)
    if env.char_file is None:
        _fill(env, "char_file", str(find_mjcf(profile)), origin)
        mjcf = Path(env.char_file)
    else:
        mjcf = resolve_input_path(
            env.char_file,
            config_dir,
            "robot model",
            f"{_where(env, 'char_file', where)}: env.char_file",
        )
    robot = RobotModel.from_file(mjcf)
    profile.check_robot(robot)
    for key in ("key_bodies", "contact_bodies"):
        if _unset(env, key):
            _fill(env, key, list(getattr(profile, key)), origin)
    if hasattr(env, "joint_err_w") and _unset(env, "joint_err_w"):
        _fill(env, "joint_err_w", joint_weights(profile, robot), origin)
    # A task whose actions are offsets from a default pose (tracking) takes the pose and
    # the per-joint action scale from the profile, by DoF name.
    for key, attribute in (("default_joint_pos", "default"), ("action_scale", "action_scale")):
        if hasattr(env, key) and _unset(env, key):
            values = {
                d: getattr(profile.joints[d], attribute)
                for d in robot.dof_names
                if d in profile.joints
            }
            _fill(env, key, values, origin)
    fill_joint_gains(engine, profile, robot, origin)
    return profile


def fill_joint_gains(
    engine: EngineConfig, profile: RobotProfile, robot: RobotModel, origin: str
) -> None:
    """``engine.joint_gains`` as one exact-name entry per joint: the numbers the engine
    config sets for it (exact name, then glob), the profile's for the rest."""
    given = engine.joint_gains
    resolved: dict[str, JointGains] = {}
    origins: dict[str, str] = {}
    for name, joint in _profile_joints(profile, robot).items():
        key = config_gains_key(given, name)
        entry = given.get(key) if key is not None else None
        values = {}
        for f in GAIN_FIELDS:
            if entry is not None and getattr(entry, f) is not None:
                values[f] = getattr(entry, f)
                origins[f"{name}.{f}"] = _gain_origin(engine, key, f)
            else:
                values[f] = getattr(joint, f)
                origins[f"{name}.{f}"] = origin
        resolved[name] = JointGains(**values)
        own = [f for f in GAIN_FIELDS if origins[f"{name}.{f}"] != origin]
        origins[name] = _gain_origin(engine, key, None) if len(own) == len(GAIN_FIELDS) else origin
    unmatched = {
        k: v for k, v in given.items() if not any(fnmatch.fnmatchcase(n, k) for n in resolved)
    }
    engine.joint_gains = {**resolved, **unmatched}
    for path, value in origins.items():
        set_origin(engine, f"joint_gains.{path}", value)


def joint_weights(profile: RobotProfile, robot: RobotModel) -> dict[str, float]:
    """``joint_err_w`` from the profile's per-DoF ``weight``s, by joint name (a 3-hinge
    spherical joint by its shared name: its hinges must agree)."""
    out = {}
    for j in robot.joints:
        if j.kind == "fixed":
            continue
        names = robot.dof_names[j.dof_start : j.dof_start + j.dof_count]
        weights = {profile.joints[n].weight for n in names}
        if len(weights) > 1:
            raise AssetError(
                f"robot profile '{profile.name}': the DoFs of joint '{j.name}' "
                f"({', '.join(names)}) have different weights; joint_err_w weighs whole "
                "joints, give them one weight"
            )
        out[j.name] = weights.pop()
    return out


def _profile_joints(profile: RobotProfile, robot: RobotModel) -> dict[str, JointProfile]:
    """Profile entry per MuJoCo joint name (what ``joint_gains`` keys name): a hinge's own,
    a ball joint's from its three DoFs, which must agree."""
    out = {}
    for j in robot.joints:
        if j.kind == "fixed":
            continue
        if j.kind != "ball":
            out.update({h: profile.joints[h] for h in j.hinge_names})
            continue
        names = robot.dof_names[j.dof_start : j.dof_start + j.dof_count]
        gains = {tuple(getattr(profile.joints[n], f) for f in GAIN_FIELDS) for n in names}
        if len(gains) > 1:
            raise AssetError(
                f"robot profile '{profile.name}': the DoFs of ball joint '{j.name}' "
                f"({', '.join(names)}) have different gains; one actuator set drives them"
            )
        out[j.name] = profile.joints[names[0]]
    return out


def _is_path(robot: str) -> bool:
    return Path(robot).suffix in (".yaml", ".yml")


def _unset(cfg: Any, key: str) -> bool:
    """True when no file or flag set ``key`` and it holds its default."""
    f = next(f for f in dataclasses.fields(cfg) if f.name == key)
    default = f.default_factory() if f.default is dataclasses.MISSING else f.default
    return get_origin(cfg, key) == DEFAULT_ORIGIN and getattr(cfg, key) == default


def _fill(cfg: Any, key: str, value: Any, origin: str) -> None:
    setattr(cfg, key, value)
    set_origin(cfg, key, origin)


def _where(cfg: Any, key: str, fallback: str) -> str:
    origin = get_origin(cfg, key)
    return fallback if origin == DEFAULT_ORIGIN else origin


def _gain_origin(engine: EngineConfig, key: str | None, field: str | None) -> str:
    """Origin of ``joint_gains.<key>[.<field>]`` in the engine config as loaded."""
    path = f"joint_gains.{key}" + (f".{field}" if field else "")
    try:
        return get_origin(engine, path)
    except KeyError:  # a glob with [...] does not parse as a key path
        return get_origin(engine, "joint_gains")
