"""The AMP environment (Peng et al. 2021): DeepMimic's character, no tracking task.

The policy sees DeepMimic's observation (shipped configs: no target frames, no phase), the
env reward is 0 (the learner's discriminator supplies the reward), and each step's
``info["disc_obs"]`` is the discriminator observation of the last
``num_disc_obs_steps`` frames (``observations.py``), taken after the step: for an env
that ended, of its terminal state, since the caller resets it afterwards. Demonstrations
in the same encoding come from ``sample_demo_disc_obs``.

As in MimicKit, starts are reference-state initialisations at a random clip time, the
frame history is pre-filled from the reference before it, and an episode never ends
because the clip does: only on the time limit and on falls (and on pose termination when
configured, against the reference at the episode's motion time; off in shipped configs).

An AMP policy imitates the style of the clips, not the clip in time: tracking errors and
a best possible return would mean nothing, so ``TrackingMetrics`` and ``ReturnBounds``
are withheld (``capabilities.py``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from mjmimic.engines import EngineConfig
from mjmimic.envs.amp.config import AMPEnvConfig
from mjmimic.envs.amp.observations import amp_disc_obs_layout, compute_amp_disc_obs
from mjmimic.envs.base import InfoSpec
from mjmimic.envs.capabilities import ReturnBounds, TrackingMetrics
from mjmimic.envs.char_state import CharState
from mjmimic.envs.deepmimic.env import DeepMimicEnv
from mjmimic.envs.deepmimic.observations import observation_labels, observation_size
from mjmimic.envs.disc_history import env_history, env_reference_window
from mjmimic.motion.library import MotionLib


class AMPEnv(DeepMimicEnv):
    withheld_capabilities = (TrackingMetrics, ReturnBounds)

    def __init__(
        self,
        cfg: AMPEnvConfig,
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
        self.disc_history = env_history(self, cfg.num_disc_obs_steps)
        self.disc_layout = amp_disc_obs_layout(
            cfg.num_disc_obs_steps,
            robot.body_names,
            cfg.key_bodies,
            robot.dof_names,
            self.disc_settings,
        )
        self.disc_obs_dim = observation_size(self.disc_layout)
        self.info_spec = InfoSpec(reward_terms=(), extras={"disc_obs": (self.disc_obs_dim,)})
        steps = max(math.ceil(cfg.episode_length / self.dt - 1e-6), 1)
        self._full_steps = torch.full((num_envs,), float(steps), device=self.device)
        self._never_succeed = torch.ones(num_envs, dtype=torch.bool, device=self.device)

    # ---------------------------------------------------------------------------- API
    def full_episode_steps(self) -> torch.Tensor:
        """The time limit in steps for every env: an AMP episode does not end with its clip."""
        return self._full_steps

    def disc_obs_labels(self) -> list[str]:
        """One name per discriminator-observation dimension (``disc[t-3].root_rot.tan.x``)."""
        return observation_labels(self.disc_layout)

    def reset(self, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """DeepMimic's reference-state start, with the frame history pre-filled from the
        reference at t0-(n-1)dt ... t0."""
        obs = super().reset(env_ids)
        ids = torch.arange(self.num_envs, device=self.device) if env_ids is None else env_ids
        self.disc_history.fill(
            ids, self._reference_window(self.motion_ids[ids], self.motion_start[ids])
        )
        return obs

    def _reward(self, char: CharState, ref: CharState):
        """No task: the learner's discriminator supplies the reward."""
        return torch.zeros_like(self.time), {}

    def _clip_end_continues(self, clips: torch.Tensor) -> torch.Tensor:
        """The clip's end is no SUCC for AMP: an episode ends on time or a fall."""
        return self._never_succeed

    def _after_step(self, char: CharState, ref: CharState, info: dict[str, Any]) -> None:
        self.disc_history.push(char)
        info["disc_obs"] = self.current_disc_obs()

    def current_disc_obs(self, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """The discriminator observation of the current history, (N, disc_obs_dim)."""
        return compute_amp_disc_obs(self.disc_history.window(env_ids), self.disc_settings)

    # ---------------------------------------------------------------- capabilities
    def sample_demo_disc_obs(self, num_samples: int) -> torch.Tensor:
        """(num_samples, disc_obs_dim) demonstrations: clips drawn by their weights, end
        times uniform over each clip (DiscriminatorDemos). MimicKit draws time 0 when
        ``rand_reset`` is off; random times are used here either way."""
        clips = self.motion_lib.sample_clips(num_samples)
        times = self.motion_lib.sample_times(clips)
        return self.demo_disc_obs(clips, times)

    def demo_disc_obs(self, clips: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """The discriminator observation of the reference window of clip ``clips[i]``
        ending at ``times[i]``."""
        return compute_amp_disc_obs(self._reference_window(clips, times), self.disc_settings)

    def deployment_spec(self) -> dict[str, Any]:
        """DeepMimic's, without reference clips unless the policy observes the reference
        (phase or target frames): an AMP policy runs from its own state alone."""
        spec = super().deployment_spec()
        if not (self.cfg.enable_phase_obs or self.cfg.enable_tar_obs):
            spec["reference_motions"] = []
        return spec

    # ------------------------------------------------------------------------ helpers
    def _reference_window(self, clips: torch.Tensor, t0: torch.Tensor) -> CharState:
        return env_reference_window(self, clips, t0, self.num_disc_obs_steps)
