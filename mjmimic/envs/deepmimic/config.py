"""DeepMimic env configuration: MimicKit's DeepMimic env keys on top of the character
layer's (``envs/char_config.py``).

Field names, meanings and defaults are MimicKit's; keys MimicKit requires have no default
here either. The ``reward_<term>_w/_scale`` keys are generated from the reward table
(``rewards.TERMS``). ``motion_fill_missing_joints`` and ``robot`` are mjmimic additions.
The loader (``mjmimic.config.load_config``) rejects unknown keys and calls ``validate()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mjmimic.envs.char_config import CharEnvConfig, finite_number
from mjmimic.envs.deepmimic.observations import ObsSettings
from mjmimic.envs.deepmimic.rewards import TERMS, RewardSettings
from mjmimic.envs.deepmimic.terminations import TerminationSettings
from mjmimic.envs.reward_terms import reward_keys, validate_weights, weights_from_config
from mjmimic.errors import ConfigError


@dataclass
class AdaptiveSamplingConfig:
    bin_seconds: float = field(
        default=0.5, metadata={"help": "clip-time bin width (s)", "range": "0.25-1.0"}
    )
    floor: float = field(
        default=0.3,
        metadata={"help": "share of starts kept uniform over the clip", "range": "0.1-0.5"},
    )
    decay: float = field(
        default=0.95,
        metadata={
            "help": "weight of a bin's old score when a step's error is averaged in",
            "range": "0.9-0.99",
        },
    )

    def validate(self) -> None:
        if not (finite_number(self.bin_seconds) and self.bin_seconds > 0):
            raise ConfigError(
                f"env.adaptive_sampling.bin_seconds: must be > 0 s, got {self.bin_seconds}"
            )
        if not (finite_number(self.floor) and 0 < self.floor <= 1):
            raise ConfigError(f"env.adaptive_sampling.floor: must be in (0, 1], got {self.floor}")
        if not (finite_number(self.decay) and 0 <= self.decay < 1):
            raise ConfigError(f"env.adaptive_sampling.decay: must be in [0, 1), got {self.decay}")


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
        default=1.0, metadata={"help": "pose termination distance in m", "range": "0.5-1.0"}
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
    key_body_termination_dist: float | None = field(
        default=None,
        metadata={
            "help": "mjmimic: FAIL when a key body, relative to its root, is further than this "
            "from the reference's (m); stops a policy from skipping a motion it cannot do "
            "(a kick it stands through). Unset = no check",
            "range": "0.25-0.5",
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
        },
    )
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
        super().validate()

        def fail(key: str, why: str) -> None:
            raise ConfigError(f"env.{key}: {why}")

        if not finite_number(self.pose_termination_dist) or self.pose_termination_dist <= 0:
            fail("pose_termination_dist", f"must be > 0 m, got {self.pose_termination_dist}")
        if self.num_phase_encoding < 0:
            fail("num_phase_encoding", f"must be >= 0, got {self.num_phase_encoding}")
        if self.enable_tar_obs and not self.tar_obs_steps:
            fail("tar_obs_steps", "is empty but enable_tar_obs is True; give e.g. [1, 2, 3]")
        bad_steps = [s for s in self.tar_obs_steps if s < 0]
        if bad_steps:
            fail("tar_obs_steps", f"steps look ahead and must be >= 0, got {bad_steps}")
        dist = self.key_body_termination_dist
        if dist is not None and not (finite_number(dist) and dist > 0):
            fail("key_body_termination_dist", f"must be > 0 m, got {dist}")
        validate_weights(self, TERMS)
        for name, value in self.motion_fill_missing_joints.items():
            if not finite_number(value):
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
