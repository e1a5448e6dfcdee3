"""The character layer every task shares (MimicKit's ``CharEnv``): one robot on one engine.

It owns what does not depend on the task: the robot model and engine, action bounds (PD
targets within the joint limits, or torques within the effort limits), body ids of key and
contact bodies, the character state with forward kinematics, the contact/height fall check
and reference-state initialisation (teleporting envs to given poses). A task (DeepMimic,
AMP, tracking, locomotion) subclasses it and adds its observation, reward and done rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mjmimic.config import DEFAULT_ORIGIN, get_origin
from mjmimic.engines import EngineConfig, build_engine
from mjmimic.envs.actions import pd_target_bounds, torque_bounds
from mjmimic.envs.base import Env
from mjmimic.envs.char_config import CharEnvConfig
from mjmimic.envs.char_state import CharState
from mjmimic.envs.randomization import DomainRandomizer
from mjmimic.envs.robot_defaults import apply_robot_defaults
from mjmimic.errors import ConfigError
from mjmimic.motion.library import MotionState
from mjmimic.paths import resolve_input_path
from mjmimic.robots.model import RobotModel


class CharEnv(Env):
    def __init__(
        self,
        cfg: CharEnvConfig,
        engine_cfg: EngineConfig,
        num_envs: int,
        config_dir: Path | None = None,
        device: str | torch.device = "cpu",
    ):
        self.cfg = cfg
        self.num_envs = num_envs
        self.device = torch.device(device)
        # Configs loaded through RunConfig are resolved already (then this changes nothing);
        # an env built straight from a config that says ``robot:`` is completed here.
        apply_robot_defaults(cfg, engine_cfg, "env", config_dir)
        if cfg.char_file is None:
            raise ConfigError("env.char_file: no robot model (give char_file or robot)")
        char_file = resolve_input_path(cfg.char_file, config_dir, "robot model", "env.char_file")
        self.robot = RobotModel.from_file(char_file)
        self.engine = build_engine(engine_cfg, self.robot, num_envs, device)
        self.kinematics = self.engine.kinematics
        self.dt = self.engine.control_dt
        self.action_dim = self.robot.num_dofs

        robot = self.robot
        self.key_ids = torch.tensor(
            body_ids(robot, cfg.key_bodies, setting(cfg, "key_bodies")),
            dtype=torch.long,
            device=self.device,
        )
        self.contact_body_mask = self.body_mask(cfg.contact_bodies, "contact_bodies")
        if self.engine.control_mode == "pos":
            low, high = self.engine.dof_limits()
            self._action_low, self._action_high = pd_target_bounds(
                low, high, cfg.zero_center_action
            )
        else:
            effort = torch.as_tensor(self.engine.pd.effort, dtype=torch.float32, device=self.device)
            self._action_low, self._action_high = torque_bounds(effort)
        self.time = torch.zeros(num_envs, device=self.device)  # seconds into each episode
        dr = cfg.domain_randomization
        self.randomizer = (
            DomainRandomizer(dr, self.engine) if dr is not None and dr.is_enabled() else None
        )

    def body_mask(self, names: list[str], key: str) -> torch.Tensor:
        """(B,) bool, True for the bodies ``names`` of config key ``env.<key>``."""
        mask = torch.zeros(self.robot.num_bodies, dtype=torch.bool, device=self.device)
        mask[body_ids(self.robot, names, setting(self.cfg, key))] = True
        return mask

    def action_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._action_low, self._action_high

    # ------------------------------------------------------------------ for tasks
    def apply_action(self, actions: torch.Tensor) -> torch.Tensor:
        """Clip to the bounds, step the physics one control step, advance the clock.
        Returns the clipped actions."""
        clipped = torch.clamp(actions, self._action_low, self._action_high)
        command = self._command(clipped)
        if self.randomizer is not None:
            command = self.randomizer.command(command)
        self.engine.step(command)
        if self.randomizer is not None:
            self.randomizer.push()
        self.time += self.dt
        return clipped

    def state_dict(self) -> dict[str, Any]:
        return {} if self.randomizer is None else {"randomizer": self.randomizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.randomizer is not None and "randomizer" in state:
            self.randomizer.load_state_dict(state["randomizer"])

    def observed_dof_pos(self, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Joint positions as the robot's encoders read them (with the randomized bias), of
        ``env_ids`` (all when None): what a task observes; rewards use the true ones."""
        dof_pos = self.engine.dof_pos if env_ids is None else self.engine.dof_pos[env_ids]
        if self.randomizer is None:
            return dof_pos
        return self.randomizer.observed_dof_pos(dof_pos, env_ids)

    def _command(self, actions: torch.Tensor) -> torch.Tensor:
        """The engine command (PD targets or torques) for clipped actions: the actions
        themselves, unless a task's actions are in other units (tracking: offsets from
        the default pose)."""
        return actions

    def char_state(self, ids: torch.Tensor | None = None) -> CharState:
        """The simulated character of ``ids`` (all when None), with joint rotations and
        forward kinematics of every body."""
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

    def init_from_state(self, ids: torch.Tensor, state: MotionState) -> None:
        """Reference-state initialisation: teleport ``ids`` to ``state`` (one row each) and
        restart their episode clock."""
        self.engine.set_state(
            ids,
            state.root_pos,
            state.root_rot,
            state.root_lin_vel,
            state.root_ang_vel,
            state.dof_pos,
            state.dof_vel,
        )
        self.time[ids] = 0.0
        if self.randomizer is not None:
            self.randomizer.episode_start(ids, state.dof_pos)


def setting(cfg: object, name: str) -> str:
    """``env.<name>`` prefixed with the file:line that set it, for error messages."""
    origin = get_origin(cfg, name)
    return f"env.{name}" if origin == DEFAULT_ORIGIN else f"{origin}: env.{name}"


def body_ids(robot: RobotModel, names: list[str], key: str) -> list[int]:
    unknown = [n for n in names if n not in robot.body_names]
    if unknown:
        raise ConfigError(
            f"{key}: unknown body {', '.join(repr(u) for u in unknown)} in {robot.source}; "
            f"bodies are: {', '.join(robot.body_names)}"
        )
    return [robot.body_names.index(n) for n in names]
