"""What an exported policy carries besides its weights: ONNX ``metadata_props``.

Every key starts with ``mjmimic.`` and every value is a JSON document, so any ONNX reader in
any language can get at it (``json.loads(model.metadata_props[...])``). The table of keys is
in docs/deploying.md; ``PolicyMetadata`` is the typed form.

Compatibility rules (so observation history or recurrent state can be added later without
breaking files already written):

* ``mjmimic.format_version`` is the only version. A reader refuses a file whose version is
  newer than it knows, and reads every older one.
* Readers ignore keys they do not know. A new key that a reader may safely ignore (more
  information) is added without a version bump; it is optional and absent means the old
  behaviour, so the reader fills in that default.
* A change an old reader would silently get wrong (a model that needs stacked past
  observations, or takes and returns a recurrent state) bumps the version, and the
  writer stamps a file with the *lowest* version that describes it: a feed-forward policy
  without history stays version 1 and keeps working with old readers.

Version 2 is the whole-body tracking layout (``tracking_metadata.py``: its observation,
raw actions mapped to PD targets by the deploy code, the reference inside the graph); a
DeepMimic, AMP or ADD policy is still written as version 1, key for key as before.
A tracking file also carries mjlab's own unprefixed keys (``mjlab_metadata.py``), which
this reader ignores.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from mjmimic.engines.scene import INTEGRATORS, SOLVERS
from mjmimic.envs.randomization import DomainRandomizationConfig
from mjmimic.errors import ConfigError, MjmimicError
from mjmimic.export.metadata_checks import PREFIX, Checker
from mjmimic.export.tracking_metadata import (
    ACTION_MAPPINGS,
    ACTIONS_COMMAND,
    TASK_DEEPMIMIC,
    TASK_TRACKING,
    TASK_VERSION,
    TASKS,
    ReferenceOutputs,
    TrackingFallInfo,
    TrackingObservationInfo,
    describe_tracking_observation,
    describe_tracking_rules,
    validate_tracking,
)

FORMAT_VERSION = 2  # the newest version this mjmimic reads and writes
VERSION_KEY = PREFIX + "format_version"
QUAT_CONVENTION = "wxyz"


@dataclass
class ObsTermInfo:
    """One contiguous block of the observation vector (``observations.ObsTerm``)."""

    name: str
    size: int
    labels: list[str]


@dataclass
class ObservationInfo:
    """How to rebuild the observation: the env's settings, its body names and the terms
    in order (docs/deploying.md gives the formula of each term)."""

    size: int
    terms: list[ObsTermInfo]
    global_obs: bool
    root_height_obs: bool
    enable_phase_obs: bool
    num_phase_encoding: int
    enable_tar_obs: bool
    tar_obs_steps: list[int]
    body_names: list[str]  # body order of joint_rot terms (index 0 = root)
    key_bodies: list[str]


@dataclass
class PhysicsInfo:
    """Simulation settings the policy was trained with; per-DoF lists in joint order."""

    integrator: str
    solver: str
    iterations: int
    ls_iterations: int
    floor_friction: float
    armature: list[float]
    damping: list[float]  # passive joint damping/stiffness left after PD gains were taken out
    stiffness: list[float]
    frictionloss: list[float]


@dataclass
class FallInfo:
    """When the training env called an episode failed (``terminations.py``)."""

    contact_bodies: list[str]  # bodies allowed to touch the floor; empty = no contact check
    termination_height: float | None  # root lower than this (m) is a fall; None = no check


@dataclass
class ReferenceClip:
    """A tracking policy's reference motion, embedded as a base64 npz (mjmimic.motion keys:
    fps, loop_mode, root_pos, root_rot (wxyz), dof_pos in ``joint_names`` order)."""

    name: str
    weight: float
    sha256: str  # of the decoded npz bytes
    npz_base64: str

    def arrays(self, where: str | None = None) -> dict[str, np.ndarray]:
        """The decoded npz; ``where`` names the clip in errors (default: its name)."""
        where = where or f"embedded clip '{self.name}'"
        try:
            raw = base64.b64decode(self.npz_base64, validate=True)
        except ValueError:  # binascii.Error
            raise MjmimicError(f"{where}: npz_base64 is not base64") from None
        if hashlib.sha256(raw).hexdigest() != self.sha256:
            raise MjmimicError(f"{where}: sha256 mismatch; the file is damaged")
        try:
            with np.load(io.BytesIO(raw), allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except Exception as exc:  # numpy/zipfile raise several types for bad npz bytes
            raise MjmimicError(f"{where}: not a readable npz ({type(exc).__name__})") from None


def encode_clip(
    name: str,
    weight: float,
    fps: float,
    loop_mode: str,
    root_pos: np.ndarray,
    root_rot: np.ndarray,
    dof_pos: np.ndarray,
) -> ReferenceClip:
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        fps=np.array(fps, dtype=np.float64),
        loop_mode=np.array(loop_mode),
        root_pos=np.asarray(root_pos, dtype=np.float64),
        root_rot=np.asarray(root_rot, dtype=np.float64),
        dof_pos=np.asarray(dof_pos, dtype=np.float64),
    )
    raw = buffer.getvalue()
    return ReferenceClip(
        name, float(weight), hashlib.sha256(raw).hexdigest(), base64.b64encode(raw).decode()
    )


@dataclass
class PolicyMetadata:
    """Everything a deployment script needs to build observations and apply actions.

    Version 1 (``task`` deepmimic): the ONNX model maps ``obs`` (batch, observation.size)
    float32 to ``actions`` (batch, len(joint_names)) float32 in env units: PD position
    targets (rad) in ``pos`` control mode, joint torques (N·m) in ``torque`` mode, already
    clipped to ``action_offset ± action_scale`` (the training env's action bounds).

    Version 2 (``task`` tracking): the model maps ``obs`` (1, observation.size) and
    ``time_step`` (1, 1) to raw ``actions`` (1, joints), PD target ``default_joint_pos +
    action_scale * actions`` (``action_mapping`` default_offset; ``action_offset`` is then
    ``default_joint_pos``), and the reference at that step (``tracking_metadata.py``).
    """

    mjmimic_version: str
    robot_name: str
    robot_file: str  # the MJCF it was trained on (name only; informational)
    joint_names: list[str]  # action order = DoF order; MuJoCo hinge names
    default_joint_pos: list[float]  # v1: rest pose (the MJCF's qpos0); v2: default pose
    control_mode: str  # "pos" or "torque"
    action_scale: list[float]  # command = offset + scale * (normalized, v1 / raw, v2) action
    action_offset: list[float]
    kp: list[float]
    kd: list[float]
    effort_limit: list[float | None]  # None = unlimited
    control_dt: float
    sim_dt: float
    observation: ObservationInfo | TrackingObservationInfo
    physics: PhysicsInfo
    falls: FallInfo | TrackingFallInfo
    reference_motions: list[ReferenceClip]
    config_hash: str  # sha256 of the run's resolved config (canonical JSON)
    quat_convention: str = QUAT_CONVENTION
    inputs: list[str] = field(default_factory=lambda: ["obs"])
    outputs: list[str] = field(default_factory=lambda: ["actions"])
    # Version 2 keys (tracking_metadata.py); each is left out of a file while it holds
    # its default, so a version 1 file has exactly the keys it always had.
    task: str = TASK_DEEPMIMIC
    action_mapping: str = ACTIONS_COMMAND
    episode_length: float | None = None  # the training episode time limit (s)
    reference_outputs: ReferenceOutputs | None = None
    # The training env's domain randomization ranges (its YAML keys, envs/randomization.py)
    # for ``sim2sim --randomize``; absent: trained without. Informational for deploy code.
    domain_randomization: dict[str, Any] | None = None
    format_version: int = TASK_VERSION[TASK_DEEPMIMIC]

    # ------------------------------------------------------------------ to/from ONNX
    def to_props(self) -> dict[str, str]:
        """``{"mjmimic.<field>": json}`` for ``onnx.ModelProto.metadata_props``."""
        return {
            PREFIX + k: json.dumps(v, allow_nan=False)
            for k, v in asdict(self).items()
            if k not in _LEFT_OUT_AT_DEFAULT or v != _LEFT_OUT_AT_DEFAULT[k]
        }

    @classmethod
    def from_props(cls, props: dict[str, str], source: str) -> PolicyMetadata:
        if VERSION_KEY not in props:
            raise MjmimicError(
                f"{source}: no mjmimic metadata in this ONNX model; export policies with "
                "'mjmimic export RUN_DIR -o policy.onnx'"
            )
        values: dict[str, Any] = {}
        for f in fields(cls):
            key = PREFIX + f.name
            if key not in props:
                continue
            try:
                values[f.name] = json.loads(props[key])
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
                raise MjmimicError(
                    f"{source}: metadata {key} is not valid JSON ({reason})"
                ) from None
        version = values.get("format_version")
        if not isinstance(version, int):
            raise MjmimicError(f"{source}: {VERSION_KEY} must be an integer, found {version!r}")
        if version > FORMAT_VERSION:
            raise MjmimicError(
                f"{source}: policy format version {version} is newer than this mjmimic "
                f"reads ({FORMAT_VERSION}); upgrade mjmimic"
            )
        required = [f.name for f in fields(cls) if f.name not in values and f.name not in _OPTIONAL]
        if required:
            raise MjmimicError(
                f"{source}: metadata lacks {', '.join(PREFIX + r for r in required)}; "
                "re-export the policy with 'mjmimic export'"
            )
        task = values.get("task", TASK_DEEPMIMIC)
        if not isinstance(task, str) or task not in TASKS:
            raise MjmimicError(
                f"{source}: metadata {PREFIX}task is {task!r}, this mjmimic knows "
                f"{', '.join(TASKS)}; upgrade mjmimic"
            )
        if version < TASK_VERSION[task]:
            raise MjmimicError(
                f"{source}: a {task} policy needs format version {TASK_VERSION[task]}, the file "
                f"says {version}; re-export the policy with 'mjmimic export'"
            )
        tracking = task == TASK_TRACKING
        try:
            obs = dict(values["observation"])
            obs["terms"] = [ObsTermInfo(**t) for t in obs["terms"]]
            values["observation"] = (TrackingObservationInfo if tracking else ObservationInfo)(
                **obs
            )
            values["physics"] = PhysicsInfo(**values["physics"])
            values["falls"] = (TrackingFallInfo if tracking else FallInfo)(**values["falls"])
            values["reference_motions"] = [ReferenceClip(**c) for c in values["reference_motions"]]
            if values.get("reference_outputs") is not None:
                values["reference_outputs"] = ReferenceOutputs(**values["reference_outputs"])
            meta = cls(**values)
        except (TypeError, KeyError, ValueError) as exc:
            raise MjmimicError(f"{source}: malformed mjmimic metadata ({exc})") from None
        meta.validate(source)
        return meta

    def validate(
        self, source: str, hint: str = "re-export the policy with 'mjmimic export'"
    ) -> None:
        """Refuse, naming the key, metadata a deployment would misuse: a per-joint list
        that is not one finite number per joint, NaN/inf anywhere, sizes that disagree.

        JSON readers accept ``NaN`` and ``1e999`` and a hand-edited or foreign file can
        have lists of any length, so none of this is guaranteed by the file being
        readable; without the check a short gain list is an IndexError in sim2sim and a
        NaN gain a simulation that MuJoCo silently resets every step. ``hint`` ends each
        message: what the user can do about it."""
        check = Checker(source, hint)
        for name in ("mjmimic_version", "robot_name", "robot_file", "config_hash"):
            check.string(name, getattr(self, name))
        check.choice("task", self.task, TASKS)
        if self.format_version < TASK_VERSION[self.task]:
            check.fail(
                "format_version",
                f"at least {TASK_VERSION[self.task]} for a {self.task} policy",
                self.format_version,
            )
        check.choice("action_mapping", self.action_mapping, ACTION_MAPPINGS)
        check.names("joint_names", self.joint_names)
        joints = len(self.joint_names)
        if joints == 0:
            check.fail("joint_names", "at least one joint", "none")
        per_joint = f"one per joint ({joints} in {PREFIX}joint_names)"
        for name in ("default_joint_pos", "action_offset"):
            check.numbers(name, getattr(self, name), joints, per_joint)
        for name in ("action_scale", "kp", "kd"):
            check.numbers(name, getattr(self, name), joints, per_joint, minimum=0.0)
        check.length("effort_limit", self.effort_limit, joints, per_joint)
        for i, effort in enumerate(self.effort_limit):
            if effort is not None:
                check.number(f"effort_limit[{i}]", effort, minimum=0.0, strict=True)
        if self.control_mode not in ("pos", "torque"):
            check.fail("control_mode", "'pos' or 'torque'", repr(self.control_mode))
        check.number("control_dt", self.control_dt, minimum=0.0, strict=True)
        check.number("sim_dt", self.sim_dt, minimum=0.0, strict=True)
        substeps = self.control_dt / self.sim_dt
        if round(substeps) < 1 or abs(substeps - round(substeps)) > 1e-6 * substeps:
            check.fail(
                "control_dt",
                f"a whole multiple of {PREFIX}sim_dt ({self.sim_dt:g} s)",
                f"{self.control_dt:g} s",
            )
        phys = self.physics
        for name, known in (("integrator", INTEGRATORS), ("solver", SOLVERS)):
            value = getattr(phys, name)
            if not isinstance(value, str) or value not in known:
                check.fail(f"physics.{name}", f"one of {', '.join(known)}", repr(value))
        for name in ("iterations", "ls_iterations"):
            check.integer(f"physics.{name}", getattr(phys, name), minimum=1)
        check.number("physics.floor_friction", phys.floor_friction, minimum=0.0)
        for name in ("armature", "damping", "stiffness", "frictionloss"):
            check.numbers(f"physics.{name}", getattr(phys, name), joints, per_joint, minimum=0.0)
        obs = self.observation
        check.integer("observation.size", obs.size, minimum=1)
        for i, term in enumerate(obs.terms):
            check.string(f"observation.terms[{i}].name", term.name)
            check.integer(f"observation.terms[{i}].size", term.size, minimum=1)
        total = sum(term.size for term in obs.terms)
        if total != obs.size:
            check.fail("observation.size", f"the sum of the term sizes ({total})", obs.size)
        check.names("observation.body_names", obs.body_names)
        if not obs.body_names:
            check.fail("observation.body_names", "at least the root body", "none")
        check.names("observation.key_bodies", obs.key_bodies, among=obs.body_names)
        check.names("falls.contact_bodies", self.falls.contact_bodies, among=obs.body_names)
        if self.falls.termination_height is not None:
            check.number("falls.termination_height", self.falls.termination_height)
        for i, clip in enumerate(self.reference_motions):
            for name in ("name", "sha256", "npz_base64"):
                check.string(f"reference_motions[{i}].{name}", getattr(clip, name))
            check.number(f"reference_motions[{i}].weight", clip.weight, minimum=0.0)
        for name in ("inputs", "outputs"):
            check.names(name, getattr(self, name))
            if not getattr(self, name):
                check.fail(name, "at least one tensor name", "none")
        if self.domain_randomization is not None:
            try:
                DomainRandomizationConfig.from_mapping(self.domain_randomization, source)
            except ConfigError as exc:
                check.fail("domain_randomization", "valid ranges", f"refused ({exc})")
        if self.task == TASK_TRACKING:
            validate_tracking(self, check)
        else:
            _validate_deepmimic_observation(obs, check)

    def describe(self) -> str:
        """A readable summary (``mjmimic export --describe``)."""
        obs = self.observation
        width = max(len(n) for n in self.joint_names)
        lines = [
            f"mjmimic policy, format version {self.format_version} "
            f"(written by mjmimic {self.mjmimic_version})",
            f"robot:            {self.robot_name} ({self.robot_file})",
            f"inputs/outputs:   {', '.join(self.inputs)} -> {', '.join(self.outputs)}",
            f"control:          {self.control_mode}, control dt {self.control_dt:.6g} s, "
            f"sim dt {self.sim_dt:.6g} s",
            f"quaternions:      {self.quat_convention}",
            f"config hash:      {self.config_hash}",
        ]
        tracking = self.task == TASK_TRACKING
        if tracking:
            lines += describe_tracking_observation(self)
        else:
            lines += [
                f"observation:      {obs.size} numbers, global_obs={obs.global_obs}, "
                f"root_height_obs={obs.root_height_obs}, phase={obs.enable_phase_obs} "
                f"({obs.num_phase_encoding} encodings), targets={obs.enable_tar_obs} "
                f"{obs.tar_obs_steps}",
                f"key bodies:       {', '.join(obs.key_bodies) or '-'}",
            ]
        start = 0
        for term in obs.terms:
            lines.append(f"  [{start:4d}:{start + term.size:4d}] {term.name}")
            start += term.size
        lines.append(
            f"falls:            contact by any body but {', '.join(self.falls.contact_bodies)}"
            if self.falls.contact_bodies
            else "falls:            no contact check"
        )
        if tracking:
            lines += describe_tracking_rules(self)
        clips = ", ".join(
            f"{c.name} (weight {c.weight:g}, sha256 {c.sha256[:12]})"
            for c in self.reference_motions
        )
        lines.append(f"reference motion: {clips or '-'}")
        lines.append(f"joints ({len(self.joint_names)}, action order):")
        lines.append(
            f"  {'name':<{width}} {'default':>8} {'offset':>8} {'scale':>8} "
            f"{'kp':>8} {'kd':>7} {'effort':>7}"
        )
        for i, name in enumerate(self.joint_names):
            effort = self.effort_limit[i]
            lines.append(
                f"  {name:<{width}} {self.default_joint_pos[i]:8.3f} "
                f"{self.action_offset[i]:8.3f} {self.action_scale[i]:8.3f} "
                f"{self.kp[i]:8.1f} {self.kd[i]:7.1f} "
                f"{'inf' if effort is None else f'{effort:.1f}':>7}"
            )
        return "\n".join(lines)


def _validate_deepmimic_observation(obs: ObservationInfo, check: Checker) -> None:
    """The settings of the version 1 (DeepMimic, AMP, ADD) observation."""
    for name in ("global_obs", "root_height_obs", "enable_phase_obs", "enable_tar_obs"):
        check.boolean(f"observation.{name}", getattr(obs, name))
    check.integer("observation.num_phase_encoding", obs.num_phase_encoding, minimum=0)
    for i, step in enumerate(obs.tar_obs_steps):
        check.integer(f"observation.tar_obs_steps[{i}]", step, minimum=0)


# Keys a file may lack: absent means the default, i.e. the behaviour before the key existed
# (observation history or recurrent state would be added here).
_OPTIONAL = {
    "inputs",
    "outputs",
    "task",
    "action_mapping",
    "episode_length",
    "reference_outputs",
    "domain_randomization",
}
# Keys not written while they hold these values (their absence means just that).
_LEFT_OUT_AT_DEFAULT = {
    "task": TASK_DEEPMIMIC,
    "action_mapping": ACTIONS_COMMAND,
    "episode_length": None,
    "reference_outputs": None,
    "domain_randomization": None,
}


def config_hash(config: dict[str, Any]) -> str:
    """sha256 of a config dict as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def read_policy(path: Path) -> tuple[onnx.ModelProto, PolicyMetadata]:
    """The model and metadata of an exported policy, or a one-line error."""
    if not path.is_file():
        raise MjmimicError(f"{path}: file not found")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # protobuf raises several types for non-ONNX bytes
        raise MjmimicError(f"{path}: not an ONNX model file") from None
    # Random bytes can parse as an (empty) protobuf message: an ONNX model has a graph.
    if model.ir_version == 0 or not model.graph.node:
        raise MjmimicError(f"{path}: not an ONNX model file")
    props = {p.key: p.value for p in model.metadata_props}
    return model, PolicyMetadata.from_props(props, str(path))
