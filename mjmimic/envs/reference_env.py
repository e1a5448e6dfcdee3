"""The clip-following layer every reference task shares (DeepMimic, AMP, ADD, tracking).

``ReferenceMotionEnv`` adds the reference clips to the character layer: the motion
library, where episodes start in a clip (uniform, fixed at 0, or the adaptive sampler),
the reference window looked up once per step, how long an episode lasts if it never
fails, the per-body tracking errors of test mode and the capabilities that follow from
having a reference (``TrackingMetrics``, ``ReferenceMotions``, ``ReferenceGhost``,
``ReferenceDiagnostics``, ``EpisodeBounds``). A task subclasses it and adds its
observation, reward and done rules; one step of any of them starts with ``_advance``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mjmimic.engines import EngineConfig
from mjmimic.envs.char_env import CharEnv
from mjmimic.envs.char_state import CharState
from mjmimic.envs.deepmimic.reference_window import ReferenceWindow
from mjmimic.envs.reference_config import ReferenceMotionConfig
from mjmimic.envs.start_sampler import AdaptiveStartSampler
from mjmimic.envs.tracking import clip_time, tracking_errors
from mjmimic.motion.dataset import load_motion_set
from mjmimic.motion.library import LOOP_WRAP, MotionLib


class ReferenceMotionEnv(CharEnv):
    def __init__(
        self,
        cfg: ReferenceMotionConfig,
        engine_cfg: EngineConfig,
        num_envs: int,
        config_dir: Path | None = None,
        device: str | torch.device = "cpu",
        motion_lib: MotionLib | None = None,
        lookahead_steps: int = 0,
    ):
        """``motion_lib``: the clips of another env of the same config, shared instead of
        loaded again (a training run's small evaluation env). ``lookahead_steps``: how
        many control steps ahead of now the task reads the reference (target frames)."""
        super().__init__(cfg, engine_cfg, num_envs, config_dir, device)
        robot = self.robot
        if motion_lib is None:
            motions, weights = load_motion_set(
                cfg.motion_file, robot, config_dir, cfg.motion_fill_missing_joints
            )
            motion_lib = MotionLib(motions, weights, robot, self.device, self.kinematics)
        self.motion_lib = motion_lib
        self._moving_joints = torch.tensor(
            [j.kind != "fixed" for j in robot.joints], device=self.device
        )
        self.reference = ReferenceWindow(self.motion_lib, num_envs, lookahead_steps, self.dt)
        # Test mode turns this on (set_tracking); training does not need the extra work.
        self.compute_tracking_errors = False
        self.start_sampler = None
        if cfg.adaptive_sampling is not None and cfg.rand_reset:
            a = cfg.adaptive_sampling
            self.start_sampler = AdaptiveStartSampler(
                self.clip_durations(), a.bin_seconds, a.floor, a.decay, self.device
            )
        self.tracked_body_names = list(cfg.key_bodies)  # columns of body_pos_err
        self.tracked_joint_names = [j.name for j in robot.joints if j.kind != "fixed"]
        # What a video draws beside the policy (ReferenceGhost).
        self.ghost_offset = list(cfg.ref_char_offset)
        self.show_ghost = cfg.visualize_ref_char

        n = num_envs
        self.motion_ids = torch.zeros(n, dtype=torch.long, device=self.device)
        self.motion_start = torch.zeros(n, device=self.device)
        self._max_steps = torch.ones(n, device=self.device)

    # ---------------------------------------------------------------------------- API
    def full_episode_steps(self) -> torch.Tensor:
        """How many steps each env's current episode lasts if it never fails: the episode
        time limit, or less where a non-looping clip ends sooner (random start times)."""
        return self._max_steps

    def set_tracking(self, enabled: bool) -> None:
        """With True, ``step`` adds ``info["tracking"]`` (``envs/tracking.py``)."""
        self.compute_tracking_errors = bool(enabled)

    def clip_names(self) -> list[str]:
        return list(self.motion_lib.names)

    def clip_durations(self) -> torch.Tensor:
        """(num_clips,) seconds."""
        return self.motion_lib.clip_duration(torch.arange(self.motion_lib.num_clips))

    def shared_resources(self) -> dict[str, Any]:
        return {"motion_lib": self.motion_lib}

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self.start_sampler is not None:
            state["start_sampler"] = self.start_sampler.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if self.start_sampler is not None and "start_sampler" in state:
            self.start_sampler.load_state_dict(state["start_sampler"])

    # -------------------------------------------------------------- for the tasks
    def _start_episodes(self, env_ids: torch.Tensor | None) -> torch.Tensor:
        """Reference-state initialisation of ``env_ids`` (all when None) at a clip time
        drawn by the start rule; fills the reference window. Returns the ids."""
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
        return ids

    def _advance(self, actions: torch.Tensor) -> torch.Tensor:
        """One control step of physics, clock and reference window; the clipped actions."""
        clipped = self.apply_action(actions)
        self.reference.advance(self.motion_ids, self._motion_time())
        return clipped

    def _record_step_errors(self, char: CharState, ref: CharState, info: dict[str, Any]) -> None:
        """The adaptive sampler's score and, in test mode, ``info["tracking"]``."""
        if self._adapting() and self.key_ids.numel():
            self._record_worst_body(char, ref)
        if self.compute_tracking_errors:
            info["tracking"] = self._tracking_errors(char, ref)

    def _motion_time(self) -> torch.Tensor:
        """(N,) each env's time in its clip (s), before wrapping a looping clip."""
        return self.motion_start + self.time

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
            self._motion_time(),
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

    def _reference_motions(self) -> list[tuple[Any, float]]:
        """The clips as (Motion, weight) pairs, for an exported policy's metadata."""
        cfg = self.cfg
        motions, weights = load_motion_set(
            cfg.motion_file, self.robot, None, cfg.motion_fill_missing_joints
        )
        return list(zip(motions, weights or [1.0] * len(motions), strict=True))

    # ------------------------------------------------------------------------ helpers
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
            motion_time=self._motion_time(),
            clip_duration=self.motion_lib.clip_duration(self.motion_ids),
            clip_wraps=self.motion_lib.clip_loop_mode(self.motion_ids) == LOOP_WRAP,
        )
