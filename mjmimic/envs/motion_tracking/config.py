"""Whole-body tracking env configuration (``env_name: tracking``).

The clip keys are the reference layer's (``reference_config.py``), the robot's the
character layer's; the rest are BeyondMimic's settings under mjmimic names, each
documented in ``mjmimic explain``. ``reward_<term>_w`` / ``_scale`` come from the reward
table (``rewards.TERMS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mjmimic.config.bounds import NON_NEGATIVE, POSITIVE, Bounds
from mjmimic.envs.motion_tracking.observations import TrackingObsSettings
from mjmimic.envs.motion_tracking.rewards import TERMS
from mjmimic.envs.motion_tracking.terminations import TrackingTerminationSettings
from mjmimic.envs.reference_config import ReferenceMotionConfig
from mjmimic.envs.reward_terms import reward_keys, weights_from_config
from mjmimic.errors import ConfigError


@dataclass(kw_only=True)
@reward_keys(TERMS)
class TrackingEnvConfig(ReferenceMotionConfig):
    anchor_body: str = field(
        metadata={
            "help": "the body the reference is anchored to and observed from (BeyondMimic's "
            "'anchor'; the G1's torso_link)"
        }
    )
    tracked_bodies: list[str] = field(
        default_factory=list,
        metadata={
            "help": "bodies of the body_* reward terms and the critic's body observations; "
            "empty = every body"
        },
    )
    end_effectors: list[str] = field(
        default_factory=list,
        metadata={
            "help": "bodies whose height error ends an episode (end_effector_height_threshold)"
        },
    )
    allowed_contacts: list[str] = field(
        default_factory=list,
        metadata={
            "help": "bodies whose floor contact the undesired_contacts penalty ignores (the "
            "feet, and the hands for clips that touch the floor); every other body's costs"
        },
    )
    default_joint_pos: dict[str, float] = field(
        default_factory=dict,
        metadata={
            "help": "the default pose: joint_pos is observed relative to it and an action of "
            "0 holds it (rad per DoF name; unlisted = 0). robot: fills it from the profile",
            "bounds": Bounds(),
        },
    )
    action_scale: float | dict[str, float] | None = field(
        default=None,
        metadata={
            "help": "PD target = default_joint_pos + action_scale * action: one number, or "
            "rad per DoF name. Unset: the profile's, else BeyondMimic's 0.25 effort / kp",
            "range": "0.1-0.6",
            "bounds": POSITIVE,
        },
    )
    base_lin_vel_obs: bool = field(
        default=False,
        metadata={
            "help": "the policy observes the root's linear velocity (BeyondMimic does; a robot "
            "then needs a state estimator). The privileged critic always does"
        },
    )
    privileged_critic: bool = field(
        default=True,
        metadata={
            "help": "the critic also sees the root velocity and the tracked bodies' poses "
            "(asymmetric actor-critic); the exported policy never does"
        },
    )
    obs_noise: dict[str, float] = field(
        default_factory=dict,
        metadata={
            "help": "uniform noise ±n added to a policy observation term, by term name "
            "(base_ang_vel: 0.2, joint_vel: 0.5, ...); unlisted = none",
            "range": "0.01-0.5",
            "bounds": NON_NEGATIVE,
        },
    )
    anchor_height_threshold: float | None = field(
        default=0.25,
        metadata={
            "help": "FAIL when the anchor's height differs from the reference's by more (m)",
            "range": "0.2-0.3",
            "bounds": POSITIVE,
        },
    )
    anchor_ori_threshold: float | None = field(
        default=0.8,
        metadata={
            "help": "FAIL when gravity's z seen from the anchor differs from the reference's "
            "by more (0.8 ≈ 37° of tilt)",
            "range": "0.5-1.0",
            "bounds": POSITIVE,
        },
    )
    end_effector_height_threshold: float | None = field(
        default=0.25,
        metadata={
            "help": "FAIL when an end effector's height differs from the reference's by "
            "more (m): a kick or jump skipped ends the episode",
            "range": "0.2-0.3",
            "bounds": POSITIVE,
        },
    )

    def validate(self) -> None:
        super().validate()
        for key in ("tracked_bodies", "end_effectors", "allowed_contacts"):
            names = getattr(self, key)
            dups = sorted({n for n in names if names.count(n) > 1})
            if dups:
                raise ConfigError(f"env.{key}: lists {', '.join(dups)} more than once")

    def obs_settings(self) -> TrackingObsSettings:
        return TrackingObsSettings(
            base_lin_vel_obs=self.base_lin_vel_obs, privileged_critic=self.privileged_critic
        )

    def termination_settings(self) -> TrackingTerminationSettings:
        return TrackingTerminationSettings(
            enable_early_termination=self.enable_early_termination,
            anchor_height_threshold=self.anchor_height_threshold,
            anchor_ori_threshold=self.anchor_ori_threshold,
            end_effector_height_threshold=self.end_effector_height_threshold,
            termination_height=self.termination_height,
        )

    def reward_weights(self):
        return weights_from_config(self, TERMS)
