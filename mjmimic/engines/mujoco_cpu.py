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

A physics variation (``set_physics_variation``) gives every env its own ``MjModel`` and
``rollout`` steps each row with its own (it takes one model per initial state); without
one all rows step ``model`` as before. The per-env models are copies of the scene without
its purely visual geoms and assets (MuJoCo's ``discardvisual``): the G1's visual meshes
and their bounding-volume trees make its scene 71 MB (18 GB for 256 copies); without
them it is 80 kB. Floor friction is given to every geom of an env's model, the floor's
and the robot's: MuJoCo takes the larger of two geoms' friction, so this makes it the
contact friction while condim, solref and solimp still combine as in the nominal scene
(a floor with a higher ``geom_priority`` would impose its own, changing contact softness
for robots that set theirs, as the K1 does). Robot-robot contacts take it too.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from xml.etree import ElementTree

import mujoco
import mujoco.rollout
import numpy as np
import torch

from mjmimic.engines.actuation import PDTable, profile_gain_keys, resolve_pd_table
from mjmimic.engines.base import Engine
from mjmimic.engines.config import EngineConfig
from mjmimic.engines.model_variation import vary_models
from mjmimic.engines.scene import build_scene
from mjmimic.engines.variation import PhysicsVariation
from mjmimic.errors import AssetError
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
        self._variation: PhysicsVariation | None = None
        # The models rollout steps, one per env under a variation (None: ``model`` for all).
        self.env_models: list[mujoco.MjModel] | None = None
        self._physics_model: mujoco.MjModel | None = None  # built on the first variation
        self._env_datas: list[mujoco.MjData] = []
        self._refresh()

    # -------------------------------------------------------------------------- stepping
    def step(self, command: torch.Tensor) -> None:
        self._ctrl[:, 0, :] = command.detach().to("cpu", torch.float64).numpy()
        bad_command = ~(np.abs(self._ctrl[:, 0]) <= mujoco.mjMAXVAL).all(axis=1)  # mju_isBad
        varied = self.env_models is not None
        self._rollout.rollout(
            self.env_models if varied else self.model,
            self._env_datas if varied else self._datas,
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

    def push_root(
        self, env_ids: torch.Tensor, lin_vel: torch.Tensor, ang_vel: torch.Tensor
    ) -> None:
        ids = env_ids.to("cpu").numpy()
        state = self._state.copy()
        rot = torch.from_numpy(state[ids, self._qpos.start + 3 : self._qpos.start + 7])
        local = quat_rotate_inverse(rot, ang_vel.detach().to("cpu", torch.float64))
        lin = self._qvel.start
        delta = np.concatenate([lin_vel.detach().to("cpu", torch.float64).numpy(), local], 1)
        np.add.at(state, (ids[:, None], np.arange(lin, lin + 6)), delta)  # repeated ids add up
        self._state = state
        self._refresh()

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

    # ----------------------------------------------------------------- physics variation
    @property
    def physics_variation(self) -> PhysicsVariation | None:
        return self._variation

    def set_physics_variation(self, variation: PhysicsVariation | None) -> None:
        if variation is None:
            self._variation, self.env_models = None, None
            return
        m = self.model
        masses = {
            name: float(m.body_mass[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, name)])
            for name in self.robot.body_names
        }
        variation.validate(self.num_envs, self.robot.num_dofs, masses)
        if variation.changes_gains and self.control_mode != "pos":
            raise ValueError(
                f"PhysicsVariation: kp_scale/kd_scale need PD actuators; control_mode is "
                f"{self.control_mode!r}"
            )
        if self._physics_model is None:
            self._physics_model = physics_only_scene(self.robot, self.cfg, self.pd, m)
            self._env_datas = [mujoco.MjData(self._physics_model) for _ in self._datas]
        self.env_models = vary_models(self._physics_model, variation, self.num_envs)
        self._variation = variation

    # --------------------------------------------------------------------- backend state
    def physics_state(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(qpos (N, nq), qvel (N, nv)) float64 in MuJoCo's layout, views of the state
        rows (no copy on CPU)."""
        return self._state_t[:, self._qpos], self._state_t[:, self._qvel]

    def save_state(self) -> torch.Tensor:
        """The (N, nstate) float64 MuJoCo ``mjSTATE_FULLPHYSICS`` rows (column 0 is the
        physics clock, then qpos, qvel, act...); no copy on CPU. ``mj_setState`` with
        ``model`` (under a variation: the env's ``env_models[i]``) replays a row. The
        solver warm start is not part of it; ``rollout`` starts every control step without
        one, so ``restore_state`` is exact. The variation is not part of it either."""
        return self._state_t

    def physics_resets(self) -> torch.Tensor:
        return self._resets

    def close(self) -> None:
        self._rollout.close()


def physics_only_scene(
    robot: RobotModel, cfg: EngineConfig, pd: PDTable, nominal: mujoco.MjModel
) -> mujoco.MjModel:
    """The scene compiled again without purely visual geoms and assets, the model each
    env's copy under a variation starts from (MuJoCo computes body inertias before it
    discards, so a visual geom's mass stays). ``nominal`` itself when the result is not
    exactly the same physics or cannot be built (an include inside an include is relative
    to the robot file's folder, which the copy is not in): a copy of the nominal scene is
    always right, only larger. ``build_scene`` reads a file, so the robot MJCF goes
    through a temporary copy, its text unchanged (``MjSpec.to_xml`` would round numbers
    to 6 digits) but for ``discardvisual`` and absolute asset and include paths."""
    folder = Path(robot.source).resolve().parent
    tree = ElementTree.parse(robot.source)
    root = tree.getroot()
    compilers = root.findall("compiler") or [ElementTree.SubElement(root, "compiler")]
    for compiler in compilers:
        compiler.set("discardvisual", "true")
        for key in ("meshdir", "texturedir", "assetdir"):
            if key in compiler.attrib:
                compiler.set(key, str(folder / compiler.attrib[key]))
    if not any("assetdir" in c.attrib for c in compilers):
        compilers[0].set("assetdir", str(folder))  # what unset folders are relative to
    for include in root.iter("include"):
        include.set("file", str(folder / include.attrib["file"]))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(robot.source).name
            tree.write(path)
            lean = build_scene(RobotModel(robot.mj_model, str(path)), cfg, pd)
    except (ValueError, AssetError):
        return nominal
    return lean if same_physics(lean, nominal) else nominal


def same_physics(a: mujoco.MjModel, b: mujoco.MjModel) -> bool:
    """``a`` simulates as ``b``: the same state and sensor layout, body inertias, and
    colliding geoms in the same order with the same shapes and contact parameters."""
    if (
        mujoco.mj_stateSize(a, _FULL) != mujoco.mj_stateSize(b, _FULL)
        or a.nsensordata != b.nsensordata
        or a.nu != b.nu
    ):
        return False
    col_a = np.flatnonzero(a.geom_contype | a.geom_conaffinity)
    col_b = np.flatnonzero(b.geom_contype | b.geom_conaffinity)
    if len(col_a) != len(col_b):
        return False
    pairs = [
        (getattr(a, k), getattr(b, k))
        for k in ("body_mass", "body_inertia", "body_ipos", "body_iquat", "body_pos", "body_quat")
    ] + [
        (getattr(a, k)[col_a], getattr(b, k)[col_b])
        for k in (
            "geom_type",
            "geom_bodyid",
            "geom_size",
            "geom_pos",
            "geom_quat",
            "geom_friction",
            "geom_condim",
            "geom_solref",
            "geom_solimp",
            "geom_margin",
            "geom_gap",
        )
    ]
    return all(np.array_equal(x, y) for x, y in pairs)
