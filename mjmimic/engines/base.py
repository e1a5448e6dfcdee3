"""The physics-engine interface every backend implements.

An engine simulates ``num_envs`` independent copies of one robot on a floor and exposes
their state as batched torch tensors (float32, on ``device``), in the robot's body and DoF
order (see ``robots/model.py``) with wxyz quaternions and world-frame velocities:

==================  ===========  ====================================================
``root_pos``        (N, 3)       root body origin, world
``root_rot``        (N, 4)       root orientation, wxyz
``root_lin_vel``    (N, 3)       root origin linear velocity, world frame
``root_ang_vel``    (N, 3)       root angular velocity, world frame (MuJoCo's free-joint
                                 qvel is body-frame; engines convert)
``dof_pos/dof_vel`` (N, D)       joint coordinates / velocities
``ground_contact``  (N, B) bool  body touched the floor during the last control step
``contact_force``   (N, B)       |net floor contact force| on each body at the last substep
``body_pos`` ...    (N, B, ·)    world body poses and velocities (computed on demand)
==================  ===========  ====================================================

State tensors are replaced (not updated in place) by ``step`` and ``set_state``, so a
reference taken before a step keeps the old values.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch

from mjmimic.engines.actuation import PDTable
from mjmimic.robots.kinematics import Kinematics
from mjmimic.robots.model import RobotModel


class Engine(ABC):
    robot: RobotModel
    kinematics: Kinematics
    pd: PDTable
    num_envs: int
    control_dt: float
    sim_dt: float
    control_mode: str
    device: torch.device

    root_pos: torch.Tensor
    root_rot: torch.Tensor
    root_lin_vel: torch.Tensor
    root_ang_vel: torch.Tensor
    dof_pos: torch.Tensor
    dof_vel: torch.Tensor
    ground_contact: torch.Tensor
    contact_force: torch.Tensor

    _body_cache: dict[str, torch.Tensor]

    @abstractmethod
    def step(self, command: torch.Tensor) -> None:
        """Advance one control step. ``command`` (N, D): PD targets (pos) or torques."""

    @abstractmethod
    def set_state(
        self,
        env_ids: torch.Tensor,
        root_pos: torch.Tensor,
        root_rot: torch.Tensor,
        root_lin_vel: torch.Tensor,
        root_ang_vel: torch.Tensor,
        dof_pos: torch.Tensor,
        dof_vel: torch.Tensor,
    ) -> None:
        """Teleport the envs in ``env_ids`` to the given state (velocities in world frame)."""

    # ------------------------------------------------------------ raw backend state
    @abstractmethod
    def physics_state(self) -> tuple[np.ndarray, np.ndarray]:
        """(qpos (N, nq), qvel (N, nv)) in the backend's own layout (float64 for MuJoCo):
        health checks, video replay."""

    @abstractmethod
    def raw_state(self) -> np.ndarray:
        """(N, nstate) full backend state rows, column 0 the physics time: the health
        guards read the clock (a MuJoCo reset restarts it) and keep rows for replay."""

    # ------------------------------------------------------------ derived body state
    def _invalidate_body_cache(self) -> None:
        self._body_cache = {}

    def _body_pose(self) -> tuple[torch.Tensor, torch.Tensor]:
        if "pos" not in self._body_cache:
            pos, rot = self.kinematics.forward_kinematics(
                self.root_pos, self.root_rot, self.dof_pos
            )
            self._body_cache["pos"], self._body_cache["rot"] = pos, rot
        return self._body_cache["pos"], self._body_cache["rot"]

    @property
    def body_pos(self) -> torch.Tensor:
        return self._body_pose()[0]

    @property
    def body_rot(self) -> torch.Tensor:
        return self._body_pose()[1]

    def _body_vel(self) -> tuple[torch.Tensor, torch.Tensor]:
        if "lin_vel" not in self._body_cache:
            pos, rot = self._body_pose()
            lin, ang = self.kinematics.body_velocities(
                pos, rot, self.root_lin_vel, self.root_ang_vel, self.dof_pos, self.dof_vel
            )
            self._body_cache["lin_vel"], self._body_cache["ang_vel"] = lin, ang
        return self._body_cache["lin_vel"], self._body_cache["ang_vel"]

    @property
    def body_lin_vel(self) -> torch.Tensor:
        return self._body_vel()[0]

    @property
    def body_ang_vel(self) -> torch.Tensor:
        return self._body_vel()[1]

    def dof_limits(self) -> tuple[torch.Tensor, torch.Tensor]:
        low = torch.as_tensor(self.robot.dof_low, dtype=torch.float32, device=self.device)
        high = torch.as_tensor(self.robot.dof_high, dtype=torch.float32, device=self.device)
        return low, high

    def close(self) -> None:  # noqa: B027  (optional hook; default: nothing to release)
        """Release threads or device memory."""
