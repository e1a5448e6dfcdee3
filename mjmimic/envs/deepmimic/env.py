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

import torch

from mjmimic.config import DEFAULT_ORIGIN, get_origin
from mjmimic.engines import EngineConfig, build_engine
from mjmimic.envs.actions import pd_target_bounds, torque_bounds
from mjmimic.envs.deepmimic.config import DeepMimicEnvConfig
from mjmimic.envs.deepmimic.joint_weights import dof_weights, resolve_joint_weights
from mjmimic.envs.deepmimic.observations import (
    CharState,
    compute_deepmimic_obs,
    observation_layout,
    observation_size,
)
from mjmimic.envs.deepmimic.reference_window import ReferenceWindow
from mjmimic.envs.deepmimic.rewards import compute_deepmimic_reward, max_reward
from mjmimic.envs.deepmimic.terminations import compute_done
from mjmimic.errors import ConfigError
from mjmimic.motion.dataset import load_motion_set
from mjmimic.motion.library import LOOP_WRAP, MotionLib
from mjmimic.paths import resolve_input_path
from mjmimic.robots.model import RobotModel
from mjmimic.rotations import quat_diff_angle


class DeepMimicEnv:
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
        self.cfg = cfg
        self.num_envs = num_envs
        self.device = torch.device(device)
        char_file = resolve_input_path(cfg.char_file, config_dir, "robot model", "env.char_file")
        self.robot = RobotModel.from_file(char_file)
        self.engine = build_engine(engine_cfg, self.robot, num_envs, device)
        self.kinematics = self.engine.kinematics
        self.dt = self.engine.control_dt
        if motion_lib is None:
            motions, weights = load_motion_set(
                cfg.motion_file, self.robot, config_dir, cfg.motion_fill_missing_joints
            )
            motion_lib = MotionLib(motions, weights, self.robot, self.device, self.kinematics)
        self.motion_lib = motion_lib

        robot = self.robot
        self.key_ids = torch.tensor(
            _body_ids(robot, cfg.key_bodies, _setting(cfg, "key_bodies")),
            dtype=torch.long,
            device=self.device,
        )
        self.contact_body_mask = torch.zeros(robot.num_bodies, dtype=torch.bool, device=self.device)
        self.contact_body_mask[
            _body_ids(robot, cfg.contact_bodies, _setting(cfg, "contact_bodies"))
        ] = True
        self.joint_weights = resolve_joint_weights(
            robot, cfg.joint_err_w, _setting(cfg, "joint_err_w")
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
        # Test mode turns this on; training does not need the extra work per step.
        self.compute_tracking_errors = False
        self.obs_layout = observation_layout(
            robot.num_bodies,
            robot.num_dofs,
            cfg.key_bodies,
            robot.body_names,
            robot.dof_names,
            self.obs_settings,
        )
        self.obs_dim = observation_size(self.obs_layout)
        self.action_dim = robot.num_dofs
        if self.engine.control_mode == "pos":
            low, high = self.engine.dof_limits()
            self._action_low, self._action_high = pd_target_bounds(
                low, high, cfg.zero_center_action
            )
        else:
            effort = torch.as_tensor(self.engine.pd.effort, dtype=torch.float32, device=self.device)
            self._action_low, self._action_high = torque_bounds(effort)
        self.max_reward = max_reward(self.reward_settings, has_key_bodies=len(cfg.key_bodies) > 0)

        n = num_envs
        self.time = torch.zeros(n, device=self.device)
        self.motion_ids = torch.zeros(n, dtype=torch.long, device=self.device)
        self.motion_start = torch.zeros(n, device=self.device)
        self._max_steps = torch.ones(n, device=self.device)
        self._obs = torch.zeros(n, self.obs_dim, device=self.device)

    # ---------------------------------------------------------------------------- API
    def action_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._action_low, self._action_high

    def full_episode_steps(self) -> torch.Tensor:
        """How many steps each env's current episode lasts if it never fails: the episode
        time limit, or less where a non-looping clip ends sooner (random start times)."""
        return self._max_steps

    def best_episode_return(self) -> torch.Tensor:
        """What a perfect policy would earn in each env's current episode: the best
        per-step reward times the steps the episode lasts without failing."""
        return self.max_reward * self._max_steps

    def reset(self, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Reference-state initialisation of ``env_ids`` (all when None) at a random clip
        time; returns the observation of all envs."""
        ids = torch.arange(self.num_envs, device=self.device) if env_ids is None else env_ids
        clips = self.motion_lib.sample_clips(ids.numel())
        if self.cfg.rand_reset:
            start = self.motion_lib.sample_times(clips)
        else:
            start = torch.zeros(ids.numel(), device=self.device)
        ref = self.motion_lib.get_state(clips, start)
        self.engine.set_state(
            ids,
            ref.root_pos,
            ref.root_rot,
            ref.root_lin_vel,
            ref.root_ang_vel,
            ref.dof_pos,
            ref.dof_vel,
        )
        self.time[ids] = 0.0
        self.motion_ids[ids] = clips
        self.motion_start[ids] = start
        duration = self.motion_lib.clip_duration(clips)
        wraps = self.motion_lib.clip_loop_mode(clips) == LOOP_WRAP
        remaining = torch.where(wraps, torch.full_like(start, math.inf), duration - start)
        horizon = torch.clamp(remaining, max=self.cfg.episode_length)
        self._max_steps[ids] = torch.ceil(horizon / self.dt - 1e-6).clamp_min(1.0)
        self.reference.fill(ids, clips, start)
        char = self._char_state(ids)
        targets = self._targets(ids)
        self._obs[ids] = compute_deepmimic_obs(char, targets, self._phase(ids), self.obs_settings)
        return self._obs

    def step(self, actions: torch.Tensor):
        """Returns (obs, reward, done, info); ``done`` holds ``DoneFlag`` values."""
        command = torch.clamp(actions, self._action_low, self._action_high)
        self.engine.step(command)
        self.time += self.dt
        self.reference.advance(self.motion_ids, self.motion_start + self.time)
        char = self._char_state(None)
        targets, ref = self._targets(None), self._current_reference()
        obs = compute_deepmimic_obs(char, targets, self._phase(None), self.obs_settings)
        reward, terms = compute_deepmimic_reward(
            char, ref, self.joint_weights, self.dof_weights, self.reward_settings
        )
        clips = self.motion_ids
        done = compute_done(
            time=self.time,
            episode_length=self.cfg.episode_length,
            motion_time=self.motion_start + self.time,
            motion_duration=self.motion_lib.clip_duration(clips),
            motion_wraps=self.motion_lib.clip_loop_mode(clips) == LOOP_WRAP,
            ground_contact=self.engine.ground_contact,
            contact_body_mask=self.contact_body_mask,
            char_body_pos=char.body_pos,
            char_root_rot=char.root_rot,
            ref_body_pos=ref.body_pos,
            ref_root_rot=ref.root_rot,
            cfg=self.termination_settings,
        )
        self._obs = obs
        info = {"reward_terms": {k: terms[k] for k in _REWARD_TERMS if k in terms}}
        if self.compute_tracking_errors:
            info["tracking"] = self._tracking_errors(char, ref)
        return obs, reward, done, info

    # ------------------------------------------------------------------------ helpers
    def _char_state(self, ids: torch.Tensor | None) -> CharState:
        e = self.engine
        root_pos, root_rot, dof_pos = e.root_pos, e.root_rot, e.dof_pos
        lin, ang, dof_vel = e.root_lin_vel, e.root_ang_vel, e.dof_vel
        if ids is not None:
            root_pos, root_rot, dof_pos = root_pos[ids], root_rot[ids], dof_pos[ids]
            lin, ang, dof_vel = lin[ids], ang[ids], dof_vel[ids]
        joint_rot = self.kinematics.joint_rotations(dof_pos)
        body_pos, _ = self.kinematics.forward_kinematics_matrices(
            root_pos, root_rot, dof_pos, joint_rot
        )
        return CharState(
            root_pos=root_pos,
            root_rot=root_rot,
            joint_rot=joint_rot,
            key_pos=body_pos[:, self.key_ids],
            root_vel=lin,
            root_ang_vel=ang,
            dof_vel=dof_vel,
            body_pos=body_pos,
        )

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
        """Joint rotation error (rad, mean over moving joints), root position error (m) and
        key-body position error (m, mean over key bodies, each relative to its root)."""
        angle = quat_diff_angle(char.joint_rot, ref.joint_rot)[:, self._moving_joints]
        key_rel = char.key_pos - char.root_pos[:, None]
        ref_key_rel = ref.key_pos - ref.root_pos[:, None]
        return {
            "joint_rot_err": angle.mean(-1),
            "root_pos_err": (char.root_pos - ref.root_pos).norm(dim=-1),
            "key_pos_err": (key_rel - ref_key_rel).norm(dim=-1).mean(-1)
            if self.key_ids.numel()
            else torch.zeros_like(angle[:, 0]),
        }


_REWARD_TERMS = ("pose", "vel", "root_pose", "root_vel", "key_pos")


def _setting(cfg: DeepMimicEnvConfig, name: str) -> str:
    """``env.<name>`` prefixed with the file:line that set it, for error messages."""
    origin = get_origin(cfg, name)
    return f"env.{name}" if origin == DEFAULT_ORIGIN else f"{origin}: env.{name}"


def _body_ids(robot: RobotModel, names: list[str], key: str) -> list[int]:
    unknown = [n for n in names if n not in robot.body_names]
    if unknown:
        raise ConfigError(
            f"{key}: unknown body {', '.join(repr(u) for u in unknown)} in {robot.source}; "
            f"bodies are: {', '.join(robot.body_names)}"
        )
    return [robot.body_names.index(n) for n in names]
