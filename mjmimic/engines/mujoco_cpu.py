"""MuJoCo on CPU threads: all envs stepped by ``mujoco.rollout`` with a persistent pool.

Each env exists only as a row of a (N, nstate) array of MuJoCo "full physics" states.
A control step hands all rows to ``Rollout.rollout`` for ``sim_freq / control_freq``
substeps with the command held; the C++ thread pool splits envs over threads and releases
the GIL, so there is no per-env Python work. Measured on the project machine this is
1.8-1.9x faster on 2 threads than on 1 and faster than a Python loop over MjData
(../shared/context/perf_baseline.md §2).

Body poses are not read back from MuJoCo: a sensor in ``rollout`` is computed before the
last integration of a step, one substep stale, while torch FK on the final qpos is exact
and cheap (robots/kinematics.py). Contact flags come from one contact sensor per body.

MuJoCo intervenes in an env whose state or acceleration goes NaN/huge (``mj_resetData``:
rest pose, clock at 0) or whose control does (zeroed), warns, and ``rollout`` then stops
that env for the rest of the control step. ``physics_resets`` reports both: a clock that
did not advance by a whole control step, or a NaN/huge command. ``set_state`` starts an
env's clock at ``CLOCK_START`` (1 s), not 0, so that a reset in the first substep of a
one-substep step still shows.
"""

from __future__ import annotations

import os

import mujoco
import mujoco.rollout
import numpy as np
import torch

from mjmimic.engines.actuation import profile_gain_keys, resolve_pd_table
from mjmimic.engines.base import Engine
from mjmimic.engines.config import EngineConfig
from mjmimic.engines.scene import build_scene
from mjmimic.robots.kinematics import Kinematics
from mjmimic.robots.model import RobotModel
from mjmimic.rotations import quat_rotate, quat_rotate_inverse

_FULL = mujoco.mjtState.mjSTATE_FULLPHYSICS
# Physics clock of an env after set_state (s); MuJoCo's own reset restarts it at 0.
CLOCK_START = 1.0


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


