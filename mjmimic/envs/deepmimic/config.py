"""DeepMimic env configuration: the keys of a MimicKit env YAML's ``env:`` block.

Field names, meanings and defaults are MimicKit's; keys MimicKit requires have no default
here either. ``motion_fill_missing_joints`` is an mjmimic addition. The loader
(``mjmimic.config.load_config``) rejects unknown keys and calls ``validate()``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from mjmimic.envs.deepmimic.observations import ObsSettings
from mjmimic.envs.deepmimic.rewards import RewardSettings
from mjmimic.envs.deepmimic.terminations import TerminationSettings
from mjmimic.errors import ConfigError

# What every MimicKit DeepMimic config ships: (weight, scale) per reward term.
_SHIPPED = {
    "pose": (0.5, 0.25),
    "vel": (0.1, 0.01),
    "root_pose": (0.15, 5.0),
    "root_vel": (0.1, 1.0),
    "key_pos": (0.15, 10.0),
}


def _reward_w(term: str, what: str) -> float:
    return field(
        metadata={
            "help": f"weight of the {what} reward term (MimicKit ships {_SHIPPED[term][0]}); "
            "the weights sum to the best possible per-step reward",
            "range": "0-1",
        }
    )


def _reward_scale(term: str, what: str) -> float:
    return field(
        metadata={
            "help": f"scale s of the {what} reward term exp(-s * error), larger = stricter "
            f"(MimicKit ships {_SHIPPED[term][1]})",
        }
    )


@dataclass(kw_only=True)
class DeepMimicEnvConfig:
    char_file: str = field(
        metadata={"help": "robot MJCF (.xml); relative paths resolve against the config file"}
    )
    camera_mode: Literal["still", "track"] = field(
        default="track", metadata={"help": "viewer camera: follow the character or stay still"}
    )
    episode_length: float = field(
        metadata={"help": "episode length in seconds (TIME done after it)", "range": "10-20"}
    )
    global_obs: bool = field(
        metadata={
            "help": "True: observations in world axes and the reward tracks the global root "
            "(with enable_tar_obs); False: heading-frame observations and reward"
        }
    )
    root_height_obs: bool = field(
        default=True,
        metadata={"help": "observe the absolute root height; also rewards root height tracking"},
    )
    zero_center_action: bool = field(
        default=False,
        metadata={"help": "hinge action range centred at 0 instead of the joint-limit midpoint"},
    )
    init_pose: list[float] | None = field(
        default=None,
        metadata={
            "help": "pose for non-reference resets: a full frame [root pos(3), root exp-map(3), "
            "DoFs...] or just a root position (3); default all zeros"
        },
    )
    key_bodies: list[str] = field(
        default_factory=list,
        metadata={"help": "bodies whose positions enter the observation and the key_pos reward"},
    )
    enable_early_termination: bool = field(
        metadata={"help": "end the episode (FAIL) on a fall or a large pose error"}
    )
    contact_bodies: list[str] = field(
        default_factory=list,
        metadata={
            "help": "bodies allowed to touch the ground; any other body touching it is a fall. "
            "An empty list disables the fall check (roll, crawl, get-up clips)"
        },
    )
    pose_termination: bool = field(
        default=False,
        metadata={
            "help": "FAIL when a body is further than pose_termination_dist from the reference"
        },
    )
    pose_termination_dist: float = field(
        default=1.0, metadata={"help": "pose termination distance in m", "range": "0.5-1.0"}
    )
    termination_height: float | None = field(
        default=None,
        metadata={
            "help": "FAIL when the root is lower than this (m); unset = no height check",
            "range": "0.2-0.5",
        },
    )
    enable_phase_obs: bool = field(
        default=True, metadata={"help": "observe the motion phase (time / clip length)"}
    )
    num_phase_encoding: int = field(
        default=0,
        metadata={"help": "sin/cos pairs of the phase at frequencies 2^k", "range": "0-8"},
    )
    enable_tar_obs: bool = field(
        default=False, metadata={"help": "observe future reference frames (tar_obs_steps)"}
    )
    tar_obs_steps: list[int] = field(
        default_factory=lambda: [1],
        metadata={"help": "future reference frames to observe, in control steps ahead"},
    )
    rand_reset: bool = field(
        default=True, metadata={"help": "start episodes at a random time of the clip (else 0)"}
    )
    ref_char_offset: list[float] = field(
        default_factory=lambda: [2.0, 0.0, 0.0],
        metadata={"help": "where the reference ghost is drawn, relative to the character (m)"},
    )
    visualize_ref_char: bool = field(
        default=True, metadata={"help": "draw the reference ghost when viewing"}
    )
    log_tracking_error: bool = field(
        default=False, metadata={"help": "log root/body/DoF tracking errors in test runs"}
    )
    joint_err_w: list[float] | dict[str, float] | None = field(
        default=None,
        metadata={
            "help": "pose/velocity error weight per joint: a mapping {joint or body name: "
            "weight} (unlisted = 1.0) or MimicKit's list, one per non-root body in body "
            "order; default all 1.0",
            "range": "0-1",
        },
    )
    reward_pose_w: float = _reward_w("pose", "joint rotation")
    reward_vel_w: float = _reward_w("vel", "joint velocity")
    reward_root_pose_w: float = _reward_w("root_pose", "root position/rotation")
    reward_root_vel_w: float = _reward_w("root_vel", "root velocity")
    reward_key_pos_w: float = _reward_w("key_pos", "key body position")
    reward_pose_scale: float = _reward_scale("pose", "joint rotation")
    reward_vel_scale: float = _reward_scale("vel", "joint velocity")
    reward_root_pose_scale: float = _reward_scale("root_pose", "root position/rotation")
    reward_root_vel_scale: float = _reward_scale("root_vel", "root velocity")
    reward_key_pos_scale: float = _reward_scale("key_pos", "key body position")
    motion_file: str = field(metadata={"help": "motion clip (.pkl) or dataset (.yaml) to imitate"})
    motion_fill_missing_joints: dict[str, float] = field(
        default_factory=dict,
        metadata={
            "help": "mjmimic: DoFs the motion lacks, held at a constant angle (rad), e.g. the "
            "G1 wrists for 23-DoF clips"
        },
    )

    @property
    def track_root(self) -> bool:
        """MimicKit tracks the global root position and heading only with target obs in
        world frame."""
        return self.enable_tar_obs and self.global_obs

    def validate(self) -> None:
        def fail(key: str, why: str) -> None:
            raise ConfigError(f"env.{key}: {why}")

        if not _finite(self.episode_length) or self.episode_length <= 0:
            fail("episode_length", f"must be > 0 seconds, got {self.episode_length}")
        if not _finite(self.pose_termination_dist) or self.pose_termination_dist <= 0:
            fail("pose_termination_dist", f"must be > 0 m, got {self.pose_termination_dist}")
        if self.termination_height is not None and not _finite(self.termination_height):
            fail("termination_height", f"must be a number of metres, got {self.termination_height}")
        if self.num_phase_encoding < 0:
            fail("num_phase_encoding", f"must be >= 0, got {self.num_phase_encoding}")
        if self.enable_tar_obs and not self.tar_obs_steps:
            fail("tar_obs_steps", "is empty but enable_tar_obs is True; give e.g. [1, 2, 3]")
        bad_steps = [s for s in self.tar_obs_steps if s < 0]
        if bad_steps:
            fail("tar_obs_steps", f"steps look ahead and must be >= 0, got {bad_steps}")
        for key in ("key_bodies", "contact_bodies"):
            names = getattr(self, key)
            dups = sorted({n for n in names if names.count(n) > 1})
            if dups:
                fail(key, f"lists {', '.join(dups)} more than once")
        if len(self.ref_char_offset) != 3:
            fail("ref_char_offset", f"must be 3 numbers (x, y, z), got {self.ref_char_offset}")
        if self.init_pose is not None and len(self.init_pose) < 3:
            fail(
                "init_pose",
                f"must be a root position (3 numbers) or a full frame, got {self.init_pose}",
            )
        for term in _SHIPPED:
            for kind in ("w", "scale"):
                key = f"reward_{term}_{kind}"
                value = getattr(self, key)
                if not _finite(value) or value < 0:
                    fail(key, f"must be a number >= 0, got {value}")
        for name, value in self.motion_fill_missing_joints.items():
            if not _finite(value):
                fail(f"motion_fill_missing_joints.{name}", f"must be an angle in rad, got {value}")

    def obs_settings(self) -> ObsSettings:
        return ObsSettings(
            global_obs=self.global_obs,
            root_height_obs=self.root_height_obs,
            enable_phase_obs=self.enable_phase_obs,
            num_phase_encoding=self.num_phase_encoding,
            enable_tar_obs=self.enable_tar_obs,
            tar_obs_steps=tuple(self.tar_obs_steps),
        )

    def reward_settings(self) -> RewardSettings:
        return RewardSettings(
            pose_w=self.reward_pose_w,
            vel_w=self.reward_vel_w,
            root_pose_w=self.reward_root_pose_w,
            root_vel_w=self.reward_root_vel_w,
            key_pos_w=self.reward_key_pos_w,
            pose_scale=self.reward_pose_scale,
            vel_scale=self.reward_vel_scale,
            root_pose_scale=self.reward_root_pose_scale,
            root_vel_scale=self.reward_root_vel_scale,
            key_pos_scale=self.reward_key_pos_scale,
            track_root=self.track_root,
            track_root_height=self.root_height_obs,
        )

    def termination_settings(self) -> TerminationSettings:
        return TerminationSettings(
            enable_early_termination=self.enable_early_termination,
            pose_termination=self.pose_termination,
            pose_termination_dist=self.pose_termination_dist,
            global_obs=self.global_obs,
            track_root=self.track_root,
            termination_height=self.termination_height,
        )


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
