"""The DeepMimic motion-tracking environment.

This class only gathers state: the simulated character from the engine, the reference
from the motion library (``ReferenceMotionEnv``), and hands plain tensors to the pure
functions in ``observations.py``, ``rewards.py`` and ``terminations.py``, where the
formulas live.

Per control step: clip the action to its bounds, step the physics, advance the clock,
build the character state (FK for key bodies), look up the reference at the current time
and at the target-observation times in one batched query, then observation, reward and
done flags. Done envs are *not* reset here: the caller reads the terminal observation
and then calls ``reset(done_ids)`` (MimicKit's contract).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mjmimic.engines import EngineConfig
from mjmimic.envs.base import InfoSpec
from mjmimic.envs.char_env import setting
from mjmimic.envs.char_state import CharState
from mjmimic.envs.deepmimic.config import DeepMimicEnvConfig
from mjmimic.envs.deepmimic.joint_weights import dof_weights, resolve_joint_weights
from mjmimic.envs.deepmimic.observations import (
    compute_deepmimic_obs,
    observation_labels,
    observation_layout,
    observation_size,
)
from mjmimic.envs.deepmimic.rewards import TERMS, compute_deepmimic_reward, max_reward
from mjmimic.envs.deepmimic.terminations import compute_done
from mjmimic.envs.reference_env import ReferenceMotionEnv
from mjmimic.envs.reward_terms import active_terms, term_names
from mjmimic.motion.library import LOOP_WRAP, MotionLib


class DeepMimicEnv(ReferenceMotionEnv):
    def __init__(
        self,
        cfg: DeepMimicEnvConfig,
        engine_cfg: EngineConfig,
        num_envs: int,
        config_dir: Path | None = None,
        device: str | torch.device = "cpu",
        motion_lib: MotionLib | None = None,
    ):
        """``motion_lib``: the clips of another env of the same config, shared instead of
        loaded again (a training run's small evaluation env)."""
        self.tar_steps = list(cfg.tar_obs_steps) if cfg.enable_tar_obs else []
        super().__init__(
            cfg,
            engine_cfg,
            num_envs,
            config_dir,
            device,
            motion_lib,
            lookahead_steps=max(self.tar_steps, default=0),
        )
        robot = self.robot
        self.joint_weights = resolve_joint_weights(
            robot, cfg.joint_err_w, setting(cfg, "joint_err_w")
        ).to(self.device)
        self.dof_weights = dof_weights(robot, self.joint_weights).to(self.device)
        self.obs_settings = cfg.obs_settings()
        self.reward_settings = cfg.reward_settings()
        self.termination_settings = cfg.termination_settings()
        self.obs_layout = observation_layout(
            robot.num_bodies,
            robot.num_dofs,
            cfg.key_bodies,
            robot.body_names,
            robot.dof_names,
            self.obs_settings,
        )
        self.obs_dim = observation_size(self.obs_layout)
        self.reward_terms = active_terms(TERMS, has_key_bodies=len(cfg.key_bodies) > 0)
        self.max_reward = max_reward(self.reward_settings, has_key_bodies=len(cfg.key_bodies) > 0)
        self.info_spec = InfoSpec(reward_terms=term_names(self.reward_terms))
        self._obs = torch.zeros(num_envs, self.obs_dim, device=self.device)

    # ---------------------------------------------------------------------------- API
    def obs_labels(self) -> list[str]:
        return observation_labels(self.obs_layout)

    def best_episode_return(self) -> torch.Tensor:
        """What a perfect policy would earn in each env's current episode: the best
        per-step reward times the steps the episode lasts without failing."""
        return self.max_reward * self._max_steps

    def reset(self, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Reference-state initialisation of ``env_ids`` (all when None) at a random clip
        time; returns the observation of all envs."""
        ids = self._start_episodes(env_ids)
        char = self.char_state(ids)
        targets = self._targets(ids)
        self._obs[ids] = compute_deepmimic_obs(char, targets, self._phase(ids), self.obs_settings)
        return self._obs

    def step(self, actions: torch.Tensor):
        """Returns (obs, reward, done, info); ``done`` holds ``DoneFlag`` values."""
        self._advance(actions)
        char, ref = self.char_state(), self._current_reference()
        targets = self._targets(None)
        obs = compute_deepmimic_obs(char, targets, self._phase(None), self.obs_settings)
        reward, terms = self._reward(char, ref)
        clips = self.motion_ids
        done = compute_done(
            time=self.time,
            episode_length=self.cfg.episode_length,
            motion_time=self._motion_time(),
            motion_duration=self.motion_lib.clip_duration(clips),
            motion_wraps=self._clip_end_continues(clips),
            ground_contact=self.engine.ground_contact,
            contact_body_mask=self.contact_body_mask,
            char_body_pos=char.body_pos,
            char_root_rot=char.root_rot,
            ref_body_pos=ref.body_pos,
            ref_root_rot=ref.root_rot,
            cfg=self.termination_settings,
            key_ids=self.key_ids,
        )
        self._obs = obs
        info: dict[str, Any] = {"reward_terms": {k: terms[k] for k in self.info_spec.reward_terms}}
        self._record_step_errors(char, ref, info)
        self._after_step(char, ref, info)
        return obs, reward, done, info

    # -------------------------------------------------- hooks for the tasks built on this
    def _reward(
        self, char: CharState, ref: CharState
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(N,) reward and its named terms (AMP: zero, no terms)."""
        return compute_deepmimic_reward(
            char, ref, self.joint_weights, self.dof_weights, self.reward_settings
        )

    def _clip_end_continues(self, clips: torch.Tensor) -> torch.Tensor:
        """(N,) bool: the episode goes on past the clip's end (looping clips; AMP: all)."""
        return self.motion_lib.clip_loop_mode(clips) == LOOP_WRAP

    def _after_step(self, char: CharState, ref: CharState, info: dict[str, Any]) -> None:
        """Last in ``step``, with the post-step character and reference: a subclass adds
        its ``info`` extras here (AMP/ADD: the discriminator observations)."""

    # ---------------------------------------------------------------- capabilities
    def deployment_spec(self) -> dict[str, Any]:
        """What an exported policy needs to rebuild this observation (Deployable)."""
        cfg, settings = self.cfg, self.obs_settings
        return {
            "observation": {
                "size": self.obs_dim,
                "terms": [(t.name, t.size, list(t.labels)) for t in self.obs_layout],
                "global_obs": settings.global_obs,
                "root_height_obs": settings.root_height_obs,
                "enable_phase_obs": settings.enable_phase_obs,
                "num_phase_encoding": settings.num_phase_encoding,
                "enable_tar_obs": settings.enable_tar_obs,
                "tar_obs_steps": list(settings.tar_obs_steps),
                "body_names": list(self.robot.body_names),
                "key_bodies": list(cfg.key_bodies),
            },
            "falls": {
                "contact_bodies": list(cfg.contact_bodies),
                "termination_height": cfg.termination_height,
            },
            "reference_motions": self._reference_motions(),
        }

    # ------------------------------------------------------------------------ helpers
    def _targets(self, ids: torch.Tensor | None) -> CharState | None:
        """Reference frames at the target-observation steps, (N, S, ...)."""
        if not self.tar_steps:
            return None
        get = self.reference.get
        steps = self.tar_steps
        return CharState(
            root_pos=get("root_pos", steps, ids),
            root_rot=get("root_rot", steps, ids),
            joint_rot=get("joint_rot", steps, ids),
            key_pos=get("body_pos", steps, ids)[:, :, self.key_ids],
        )

    def _phase(self, ids: torch.Tensor | None) -> torch.Tensor | None:
        if not self.cfg.enable_phase_obs:
            return None
        clips = self.motion_ids if ids is None else self.motion_ids[ids]
        now = self._motion_time()
        now = now if ids is None else now[ids]
        phase = now / self.motion_lib.clip_duration(clips)
        wraps = self.motion_lib.clip_loop_mode(clips) == LOOP_WRAP
        return torch.where(wraps, phase - torch.floor(phase), phase.clamp(0.0, 1.0))
