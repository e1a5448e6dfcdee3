"""Whole-body motion tracking (BeyondMimic's task): a policy that can run on the robot.

The policy observes only what a robot measures (IMU, encoders, its last action) and the
command (the reference joints now, and the reference anchor seen from the robot's
anchor; ``observations.py``); a privileged critic may see more. Actions are offsets from
the default pose in units of ``action_scale`` (mjlab's joint-position action), so action
0 holds the default pose and an exported policy's output means what mjlab deploy code
expects. Rewards compare bodies with the reference re-anchored at the robot
(``frames.py``, ``rewards.py``); episodes end on BeyondMimic's anchor and end-effector
errors (``terminations.py``). Clip handling, start-time sampling (adaptive: where the
worst body tracks worst) and test-mode tracking errors are the reference layer's.

Per control step: clip the raw action, command ``default + scale * action``, step, FK of
the robot's and the reference's bodies with their velocities (``BodyFrames``), re-anchor
the reference, then reward, done flags and the observation (noise added per term).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from mjmimic.engines import EngineConfig
from mjmimic.envs.base import InfoSpec
from mjmimic.envs.char_env import body_ids, setting
from mjmimic.envs.char_state import CharState
from mjmimic.envs.deepmimic.observations import observation_labels, observation_size
from mjmimic.envs.motion_tracking.config import TrackingEnvConfig
from mjmimic.envs.motion_tracking.frames import BodyFrames, reanchored_reference
from mjmimic.envs.motion_tracking.observations import (
    TrackingObsInputs,
    assemble,
    critic_layout,
    critic_terms,
    policy_layout,
    policy_terms,
)
from mjmimic.envs.motion_tracking.rewards import TERMS, penalties, tracking_errors
from mjmimic.envs.motion_tracking.terminations import compute_tracking_done
from mjmimic.envs.reference_env import ReferenceMotionEnv
from mjmimic.envs.reward_terms import max_reward, term_names, weighted_reward
from mjmimic.errors import ConfigError
from mjmimic.motion.library import LOOP_WRAP, MotionLib
from mjmimic.rotations import matrix_to_quat

# BeyondMimic's action scale where the profile gives none: a quarter of the joint's
# effort limit in PD-target radians (0.25 effort / kp); 0.5 rad for an unlimited joint.
EFFORT_SHARE = 0.25
UNLIMITED_SCALE = 0.5


class TrackingEnv(ReferenceMotionEnv):
    def __init__(
        self,
        cfg: TrackingEnvConfig,
        engine_cfg: EngineConfig,
        num_envs: int,
        config_dir: Path | None = None,
        device: str | torch.device = "cpu",
        motion_lib: MotionLib | None = None,
    ):
        super().__init__(cfg, engine_cfg, num_envs, config_dir, device, motion_lib)
        if self.engine.control_mode != "pos":
            raise ConfigError(
                f"{setting(cfg, 'anchor_body')}: the tracking task drives PD targets; set the "
                "engine's control_mode to pos"
            )
        robot = self.robot
        self.anchor = body_ids(robot, [cfg.anchor_body], setting(cfg, "anchor_body"))[0]
        tracked = cfg.tracked_bodies or list(robot.body_names)
        self.tracked_names = tracked
        self.tracked = torch.tensor(
            body_ids(robot, tracked, setting(cfg, "tracked_bodies")), device=self.device
        )
        self.end_effectors = torch.tensor(
            body_ids(robot, cfg.end_effectors, setting(cfg, "end_effectors")),
            dtype=torch.long,
            device=self.device,
        )
        self._allowed_contacts = self.body_mask(cfg.allowed_contacts, "allowed_contacts")
        self.default_dof_pos = self._per_dof(cfg.default_joint_pos, 0.0, "default_joint_pos")
        self.action_scale = self._action_scales(cfg)
        # Raw action bounds: every PD target within the joint range can be reached, and the
        # bounds are symmetric so that the policy's initial mean action (0) holds the
        # default pose.
        low, high = self.engine.dof_limits()
        reach = torch.maximum(
            (low - self.default_dof_pos).abs(), (high - self.default_dof_pos).abs()
        )
        self._action_high = reach / self.action_scale
        self._action_low = -self._action_high
        self._dof_low, self._dof_high = low, high

        self.obs_settings = cfg.obs_settings()
        self.termination_settings = cfg.termination_settings()
        self.policy_layout = policy_layout(list(robot.dof_names), self.obs_settings)
        self.critic_layout = critic_layout(tracked, self.obs_settings)
        self._policy_obs_dim = observation_size(self.policy_layout)
        self.obs_dim = self._policy_obs_dim + observation_size(self.critic_layout)
        self._noise = self._noise_scales(cfg)
        self.reward_terms = TERMS
        self.reward_weights = cfg.reward_weights()
        self.max_reward = max_reward(TERMS, self.reward_weights)
        self.info_spec = InfoSpec(reward_terms=term_names(TERMS))
        self.last_action = torch.zeros(num_envs, self.action_dim, device=self.device)
        self._obs = torch.zeros(num_envs, self.obs_dim, device=self.device)

    # ---------------------------------------------------------------------------- API
    @property
    def policy_obs_dim(self) -> int:
        """The policy terms; the privileged critic's follow them."""
        return self._policy_obs_dim

    def obs_labels(self) -> list[str]:
        return observation_labels(self.policy_layout + self.critic_layout)

    def best_episode_return(self) -> torch.Tensor:
        """The sum of the tracking weights per step, times the steps without a failure."""
        return self.max_reward * self._max_steps

    def reset(self, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        ids = self._start_episodes(env_ids)
        self.last_action[ids] = 0.0
        robot, ref, _, _ = self._frames(ids)
        self._obs[ids] = self._observe(robot, ref, ids)
        return self._obs

    def step(self, actions: torch.Tensor):
        action = self._advance(actions)
        robot, ref, char, ref_state = self._frames(None)
        a = self.anchor
        re_pos, re_quat = reanchored_reference(ref, robot.pos[:, a], robot.quat[:, a], a)
        errors = tracking_errors(
            robot_pos=robot.pos,
            robot_quat=robot.quat,
            robot_lin_vel=robot.lin_vel,
            robot_ang_vel=robot.ang_vel,
            ref_pos=ref.pos,
            ref_quat=ref.quat,
            ref_lin_vel=ref.lin_vel,
            ref_ang_vel=ref.ang_vel,
            reanchored_pos=re_pos,
            reanchored_quat=re_quat,
            anchor=a,
            tracked=self.tracked,
        ) | penalties(
            action=action,
            last_action=self.last_action,
            dof_pos=self.engine.dof_pos,
            dof_low=self._dof_low,
            dof_high=self._dof_high,
            ground_contact=self.engine.ground_contact,
            allowed_contacts=self._allowed_contacts,
        )
        reward, terms = weighted_reward(self.reward_terms, self.reward_weights, errors)
        clips = self.motion_ids
        done = compute_tracking_done(
            time=self.time,
            episode_length=self.cfg.episode_length,
            motion_time=self._motion_time(),
            motion_duration=self.motion_lib.clip_duration(clips),
            motion_wraps=self.motion_lib.clip_loop_mode(clips) == LOOP_WRAP,
            robot_pos=robot.pos,
            robot_quat=robot.quat,
            ref_pos=ref.pos,
            ref_quat=ref.quat,
            reanchored_pos=re_pos,
            anchor=a,
            end_effectors=self.end_effectors,
            ground_contact=self.engine.ground_contact,
            contact_body_mask=self.contact_body_mask,
            cfg=self.termination_settings,
        )
        self.last_action = action
        obs = self._observe(robot, ref, None)
        self._obs = obs
        info: dict[str, Any] = {"reward_terms": terms}
        self._record_step_errors(char, ref_state, info)
        return obs, reward, done, info

    # ---------------------------------------------------------------- capabilities
    def deployment_spec(self) -> dict[str, Any]:
        """What an exported policy needs (Deployable): the policy observation's terms and
        the anchor/body names its formulas use (``observations.py``), how an action
        becomes a PD target, the failure rules, the clips, and mjlab's command names (the
        exporter writes mjlab's other keys from the facts above)."""
        cfg = self.cfg
        default = [float(v) for v in self.default_dof_pos]
        scale = [float(v) for v in self.action_scale]
        terms = [(t.name, t.size, list(t.labels)) for t in self.policy_layout]
        return {
            "task": "tracking",
            "observation": {
                "size": self.policy_obs_dim,
                "terms": terms,
                "body_names": list(self.robot.body_names),
                "anchor_body": cfg.anchor_body,
                "tracked_bodies": list(self.tracked_names),
                "key_bodies": list(cfg.key_bodies),
                "base_lin_vel_obs": cfg.base_lin_vel_obs,
                "noise": dict(cfg.obs_noise),
            },
            # PD target = default_joint_pos + action_scale * action (mjlab's joint action).
            "actions": {"default_joint_pos": default, "action_scale": scale},
            "falls": {
                "contact_bodies": list(cfg.contact_bodies),
                "termination_height": cfg.termination_height,
                "anchor_height_threshold": cfg.anchor_height_threshold,
                "anchor_ori_threshold": cfg.anchor_ori_threshold,
                "end_effectors": list(cfg.end_effectors),
                "end_effector_height_threshold": cfg.end_effector_height_threshold,
            },
            "reference_motions": self._reference_motions(),
            # mjlab's command term of this task (the rest of its keys are facts above).
            "mjlab": {"command_names": ["motion"]},
        }

    # -------------------------------------------------------------------- actions
    def _command(self, actions: torch.Tensor) -> torch.Tensor:
        """PD targets: the default pose plus the scaled raw action (mjlab's
        joint-position action with its default offset)."""
        return self.default_dof_pos + self.action_scale * actions

    def _action_scales(self, cfg: TrackingEnvConfig) -> torch.Tensor:
        if isinstance(cfg.action_scale, (int, float)):
            return torch.full((self.action_dim,), float(cfg.action_scale), device=self.device)
        pd = self.engine.pd
        fallback = [
            EFFORT_SHARE * e / kp if math.isfinite(e) and kp > 0 else UNLIMITED_SCALE
            for e, kp in zip(pd.effort, pd.kp, strict=True)
        ]
        given = cfg.action_scale or {}
        scales = self._per_dof(given, 0.0, "action_scale")
        names = list(self.robot.dof_names)
        for d, name in enumerate(names):
            if name not in given:
                scales[d] = fallback[d]
        return scales

    def _per_dof(self, values: dict[str, float], fill: float, key: str) -> torch.Tensor:
        """A (D,) tensor from a {DoF name: value} mapping; unknown names are an error."""
        names = list(self.robot.dof_names)
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ConfigError(
                f"{setting(self.cfg, key)}: unknown DoF {', '.join(map(repr, unknown))}; "
                f"DoFs are: {', '.join(names)}"
            )
        return torch.tensor(
            [float(values.get(n, fill)) for n in names], dtype=torch.float32, device=self.device
        )

    # ---------------------------------------------------------------- observation
    def _noise_scales(self, cfg: TrackingEnvConfig) -> torch.Tensor | None:
        if not cfg.obs_noise:
            return None
        names = [t.name for t in self.policy_layout]
        unknown = sorted(set(cfg.obs_noise) - set(names))
        if unknown:
            raise ConfigError(
                f"{setting(cfg, 'obs_noise')}: no policy observation term "
                f"{', '.join(map(repr, unknown))}; terms are: {', '.join(names)}"
            )
        scales = torch.zeros(self.obs_dim, device=self.device)
        start = 0
        for t in self.policy_layout:
            scales[start : start + t.size] = cfg.obs_noise.get(t.name, 0.0)
            start += t.size
        return scales

    def _observe(
        self, robot: BodyFrames, ref: BodyFrames, ids: torch.Tensor | None
    ) -> torch.Tensor:
        dof_pos, dof_vel = self.observed_dof_pos(ids), self.engine.dof_vel
        last_action = self.last_action
        state = self.reference
        if ids is not None:
            dof_vel, last_action = dof_vel[ids], last_action[ids]
        inputs = TrackingObsInputs(
            robot=robot,
            ref=ref,
            anchor=self.anchor,
            tracked=self.tracked,
            ref_dof_pos=state.get("dof_pos", [0], ids)[:, 0],
            ref_dof_vel=state.get("dof_vel", [0], ids)[:, 0],
            joint_pos=dof_pos,
            joint_vel=dof_vel,
            default_joint_pos=self.default_dof_pos,
            last_action=last_action,
        )
        values = policy_terms(inputs, self.obs_settings)
        if self.critic_layout:
            values |= critic_terms(inputs)
        obs = assemble(self.policy_layout + self.critic_layout, values)
        if self._noise is not None:
            obs = obs + (2.0 * torch.rand_like(obs) - 1.0) * self._noise
        return obs

    # ------------------------------------------------------------------- frames
    def _frames(
        self, ids: torch.Tensor | None
    ) -> tuple[BodyFrames, BodyFrames, CharState, CharState]:
        """Robot and reference body frames of ``ids`` (all when None), and the same as
        ``CharState`` for the reference layer's tracking errors."""
        e = self.engine
        robot_state = (e.root_pos, e.root_rot, e.dof_pos, e.root_lin_vel, e.root_ang_vel, e.dof_vel)
        if ids is not None:
            robot_state = tuple(x[ids] for x in robot_state)

        def now(name: str) -> torch.Tensor:
            return self.reference.get(name, [0], ids)[:, 0]

        ref_state = tuple(
            now(n)
            for n in ("root_pos", "root_rot", "dof_pos", "root_lin_vel", "root_ang_vel", "dof_vel")
        )
        robot, robot_char = self._body_frames(*robot_state)
        ref, ref_char = self._body_frames(*ref_state, joint_rot=now("joint_rot"))
        return robot, ref, robot_char, ref_char

    def _body_frames(
        self,
        root_pos: torch.Tensor,
        root_rot: torch.Tensor,
        dof_pos: torch.Tensor,
        root_lin_vel: torch.Tensor,
        root_ang_vel: torch.Tensor,
        dof_vel: torch.Tensor,
        joint_rot: torch.Tensor | None = None,
    ) -> tuple[BodyFrames, CharState]:
        k = self.kinematics
        if joint_rot is None:
            joint_rot = k.joint_rotations(dof_pos)
        pos, mat = k.forward_kinematics_matrices(root_pos, root_rot, dof_pos, joint_rot)
        quat = matrix_to_quat(mat)
        lin, ang = k.body_velocities(pos, quat, root_lin_vel, root_ang_vel, dof_pos, dof_vel)
        char = CharState(
            root_pos=root_pos,
            root_rot=root_rot,
            joint_rot=joint_rot,
            key_pos=pos[:, self.key_ids],
            root_vel=root_lin_vel,
            root_ang_vel=root_ang_vel,
            dof_vel=dof_vel,
            body_pos=pos,
        )
        return BodyFrames(pos=pos, quat=quat, lin_vel=lin, ang_vel=ang), char
