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

The backend's own state, also tensors on ``device`` (no host copy is forced), in the
backend's layout and float dtype (float64 for MuJoCo):

=====================  ============  ==============================================
``physics_state()``    (N, nq),      (qpos, qvel) in MuJoCo's layout: free joint first
                       (N, nv)       (position, wxyz, *body-frame* angular velocity)
``save_state()``       (N, S)        full state rows; ``restore_state`` brings them
                                     back exactly (health ring buffer, replays)
``physics_resets()``   (N,) bool     envs whose physics the backend itself reset
                                     during the last ``step`` (MuJoCo does that to an
                                     env whose state, acceleration or command goes
                                     NaN/huge)
=====================  ============  ==============================================

What the engine is, read by envs, the health guards, export and render:

=================  ==================================================================
``robot``          the ``RobotModel`` simulated; ``kinematics`` its batched FK
``model``          the ``mujoco.MjModel`` of the simulated scene (robot, floor, one
                   actuator per DoF): export reads its joint properties, replays step it
``pd``             ``PDTable`` (kp, kd, effort per DoF) the actuators apply
``control_mode``   ``"pos"`` (commands are PD targets) or ``"torque"``
``num_envs``       N; ``device`` where every tensor above lives
``sim_dt``         physics step (s); ``num_substeps`` of them, command held, make one
``control_dt``     control step (s) = ``num_substeps * sim_dt``
=================  ==================================================================

What changes an env's physics without being its state (domain randomization):

============================  ========================================================
``set_physics_variation(v)``  from the next ``step`` on, env i is simulated with its own
                              parameters (``engines/variation.py``: floor friction,
                              added mass / centre-of-mass shift of one body, PD gain
                              scales); None: every env back to the nominal scene.
                              ``model`` stays the nominal model; ``set_state``,
                              ``save_state`` and ``restore_state`` neither read nor
                              change the variation
``physics_variation``         the variation in effect, None when nominal
``push_root(ids, v, w)``      add world-frame linear (M, 3) and angular (M, 3) velocity
                              to the root of ``ids`` (a velocity push); positions, joint
                              velocities, the physics clock and contact flags unchanged
============================  ========================================================

Every tensor an engine hands out (the state tensors, ``physics_state()``,
``save_state()``, ...) is replaced, not updated in place, by ``step``, ``set_state``,
``restore_state`` and ``push_root``, so a reference taken before keeps the old values.
Treat them as read-only: writing into one may write into the engine.

A new backend implements this class in its own module, registers itself in
``engines/builtin.py`` and passes ``tests/engines/test_conformance.py`` (set
``requires_cuda`` if it runs only on a CUDA device).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

import torch

from mjmimic.engines.actuation import PDTable
from mjmimic.engines.variation import PhysicsVariation
from mjmimic.robots.kinematics import Kinematics
from mjmimic.robots.model import RobotModel

if TYPE_CHECKING:
    import mujoco


class Engine(ABC):
    #: True for a backend that runs only on a CUDA device (``device="cuda"``); the
    #: conformance suite skips it on a machine without one.
    requires_cuda: ClassVar[bool] = False

    robot: RobotModel
    kinematics: Kinematics
    model: mujoco.MjModel
    pd: PDTable
    num_envs: int
    control_dt: float
    sim_dt: float
    num_substeps: int
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
        """Teleport the envs in ``env_ids`` to the given state (velocities in world frame).
        Their contact flags and forces read False / 0 until their next step."""

    @abstractmethod
    def push_root(
        self, env_ids: torch.Tensor, lin_vel: torch.Tensor, ang_vel: torch.Tensor
    ) -> None:
        """Add ``lin_vel`` and ``ang_vel`` (M, 3), world frame, to the root velocities of the
        envs in ``env_ids`` (M,): a push, as mjlab's ``push_by_setting_velocity`` but added
        to the current velocity. Positions, joint velocities, the physics clock and the
        contact flags stay as they are."""

    # ------------------------------------------------------------ physics variation
    @property
    @abstractmethod
    def physics_variation(self) -> PhysicsVariation | None:
        """The variation ``set_physics_variation`` put in effect; None: nominal."""

    @abstractmethod
    def set_physics_variation(self, variation: PhysicsVariation | None) -> None:
        """Simulate env i with the parameters of row i of ``variation`` from the next
        ``step`` on; None restores the nominal scene for every env. ValueError (before
        anything changes) for a variation that does not fit this engine: shapes, values
        (``PhysicsVariation.validate``), or gain scales in ``torque`` mode."""

    # ------------------------------------------------------------ backend state
    @abstractmethod
    def physics_state(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(qpos (N, nq), qvel (N, nv)) on ``device`` in the backend's own layout and float
        dtype (float64 for MuJoCo): health checks, video."""

    @abstractmethod
    def save_state(self) -> torch.Tensor:
        """(N, S) full backend state rows on ``device``: everything the physics of an env
        depends on, so that ``restore_state`` then the same commands give the same
        tensors (the health ring buffer keeps these rows; replays start from one)."""

    @abstractmethod
    def restore_state(self, state: torch.Tensor, env_ids: torch.Tensor | None = None) -> None:
        """Put back rows from ``save_state``: ``state`` holds one row per env of
        ``env_ids`` (all N rows when None); the other envs are untouched. Contact flags
        and forces of the restored envs read False / 0 until their next step."""

    @abstractmethod
    def physics_resets(self) -> torch.Tensor:
        """(N,) bool on ``device``: envs whose physics the backend itself reset during the
        last ``step`` (MuJoCo resets an env whose state or accelerations go NaN/huge to the
        model's rest pose, or drops a NaN/huge command, and carries on); all False for a
        backend that never does. ``set_state`` and ``restore_state`` leave it as the last
        step left it."""

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
