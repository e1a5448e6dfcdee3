"""ADD env configuration: DeepMimic's keys plus the discriminator window length.

MimicKit's ``add_*_env.yaml`` files load unchanged. Their DeepMimic ``reward_*`` keys
stay required and in use: mjmimic's ADD env keeps DeepMimic's tracking reward as its env
reward (``env.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mjmimic.envs.add.observations import ADDDiscSettings
from mjmimic.envs.deepmimic.config import DeepMimicEnvConfig
from mjmimic.errors import ConfigError


@dataclass(kw_only=True)
class ADDEnvConfig(DeepMimicEnvConfig):
    num_disc_obs_steps: int = field(
        metadata={
            "help": "frames of motion in one discriminator observation (the last n control "
            "steps, newest = now); MimicKit ships 1",
            "range": "1-2",
        }
    )

    def validate(self) -> None:
        super().validate()
        n = self.num_disc_obs_steps
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"env.num_disc_obs_steps: must be an integer >= 1, got {n!r}")

    def disc_settings(self) -> ADDDiscSettings:
        return ADDDiscSettings(global_obs=self.global_obs)
