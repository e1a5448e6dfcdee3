"""ADD env configuration: DeepMimic's keys plus the discriminator window length.

MimicKit's ``add_*_env.yaml`` files load unchanged. Their DeepMimic ``reward_*`` keys
stay required and in use: mjmimic's ADD env keeps DeepMimic's tracking reward as its env
reward (``env.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mjmimic.config.bounds import AT_LEAST_ONE
from mjmimic.envs.add.observations import ADDDiscSettings
from mjmimic.envs.deepmimic.config import DeepMimicEnvConfig


@dataclass(kw_only=True)
class ADDEnvConfig(DeepMimicEnvConfig):
    num_disc_obs_steps: int = field(
        metadata={
            "help": "frames of motion in one discriminator observation (the last n control "
            "steps, newest = now); MimicKit ships 1",
            "range": "1-2",
            "bounds": AT_LEAST_ONE,
        }
    )

    def disc_settings(self) -> ADDDiscSettings:
        return ADDDiscSettings(global_obs=self.global_obs)
