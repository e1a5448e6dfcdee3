"""AMP env configuration: MimicKit's AMP env keys on top of DeepMimic's.

MimicKit's ``amp_*_env.yaml`` files load unchanged. They carry DeepMimic's
``reward_<term>_w/_scale`` keys, which AMP does not use (its reward comes from the
discriminator); here those keys are optional, default MimicKit's shipped values, and
ignored.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from mjmimic.config.bounds import AT_LEAST_ONE, NON_NEGATIVE
from mjmimic.envs.amp.observations import AMPDiscSettings
from mjmimic.envs.deepmimic.config import DeepMimicEnvConfig
from mjmimic.envs.deepmimic.rewards import TERMS
from mjmimic.errors import ConfigError


def _ignored_reward_keys(cls):
    """Class decorator (under ``@dataclass``): DeepMimic's required reward keys become
    optional ones with the shipped values as defaults, documented as unused."""
    annotations = dict(inspect.get_annotations(cls))
    for t in TERMS:
        for kind, value in (("w", t.weight), ("scale", t.scale)):
            key = f"reward_{t.name}_{kind}"
            annotations[key] = "float"
            setattr(
                cls,
                key,
                field(
                    default=value,
                    metadata={
                        "help": f"unused by AMP (no tracking reward); accepted because "
                        f"MimicKit's AMP env files carry it (default {value})",
                        "bounds": NON_NEGATIVE,
                    },
                ),
            )
    cls.__annotations__ = annotations
    return cls


@dataclass(kw_only=True)
@_ignored_reward_keys
class AMPEnvConfig(DeepMimicEnvConfig):
    num_disc_obs_steps: int = field(
        metadata={
            "help": "frames of motion in one discriminator observation (the last n control "
            "steps, newest = now); MimicKit ships 10",
            "range": "2-10",
            "bounds": AT_LEAST_ONE,
        }
    )
    disc_dof_vel_obs: bool = field(
        default=True,
        metadata={"help": "include DoF velocities in the discriminator observation"},
    )

    def validate(self) -> None:
        super().validate()
        if self.adaptive_sampling is not None:
            raise ConfigError(
                "env.adaptive_sampling: not for AMP (it draws start times where tracking is "
                "worst, and an AMP policy does not track the clip in time); remove it"
            )

    def disc_settings(self) -> AMPDiscSettings:
        return AMPDiscSettings(
            global_obs=self.global_obs,
            root_height_obs=self.root_height_obs,
            track_root=self.track_root,
            dof_vel_obs=self.disc_dof_vel_obs,
        )
