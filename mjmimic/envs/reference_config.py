"""Settings of every task that follows reference clips (DeepMimic, AMP, ADD, tracking).

``ReferenceMotionConfig`` extends the character layer's keys with the clips and where
episodes start in them; a task's config extends it with its observation, reward and
termination keys. The names are MimicKit's (``motion_file``, ``rand_reset``,
``log_tracking_error``); ``motion_fill_missing_joints`` and ``adaptive_sampling`` are
mjmimic's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mjmimic.config.bounds import POSITIVE, Bounds, check_field_bounds
from mjmimic.envs.char_config import CharEnvConfig


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
class ReferenceMotionConfig(CharEnvConfig):
    motion_file: str = field(metadata={"help": "motion clip (.pkl) or dataset (.yaml) to imitate"})
    motion_fill_missing_joints: dict[str, float] = field(
        default_factory=dict,
        metadata={
            "help": "mjmimic: DoFs the motion lacks, held at a constant angle (rad), e.g. the "
            "G1 wrists for 23-DoF clips",
            "bounds": Bounds(),  # angles: any finite value
        },
    )
    rand_reset: bool = field(
        default=True, metadata={"help": "start episodes at a random time of the clip (else 0)"}
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

    def validate(self) -> None:
        super().validate()
        if self.adaptive_sampling is not None:
            self.adaptive_sampling.validate()
