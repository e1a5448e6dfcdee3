"""DeepMimic env configuration: MimicKit's DeepMimic env keys on top of the character
layer's (``envs/char_config.py``).

Field names, meanings and defaults are MimicKit's; keys MimicKit requires have no default
here either. The ``reward_<term>_w/_scale`` keys are generated from the reward table
(``rewards.TERMS``). ``motion_fill_missing_joints`` and ``robot`` are mjmimic additions.
The loader (``mjmimic.config.load_config``) rejects unknown keys and calls ``validate()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mjmimic.config.bounds import NON_NEGATIVE, POSITIVE
from mjmimic.envs.deepmimic.observations import ObsSettings
from mjmimic.envs.deepmimic.rewards import TERMS, RewardSettings
from mjmimic.envs.deepmimic.terminations import TerminationSettings
from mjmimic.envs.reference_config import ReferenceMotionConfig
from mjmimic.envs.reward_terms import reward_keys, weights_from_config
from mjmimic.errors import ConfigError


@dataclass(kw_only=True)
@reward_keys(TERMS)
class DeepMimicEnvConfig(ReferenceMotionConfig):
    pose_termination: bool = field(
        default=False,
        metadata={
            "help": "FAIL when a body is further than pose_termination_dist from the reference"
        },
    )
    pose_termination_dist: float = field(
        default=1.0,
        metadata={
            "help": "pose termination distance in m",
            "range": "0.5-1.0",
            "bounds": POSITIVE,
        },
    )
    enable_phase_obs: bool = field(
        default=True, metadata={"help": "observe the motion phase (time / clip length)"}
    )
    num_phase_encoding: int = field(
        default=0,
        metadata={
            "help": "sin/cos pairs of the phase at frequencies 2^k",
            "range": "0-8",
            "bounds": NON_NEGATIVE,
        },
    )
    enable_tar_obs: bool = field(
        default=False, metadata={"help": "observe future reference frames (tar_obs_steps)"}
    )
    tar_obs_steps: list[int] = field(
        default_factory=lambda: [1],
        metadata={
            "help": "future reference frames to observe, in control steps ahead",
            "bounds": NON_NEGATIVE,  # 0 is the current frame; the past is not a target
        },
    )
    key_body_termination_dist: float | None = field(
        default=None,
        metadata={
            "help": "mjmimic: FAIL when a key body, relative to its root, is further than this "
            "from the reference's (m); stops a policy from skipping a motion it cannot do "
            "(a kick it stands through). Unset = no check",
            "range": "0.25-0.5",
            "bounds": POSITIVE,
        },
    )
    joint_err_w: list[float] | dict[str, float] | None = field(
        default=None,
        metadata={
            "help": "pose/velocity error weight per joint: a mapping {joint or body name: "
            "weight} (unlisted = 1.0) or MimicKit's list, one per non-root body in body "
            "order; default all 1.0",
            "range": "0-1",
            "bounds": NON_NEGATIVE,  # 0 = ignore the joint
        },
    )

    @property
    def track_root(self) -> bool:
        """MimicKit tracks the global root position and heading only with target obs in
        world frame."""
        return self.enable_tar_obs and self.global_obs

    def validate(self) -> None:
        super().validate()

        def fail(key: str, why: str) -> None:
            raise ConfigError(f"env.{key}: {why}")

        if self.enable_tar_obs and not self.tar_obs_steps:
            fail("tar_obs_steps", "is empty but enable_tar_obs is True; give e.g. [1, 2, 3]")

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
            track_root=self.track_root,
            track_root_height=self.root_height_obs,
            weights=weights_from_config(self, TERMS),
        )

    def termination_settings(self) -> TerminationSettings:
        return TerminationSettings(
            enable_early_termination=self.enable_early_termination,
            pose_termination=self.pose_termination,
            pose_termination_dist=self.pose_termination_dist,
            global_obs=self.global_obs,
            track_root=self.track_root,
            termination_height=self.termination_height,
            key_body_termination_dist=self.key_body_termination_dist,
        )
