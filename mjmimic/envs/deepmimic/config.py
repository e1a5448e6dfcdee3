"""DeepMimic env configuration: MimicKit's DeepMimic env keys on top of the character
layer's (``envs/char_config.py``).

Field names, meanings and defaults are MimicKit's; keys MimicKit requires have no default
here either. The ``reward_<term>_w/_scale`` keys are generated from the reward table
(``rewards.TERMS``). ``motion_fill_missing_joints`` and ``robot`` are mjmimic additions.
The loader (``mjmimic.config.load_config``) rejects unknown keys and calls ``validate()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mjmimic.config.bounds import NON_NEGATIVE, POSITIVE, Bounds, check_field_bounds
from mjmimic.envs.char_config import CharEnvConfig
from mjmimic.envs.deepmimic.observations import ObsSettings
from mjmimic.envs.deepmimic.rewards import TERMS, RewardSettings
from mjmimic.envs.deepmimic.terminations import TerminationSettings
from mjmimic.envs.reward_terms import reward_keys, weights_from_config
from mjmimic.errors import ConfigError


@dataclass
class AdaptiveSamplingConfig:
    bin_seconds: float = field(
        default=0.5,
        metadata={"help": "clip-time bin width (s)", "range": "0.25-1.0", "bounds": POSITIVE},
    )
    floor: float = field(
        default=0.3,
        metadata={
            "help": "share of starts kept uniform over the clip",
            "range": "0.1-0.5",
            # At 0 a bin that scored 0 (tracked perfectly) could never be drawn again.
            "bounds": Bounds(0, 1, low_open=True),
        },
    )
    decay: float = field(
        default=0.95,
        metadata={
            "help": "weight of a bin's old score when a step's error is averaged in",
            "range": "0.9-0.99",
            # At 1 a bin's score would never change.
            "bounds": Bounds(0, 1, high_open=True),
        },
    )

    def validate(self) -> None:
        # The loader checks the bounds of what it reads; this covers a config built in code.
        check_field_bounds(self, "env.adaptive_sampling.")


@dataclass(kw_only=True)
@reward_keys(TERMS)
class DeepMimicEnvConfig(CharEnvConfig):
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
    rand_reset: bool = field(
        default=True, metadata={"help": "start episodes at a random time of the clip (else 0)"}
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
    adaptive_sampling: AdaptiveSamplingConfig | None = field(
        default=None,
        metadata={
            "help": "mjmimic: with rand_reset, draw training start times where the worst key "
            "body tracks worst (envs/start_sampler.py); unset = uniform. Test episodes "
            "always start uniformly"
        },
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
            "bounds": NON_NEGATIVE,  # 0 = ignore the joint
        },
    )
    motion_file: str = field(metadata={"help": "motion clip (.pkl) or dataset (.yaml) to imitate"})
    motion_fill_missing_joints: dict[str, float] = field(
        default_factory=dict,
        metadata={
            "help": "mjmimic: DoFs the motion lacks, held at a constant angle (rad), e.g. the "
            "G1 wrists for 23-DoF clips",
            "bounds": Bounds(),  # angles: any finite value
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
        if self.adaptive_sampling is not None:
            self.adaptive_sampling.validate()

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
