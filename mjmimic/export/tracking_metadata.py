"""The whole-body tracking part of an exported policy's metadata (format version 2).

A tracking policy (BeyondMimic's task, ``env_name: tracking``) observes other things than
a DeepMimic one (IMU, encoders, the reference seen from its anchor body), outputs raw
actions that deploy code maps to PD targets itself, ends episodes on anchor and
end-effector errors, and carries its reference clip inside the graph (mjlab's
``time_step`` input). An old reader would build the wrong observation and send raw
actions to the joints, so such a file is format version 2; DeepMimic, AMP and ADD
policies stay version 1 (the rule in ``metadata.py``).

The keys this adds or changes (docs/deploying.md has the table):

* ``task``: ``tracking`` (absent: ``deepmimic``, the version 1 layout);
* ``action_mapping``: ``default_offset``, PD target = ``default_joint_pos + action_scale
  * actions`` applied by the deploy code (absent: ``command``, the output is the joint
  command as it is);
* ``observation``: ``TrackingObservationInfo``; ``falls``: ``TrackingFallInfo``;
* ``reference_outputs``: which clip the graph's reference outputs replay, and how many
  control steps it has; ``episode_length``: the training episode time limit (s).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mjmimic.export.metadata_checks import Checker

if TYPE_CHECKING:
    from mjmimic.export.metadata import ObsTermInfo, PolicyMetadata

TASK_DEEPMIMIC = "deepmimic"  # DeepMimic, AMP and ADD: the version 1 layout
TASK_TRACKING = "tracking"
TASKS = (TASK_DEEPMIMIC, TASK_TRACKING)
# The lowest format version that describes a task's files.
TASK_VERSION = {TASK_DEEPMIMIC: 1, TASK_TRACKING: 2}

ACTIONS_COMMAND = "command"  # the output is the joint command (PD target or torque)
ACTIONS_DEFAULT_OFFSET = "default_offset"  # PD target = default_joint_pos + scale * output
ACTION_MAPPINGS = (ACTIONS_COMMAND, ACTIONS_DEFAULT_OFFSET)

# BeyondMimic's (mjlab's) ONNX interface, in order.
TRACKING_INPUTS = ["obs", "time_step"]
TRACKING_OUTPUTS = [
    "actions",
    "joint_pos",
    "joint_vel",
    "body_pos_w",
    "body_quat_w",
    "body_lin_vel_w",
    "body_ang_vel_w",
]


@dataclass
class TrackingObservationInfo:
    """The tracking policy's observation: its terms in order (mjlab's term names,
    docs/deploying.md gives each formula) and the bodies they are computed from."""

    size: int
    terms: list[ObsTermInfo]
    body_names: list[str]  # the robot's bodies, MuJoCo order (index 0 = root)
    anchor_body: str  # the reference is observed from this body (BeyondMimic's anchor)
    tracked_bodies: list[str]  # order of the graph's body_* outputs (mjlab's body_names)
    key_bodies: list[str]
    base_lin_vel_obs: bool  # whether a base_lin_vel term (an estimator) is observed
    noise: dict[str, float] = field(default_factory=dict)  # training noise ±n per term


@dataclass
class TrackingFallInfo:
    """When a tracking episode failed in training (``motion_tracking/terminations.py``);
    a threshold of None is a rule that was off."""

    contact_bodies: list[str]  # bodies allowed on the floor; empty = no contact check
    termination_height: float | None  # root below this (m) fails
    anchor_height_threshold: float | None  # |anchor z - reference anchor z| above (m)
    anchor_ori_threshold: float | None  # |gravity z seen from anchor - reference's| above
    end_effectors: list[str]
    end_effector_height_threshold: float | None  # |z - reference z| of any end effector (m)


@dataclass
class ReferenceOutputs:
    """The clip the graph replays: ``time_step`` k gives its state at k control steps
    (k * control_dt s), clamped to ``num_steps - 1``."""

    clip: str  # one of reference_motions
    num_steps: int


def validate_tracking(meta: PolicyMetadata, check: Checker) -> None:
    """The tracking parts of ``meta``: names that exist, thresholds that are numbers, the
    clip the graph replays among the embedded ones."""
    obs, falls = meta.observation, meta.falls
    if not isinstance(obs, TrackingObservationInfo) or not isinstance(falls, TrackingFallInfo):
        check.fail("task", "a task matching the observation and falls", repr(meta.task))
    if meta.control_mode != "pos" or meta.action_mapping != ACTIONS_DEFAULT_OFFSET:
        check.fail(
            "action_mapping",
            f"'{ACTIONS_DEFAULT_OFFSET}' with control_mode 'pos' for a tracking policy",
            f"{meta.action_mapping!r} ({meta.control_mode})",
        )
    bodies = obs.body_names
    check.string("observation.anchor_body", obs.anchor_body)
    if obs.anchor_body not in bodies:
        check.fail(
            "observation.anchor_body", "one of observation.body_names", repr(obs.anchor_body)
        )
    check.names("observation.tracked_bodies", obs.tracked_bodies, among=bodies)
    if obs.anchor_body not in obs.tracked_bodies:
        # mjlab's deploy code finds the anchor's reference among the body_* outputs.
        check.fail(
            "observation.tracked_bodies",
            f"a list with the anchor body {obs.anchor_body}",
            "one without",
        )
    check.boolean("observation.base_lin_vel_obs", obs.base_lin_vel_obs)
    if not isinstance(obs.noise, dict):
        check.fail("observation.noise", "an object {term: number}", type(obs.noise).__name__)
    for term, value in obs.noise.items():
        check.number(f"observation.noise.{term}", value, minimum=0.0)
    check.names("falls.end_effectors", falls.end_effectors, among=bodies)
    for name in (
        "anchor_height_threshold",
        "anchor_ori_threshold",
        "end_effector_height_threshold",
    ):
        check.optional_number(f"falls.{name}", getattr(falls, name))
    check.optional_number("episode_length", meta.episode_length)
    ref = meta.reference_outputs
    if not isinstance(ref, ReferenceOutputs):
        check.fail("reference_outputs", "the clip the graph replays", repr(ref))
    clips = [c.name for c in meta.reference_motions]
    if ref.clip not in clips:
        check.fail(
            "reference_outputs.clip", f"one of {', '.join(clips) or 'no clip'}", repr(ref.clip)
        )
    check.integer("reference_outputs.num_steps", ref.num_steps, minimum=1)
    for key, names in (("inputs", TRACKING_INPUTS), ("outputs", TRACKING_OUTPUTS)):
        if getattr(meta, key) != names:
            check.fail(key, ", ".join(names), ", ".join(map(str, getattr(meta, key))))


def describe_tracking_observation(meta: PolicyMetadata) -> list[str]:
    """``mjmimic export --describe`` lines of the tracking observation."""
    obs = meta.observation
    return [
        f"observation:      {obs.size} numbers (tracking), anchor {obs.anchor_body}, "
        f"base_lin_vel_obs={obs.base_lin_vel_obs}",
        f"tracked bodies:   {', '.join(obs.tracked_bodies)}",
    ]


def describe_tracking_rules(meta: PolicyMetadata) -> list[str]:
    """``--describe`` lines of the failure rules, the action mapping and the reference."""
    falls, ref = meta.falls, meta.reference_outputs

    def rule(value: float | None, unit: str) -> str:
        return "off" if value is None else f"{value:g}{unit}"

    episode = "-" if meta.episode_length is None else f"{meta.episode_length:g} s"
    return [
        f"failures:         anchor height > {rule(falls.anchor_height_threshold, ' m')}, "
        f"anchor tilt (gravity z) > {rule(falls.anchor_ori_threshold, '')}, end effectors "
        f"({', '.join(falls.end_effectors) or '-'}) height > "
        f"{rule(falls.end_effector_height_threshold, ' m')}; episode length {episode}",
        "actions:          PD target = default_joint_pos + action_scale * actions",
        f"graph reference:  clip {ref.clip}, {ref.num_steps} control steps (time_step)",
    ]
