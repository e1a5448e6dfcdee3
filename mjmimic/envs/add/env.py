"""The ADD environment (Zhang et al. 2025, Adversarial Differential Discriminators).

DeepMimic's task unchanged (observation with target frames, clip-end SUCC, pose
termination, tracking capabilities), plus each step a pair of discriminator observations
at the same motion time (``observations.py``): ``info["disc_obs"]`` of the simulated
character's last ``num_disc_obs_steps`` frames and ``info["disc_obs_demo"]`` of the
reference's. The learner's discriminator judges ``disc_obs_demo - disc_obs``: zero is
perfect tracking. Both windows are pre-filled from the reference on reset, so right after
a reset the difference is zero.

Deviation from MimicKit: the env reward is DeepMimic's tracking reward, not 0. The ADD
learner weighs it by ``task_reward_weight`` (0 as shipped), so learning is the same, and
test returns stay the DeepMimic tracking return, comparable with DeepMimic runs.
"""

from __future__ import annotations

from pathlib import Path

import torch

from mjmimic.engines import EngineConfig
from mjmimic.envs.add.config import ADDEnvConfig
from mjmimic.envs.add.observations import add_disc_obs_layout, compute_add_disc_obs
from mjmimic.envs.base import InfoSpec
from mjmimic.envs.char_state import CharState
from mjmimic.envs.deepmimic.env import DeepMimicEnv
from mjmimic.envs.deepmimic.observations import observation_labels, observation_size
from mjmimic.envs.disc_history import env_history, env_reference_window
from mjmimic.motion.library import MotionLib


class ADDEnv(DeepMimicEnv):
    def __init__(
        self,
        cfg: ADDEnvConfig,
        engine_cfg: EngineConfig,
        num_envs: int,
        config_dir: Path | None = None,
        device: str | torch.device = "cpu",
        motion_lib: MotionLib | None = None,
    ):
        super().__init__(cfg, engine_cfg, num_envs, config_dir, device, motion_lib)
        robot = self.robot
        self.num_disc_obs_steps = cfg.num_disc_obs_steps
        self.disc_settings = cfg.disc_settings()

        self.disc_history = env_history(self, cfg.num_disc_obs_steps)  # the simulated character
        self.demo_history = env_history(self, cfg.num_disc_obs_steps)  # the reference, same times
        self.disc_layout = add_disc_obs_layout(
            cfg.num_disc_obs_steps, robot.body_names, robot.dof_names
        )
        self.disc_obs_dim = observation_size(self.disc_layout)
        shape = (self.disc_obs_dim,)
        self.info_spec = InfoSpec(
            reward_terms=self.info_spec.reward_terms,
            extras={"disc_obs": shape, "disc_obs_demo": shape},
        )

    # ---------------------------------------------------------------------------- API
    def disc_obs_labels(self) -> list[str]:
        """One name per discriminator-observation dimension (``disc[t].body_pos[head].z``)."""
        return observation_labels(self.disc_layout)

    def reset(self, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """DeepMimic's reference-state start; both histories pre-filled from the reference
        at t0-(n-1)dt ... t0."""
        obs = super().reset(env_ids)
        ids = torch.arange(self.num_envs, device=self.device) if env_ids is None else env_ids
        frames = env_reference_window(
            self, self.motion_ids[ids], self.motion_start[ids], self.num_disc_obs_steps
        )
        self.disc_history.fill(ids, frames)
        self.demo_history.fill(ids, frames)
        return obs

    def _after_step(self, char: CharState, ref: CharState, info: dict) -> None:
        """``info`` adds ``disc_obs`` and ``disc_obs_demo``."""
        self.disc_history.push(char)
        self.demo_history.push(ref)
        info["disc_obs"] = self.current_disc_obs()
        info["disc_obs_demo"] = self.current_disc_obs_demo()

    def current_disc_obs(self, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """The simulated character's discriminator observation now, (N, disc_obs_dim)."""
        return compute_add_disc_obs(self.disc_history.window(env_ids), self.disc_settings)

    def current_disc_obs_demo(self, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """The reference's discriminator observation at the same motion time."""
        return compute_add_disc_obs(self.demo_history.window(env_ids), self.disc_settings)
