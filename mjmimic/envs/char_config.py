"""Settings of the character layer every task shares (MimicKit's ``CharEnv`` keys).

A task's config extends ``CharEnvConfig`` with its own keys (``DeepMimicEnvConfig``); a
MimicKit env YAML gives all of them at the top level, ours may nest them under ``env:``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mjmimic.config.bounds import NON_NEGATIVE, POSITIVE, Bounds, check_field_bounds
from mjmimic.envs.randomization import DomainRandomizationConfig
from mjmimic.errors import ConfigError


@dataclass(kw_only=True)
class CharEnvConfig:
    robot: str | None = field(
        default=None,
        metadata={
            "help": "robot profile (g1, k1, t1, humanoid, mimickit_humanoid, or a profile .yaml): "
            "its MJCF, PD gains, key/contact bodies and joint weights, unless set here"
        },
    )
    char_file: str | None = field(
        default=None,
        metadata={
            "help": "robot MJCF (.xml); required unless robot is given. A relative path is "
            "looked up next to the config file, then in the current directory (MimicKit's)"
        },
    )
    camera_mode: Literal["still", "track"] = field(
        default="track", metadata={"help": "viewer camera: follow the character or stay still"}
    )
    episode_length: float = field(
        metadata={
            "help": "episode length in seconds (TIME done after it)",
            "range": "10-20",
            "bounds": POSITIVE,
        }
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
            "DoFs...] or just a root position (3); default all zeros",
            "bounds": Bounds(),  # positions and angles: any finite value
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
    termination_height: float | None = field(
        default=None,
        metadata={
            "help": "FAIL when the root is lower than this (m); unset = no height check",
            "range": "0.2-0.5",
            # The floor is at height 0, so a root can never be lower than a negative value.
            "bounds": NON_NEGATIVE,
        },
    )
    ref_char_offset: list[float] = field(
        default_factory=lambda: [2.0, 0.0, 0.0],
        metadata={
            "help": "where the reference ghost is drawn, relative to the character (m)",
            "bounds": Bounds(),
        },
    )
    visualize_ref_char: bool = field(
        default=True, metadata={"help": "draw the reference ghost when viewing"}
    )
    domain_randomization: DomainRandomizationConfig | None = field(
        default=None,
        metadata={
            "help": "mjmimic: physics ranges, encoder bias, actuator latency and velocity "
            "pushes, drawn per env (envs/randomization.py, docs/tracking.md); unset = none"
        },
    )

    def validate(self) -> None:
        if self.robot is None and self.char_file is None:
            raise ConfigError(
                "env: give char_file (the robot MJCF) or robot (a profile: "
                "g1, k1, t1, humanoid, mimickit_humanoid)"
            )
        # The loader checks the bounds of what it reads; this covers a config built in code
        # (every key of the task's subclass too).
        check_field_bounds(self, "env.")
        for key in ("key_bodies", "contact_bodies"):
            names = getattr(self, key)
            dups = sorted({n for n in names if names.count(n) > 1})
            if dups:
                raise ConfigError(f"env.{key}: lists {', '.join(dups)} more than once")
        if len(self.ref_char_offset) != 3:
            raise ConfigError(
                f"env.ref_char_offset: must be 3 numbers (x, y, z), got {self.ref_char_offset}"
            )
        if self.domain_randomization is not None:
            self.domain_randomization.validate()
        if self.init_pose is not None and len(self.init_pose) < 3:
            raise ConfigError(
                "env.init_pose: must be a root position (3 numbers) or a full frame, got "
                f"{self.init_pose}"
            )