class MujocoCpuEngine(Engine):
    def __init__(
        self,
        cfg: EngineConfig,
        robot: RobotModel,
        num_envs: int,
        device: str | torch.device = "cpu",
    ):
        self.cfg = cfg
        self.robot = robot
        self.num_envs = num_envs
        self.device = torch.device(device)
        self.control_mode = cfg.control_mode
        self.control_dt = 1.0 / cfg.control_freq
        self.sim_dt = 1.0 / cfg.sim_freq
        self.num_substeps = cfg.num_substeps
        self.pd = resolve_pd_table(
            robot,
            cfg.joint_gains,
            require_gains=cfg.control_mode == "pos",
            from_profile=profile_gain_keys(cfg),
        )
        self.model = build_scene(robot, cfg, self.pd)
        self.kinematics = Kinematics(robot, self.device)
        self.num_threads = cfg.num_threads or available_cores()
        self._rollout = mujoco.rollout.Rollout(nthread=self.num_threads)
        self._datas = [mujoco.MjData(self.model) for _ in range(self.num_threads)]
        m = self.model
        nstate = mujoco.mj_stateSize(m, _FULL)
        # FULLPHYSICS layout: time, qpos, qvel, act, ... (mjtState bit order).
        self._qpos = slice(1, 1 + m.nq)
        self._qvel = slice(1 + m.nq, 1 + m.nq + m.nv)
        init = np.empty(nstate)
        mujoco.mj_getState(m, mujoco.MjData(m), init, _FULL)
        init[0] = CLOCK_START
        # Replaced, never written in place, once tensors have been made from it (_refresh).
        self._state = np.tile(init, (num_envs, 1))
        # A step that does not reset advances the clock by num_substeps * sim_dt.
        self._min_advance = (self.num_substeps - 0.5) * self.sim_dt
        self._resets = torch.zeros(num_envs, dtype=torch.bool, device=self.device)
        self._ctrl = np.zeros((num_envs, 1, m.nu))
        self._out_state = np.empty((num_envs, self.num_substeps, nstate))
        self._out_sensor = np.empty((num_envs, self.num_substeps, m.nsensordata))
        # One contact sensor per body: [found, fx, fy, fz].
        self._num_bodies = robot.num_bodies
        self.ground_contact = torch.zeros(
            num_envs, robot.num_bodies, dtype=torch.bool, device=self.device
        )
        self.contact_force = torch.zeros(num_envs, robot.num_bodies, device=self.device)
        self._refresh()

    # -------------------------------------------------------------------------- stepping
    def step(self, command: torch.Tensor) -> None:
        self._ctrl[:, 0, :] = command.detach().to("cpu", torch.float64).numpy()
        bad_command = ~(np.abs(self._ctrl[:, 0]) <= mujoco.mjMAXVAL).all(axis=1)  # mju_isBad
        self._rollout.rollout(
            self.model,
            self._datas,
            self._state,
            self._ctrl,
            nstep=self.num_substeps,
            state=self._out_state,
            sensordata=self._out_sensor,
        )
        state = self._out_state[:, -1].copy()  # new rows (C order): old tensors keep theirs
        resets = (state[:, 0] < self._state[:, 0] + self._min_advance) | bad_command
        self._state = state
        self._resets = torch.from_numpy(resets).to(self.device)
        sensors = torch.from_numpy(self._out_sensor).view(
            self.num_envs, self.num_substeps, self._num_bodies, 4
        )
        # A touch during any substep counts: a foot can bounce off within one control step.
        self.ground_contact = (sensors[..., 0] > 0).any(dim=1).to(self.device)
        self.contact_force = sensors[:, -1, :, 1:].norm(dim=-1).to(self.device, torch.float32)
        self._refresh()

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
        ids = env_ids.to("cpu").numpy()
        qpos = torch.cat([root_pos, root_rot, self.kinematics.dof_to_qpos(dof_pos)], dim=-1)
        local_ang_vel = quat_rotate_inverse(root_rot, root_ang_vel)  # free joint: body frame
        qvel = torch.cat([root_lin_vel, local_ang_vel, dof_vel], dim=-1)
        state = self._state.copy()
        rows = state[ids]
        rows[:, 0] = CLOCK_START
        rows[:, self._qpos] = qpos.detach().to("cpu", torch.float64).numpy()
        rows[:, self._qvel] = qvel.detach().to("cpu", torch.float64).numpy()
        rows[:, self._qvel.stop :] = 0.0  # act, history, plugin state
        state[ids] = rows
        self._replace_rows(state, env_ids)

    def restore_state(self, state: torch.Tensor, env_ids: torch.Tensor | None = None) -> None:
        rows = state.detach().to("cpu", torch.float64).numpy()
        n = self.num_envs if env_ids is None else len(env_ids)
        if rows.shape != (n, self._state.shape[1]):
            raise ValueError(
                f"restore_state: expected {n} rows of {self._state.shape[1]} (save_state), "
                f"got shape {tuple(rows.shape)}"
            )
        if env_ids is None:
            new = rows.copy()
        else:
            new = self._state.copy()
            new[env_ids.to("cpu").numpy()] = rows
        self._replace_rows(new, env_ids)

    def _replace_rows(self, state: np.ndarray, env_ids: torch.Tensor | None) -> None:
        """Make ``state`` the engine's; the envs in ``env_ids`` (None: all) have no
        contacts until their next step. Nothing handed out before is written."""
        self._state = state
        if env_ids is None:
            self.ground_contact = torch.zeros_like(self.ground_contact)
            self.contact_force = torch.zeros_like(self.contact_force)
        else:
            ids = env_ids.to(self.device)
            self.ground_contact = self.ground_contact.clone()
            self.ground_contact[ids] = False
            self.contact_force = self.contact_force.clone()
            self.contact_force[ids] = 0.0
        self._refresh()

    def _refresh(self) -> None:
        self._state_t = torch.from_numpy(self._state).to(self.device)  # float64; a view on CPU
        state = self._state_t.to(torch.float32)
        qpos, qvel = state[:, self._qpos], state[:, self._qvel]
        self.root_pos = qpos[:, :3]
        self.root_rot = qpos[:, 3:7]
        self.root_lin_vel = qvel[:, :3]
        self.root_ang_vel = quat_rotate(self.root_rot, qvel[:, 3:6])
        self.dof_pos = self.kinematics.qpos_to_dof(qpos[:, 7:])
        self.dof_vel = qvel[:, 6:]
        self._invalidate_body_cache()

    # --------------------------------------------------------------------- backend state
    def physics_state(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(qpos (N, nq), qvel (N, nv)) float64 in MuJoCo's layout, views of the state
        rows (no copy on CPU)."""
        return self._state_t[:, self._qpos], self._state_t[:, self._qvel]

    def save_state(self) -> torch.Tensor:
        """The (N, nstate) float64 MuJoCo ``mjSTATE_FULLPHYSICS`` rows (column 0 is the
        physics clock, then qpos, qvel, act...); no copy on CPU. ``mj_setState`` with
        ``model`` replays a row. The solver warm start is not part of it; ``rollout``
        starts every control step without one, so ``restore_state`` is exact."""
        return self._state_t

    def physics_resets(self) -> torch.Tensor:
        return self._resets

    def close(self) -> None:
        self._rollout.close()
