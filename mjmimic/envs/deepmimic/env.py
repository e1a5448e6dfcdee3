"""The DeepMimic motion-tracking environment.

This class only gathers state: the simulated character from the engine, the reference
from the motion library, and hands plain tensors to the pure functions in
``observations.py``, ``rewards.py`` and ``terminations.py``, where the formulas live.

Per control step: clip the action to its bounds, step the physics, advance the clock,
build the character state (FK for key bodies), look up the reference at the current time
and at the target-observation times in one batched query, then observation, reward and
done flags. Done envs are *not* reset here: the caller reads the terminal observation
and then calls ``reset(done_ids)`` (MimicKit's contract).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mjmimic.engines import EngineConfig
from mjmimic.envs.base import InfoSpec
from mjmimic.envs.char_env import CharEnv, setting
from mjmimic.envs.char_state import CharState
from mjmimic.envs.deepmimic.config import DeepMimicEnvConfig
from mjmimic.envs.deepmimic.joint_weights import dof_weights, resolve_joint_weights
from mjmimic.envs.deepmimic.observations import (
    compute_deepmimic_obs,
    observation_labels,
    observation_layout,
    observation_size,
)
from mjmimic.envs.deepmimic.reference_window import ReferenceWindow
from mjmimic.envs.deepmimic.rewards import TERMS, compute_deepmimic_reward, max_reward
from mjmimic.envs.deepmimic.terminations import compute_done
from mjmimic.envs.reward_terms import active_terms, term_names
from mjmimic.envs.start_sampler import AdaptiveStartSampler
from mjmimic.envs.tracking import clip_time, tracking_errors
from mjmimic.motion.dataset import load_motion_set
from mjmimic.motion.library import LOOP_WRAP, MotionLib


class DeepMimicEnv(CharEnv):
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
        super().__init__(cfg, engine_cfg, num_envs, config_dir, device)
        robot = self.robot
        if motion_lib is None:
            motions, weights = load_motion_set(
                cfg.motion_file, robot, config_dir, cfg.motion_fill_missing_joints
            )
            motion_lib = MotionLib(motions, weights, robot, self.device, self.kinematics)
        self.motion_lib = motion_lib
        self.joint_weights = resolve_joint_weights(
            robot, cfg.joint_err_w, setting(cfg, "joint_err_w")
        ).to(self.device)
        self.dof_weights = dof_weights(robot, self.joint_weights).to(self.device)
        self._moving_joints = torch.tensor(
            [j.kind != "fixed" for j in robot.joints], device=self.device
        )
        self.obs_settings = cfg.obs_settings()
        self.reward_settings = cfg.reward_settings()
        self.termination_settings = cfg.termination_settings()
        self.tar_steps = list(cfg.tar_obs_steps) if cfg.enable_tar_obs else []
        self.reference = ReferenceWindow(
            self.motion_lib, num_envs, max(self.tar_steps, default=0), self.dt
        )
        # Test mode turns this on (set_tracking); training does not need the extra work.
        self.compute_tracking_errors = False
        self.start_sampler = None
        if cfg.adaptive_sampling is not None and cfg.rand_reset:
            a = cfg.adaptive_sampling
            durations = self.motion_lib.clip_duration(torch.arange(self.motion_lib.num_clips))
            self.start_sampler = AdaptiveStartSampler(
                durations, a.bin_seconds, a.floor, a.decay, self.device
            )
        self.tracked_body_names = list(cfg.key_bodies)  # columns of body_pos_err
        self.tracked_joint_names = [j.name for j in robot.joints if j.kind != "fixed"]
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
        # What a video draws beside the policy (ReferenceGhost).
        self.ghost_offset = list(cfg.ref_char_offset)
        self.show_ghost = cfg.visualize_ref_char

        n = num_envs
        self.motion_ids = torch.zeros(n, dtype=torch.long, device=self.device)
        self.motion_start = torch.zeros(n, device=self.device)
        self._max_steps = torch.ones(n, device=self.device)
        self._obs = torch.zeros(n, self.obs_dim, device=self.device)

    # ---------------------------------------------------------------------------- API
    def obs_labels(self) -> list[str]:
        return observation_labels(self.obs_layout)

    def full_episode_steps(self) -> torch.Tensor:
        """How many steps each env's current episode lasts if it never fails: the episode
        time limit, or less where a non-looping clip ends sooner (random start times)."""
        return self._max_steps

    def best_episode_return(self) -> torch.Tensor:
        """What a perfect policy would earn in each env's current episode: the best
        per-step reward times the steps the episode lasts without failing."""
        return self.max_reward * self._max_steps

    def set_tracking(self, enabled: bool) -> None:
        """With True, ``step`` adds ``info["tracking"]`` (``envs/tracking.py``)."""
        self.compute_tracking_errors = bool(enabled)

    def clip_names(self) -> list[str]:
        return list(self.motion_lib.names)

    def clip_durations(self) -> torch.Tensor:
        """(num_clips,) seconds."""
        return self.motion_lib.clip_duration(torch.arange(self.motion_lib.num_clips))

    def reset(self, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Reference-state initialisation of ``env_ids`` (all when None) at a random clip
        time; returns the observation of all envs."""
        ids = torch.arange(self.num_envs, device=self.device) if env_ids is None else env_ids
        clips = self.motion_lib.sample_clips(ids.numel())
        if self._adapting():
            start = self.start_sampler.sample(clips)
        elif self.cfg.rand_reset:
            start = self.motion_lib.sample_times(clips)
        else:
            start = torch.zeros(ids.numel(), device=self.device)
        self.init_from_state(ids, self.motion_lib.get_state(clips, start))
        self.motion_ids[ids] = clips
        self.motion_start[ids] = start
        duration = self.motion_lib.clip_duration(clips)
        wraps = self.motion_lib.clip_loop_mode(clips) == LOOP_WRAP
        remaining = torch.where(wraps, torch.full_like(start, math.inf), duration - start)
        horizon = torch.clamp(remaining, max=self.cfg.episode_length)
        self._max_steps[ids] = torch.ceil(horizon / self.dt - 1e-6).clamp_min(1.0)
        self.reference.fill(ids, clips, start)
        char = self.char_state(ids)
        targets = self._targets(ids)
        self._obs[ids] = compute_deepmimic_obs(char, targets, self._phase(ids), self.obs_settings)
        return self._obs

    def step(self, actions: torch.Tensor):
        """Returns (obs, reward, done, info); ``done`` holds ``DoneFlag`` values."""
        self.apply_action(actions)
        self.reference.advance(self.motion_ids, self.motion_start + self.time)
        char = self.char_state()
        targets, ref = self._targets(None), self._current_reference()
        obs = compute_deepmimic_obs(char, targets, self._phase(None), self.obs_settings)
        reward, terms = self._reward(char, ref)
        clips = self.motion_ids
        done = compute_done(
            time=self.time,
            episode_length=self.cfg.episode_length,
            motion_time=self.motion_start + self.time,
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
        if self._adapting() and self.key_ids.numel():
            self._record_worst_body(char, ref)
        self._obs = obs
        info: dict[str, Any] = {"reward_terms": {k: terms[k] for k in self.info_spec.reward_terms}}
        if self.compute_tracking_errors:
            info["tracking"] = self._tracking_errors(char, ref)
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

    def shared_resources(self) -> dict[str, Any]:
        return {"motion_lib": self.motion_lib}

    def state_dict(self) -> dict[str, Any]:
        return (
            {} if self.start_sampler is None else {"start_sampler": self.start_sampler.state_dict()}
        )

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.start_sampler is not None and "start_sampler" in state:
            self.start_sampler.load_state_dict(state["start_sampler"])

    def _adapting(self) -> bool:
        """Training starts follow the adaptive sampler; test episodes (tracking on) start
        uniformly, so what they measure is the whole clip."""
        return self.start_sampler is not None and not self.compute_tracking_errors

    def _record_worst_body(self, char: CharState, ref: CharState) -> None:
        key_rel = char.key_pos - char.root_pos[:, None]
        ref_rel = ref.key_pos - ref.root_pos[:, None]
        worst = (key_rel - ref_rel).norm(dim=-1).amax(-1)
        clips = self.motion_ids
        times = clip_time(
            self.motion_start + self.time,
            self.motion_lib.clip_duration(clips),
            self.motion_lib.clip_loop_mode(clips) == LOOP_WRAP,
        )
        self.start_sampler.record(clips, times, worst)

    # ---------------------------------------------------------------- capabilities
    def motion_source(self) -> str:
        return self.cfg.motion_file

    def ghost_qpos(self, env_index: int) -> np.ndarray:
        """MuJoCo qpos of env ``env_index``'s reference pose now (ReferenceGhost)."""
        i = slice(env_index, env_index + 1)
        ref = self.motion_lib.get_state(self.motion_ids[i], self.motion_start[i] + self.time[i])
        joints = self.kinematics.dof_to_qpos(ref.dof_pos)
        qpos = torch.cat([ref.root_pos, ref.root_rot, joints], dim=-1)[0]
        return qpos.detach().to("cpu", torch.float64).numpy().copy()

    def describe_reference(self, env_ids: list[int]) -> list[str]:
        """Non-finite reference values of ``env_ids``, naming clip and time
        (ReferenceDiagnostics)."""
        ids = torch.as_tensor(env_ids, dtype=torch.long, device=self.device)
        clips = self.motion_ids[ids]
        ref = self.motion_lib.get_state(clips, self.motion_start[ids] + self.time[ids])
        found = []
        for name in ("root_pos", "root_rot", "dof_pos", "root_lin_vel", "dof_vel"):
            bad = ~torch.isfinite(getattr(ref, name)).reshape(ids.numel(), -1).all(1)
            for i in torch.nonzero(bad).flatten().tolist():
                found.append(
                    f"reference {name} non-finite for env {env_ids[i]}: clip "
                    f"{self.motion_lib.names[int(clips[i])]} at t={float(self.time[ids[i]]):.3f}s"
                )
        return found

    def deployment_spec(self) -> dict[str, Any]:
        """What an exported policy needs to rebuild this observation (Deployable)."""
        cfg, settings = self.cfg, self.obs_settings
        motions, weights = load_motion_set(
            cfg.motion_file, self.robot, None, cfg.motion_fill_missing_joints
        )
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
            "reference_motions": list(zip(motions, weights or [1.0] * len(motions), strict=True)),
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

    def _current_reference(self) -> CharState:
        def now(name: str) -> torch.Tensor:
            return self.reference.get(name, [0])[:, 0]

        body_pos = now("body_pos")
        return CharState(
            root_pos=now("root_pos"),
            root_rot=now("root_rot"),
            joint_rot=now("joint_rot"),
            key_pos=body_pos[:, self.key_ids],
            root_vel=now("root_lin_vel"),
            root_ang_vel=now("root_ang_vel"),
            dof_vel=now("dof_vel"),
            body_pos=body_pos,
        )

    def _phase(self, ids: torch.Tensor | None) -> torch.Tensor | None:
        if not self.cfg.enable_phase_obs:
            return None
        clips = self.motion_ids if ids is None else self.motion_ids[ids]
        now = self.motion_start + self.time
        now = now if ids is None else now[ids]
        phase = now / self.motion_lib.clip_duration(clips)
        wraps = self.motion_lib.clip_loop_mode(clips) == LOOP_WRAP
        return torch.where(wraps, phase - torch.floor(phase), phase.clamp(0.0, 1.0))

    def _tracking_errors(self, char: CharState, ref: CharState) -> dict[str, torch.Tensor]:
        """Per key body, per joint and mean errors, and the clip time compared."""
        return tracking_errors(
            char_root_pos=char.root_pos,
            char_key_pos=char.key_pos,
            char_joint_rot=char.joint_rot,
            ref_root_pos=ref.root_pos,
            ref_key_pos=ref.key_pos,
            ref_joint_rot=ref.joint_rot,
            moving_joints=self._moving_joints,
            clip=self.motion_ids,
            motion_time=self.motion_start + self.time,
            clip_duration=self.motion_lib.clip_duration(self.motion_ids),
            clip_wraps=self.motion_lib.clip_loop_mode(self.motion_ids) == LOOP_WRAP,
        )
