"""Raw ``mujoco.rollout`` throughput of a run's scene: the physical limit benchmarks compare
against (same model, same substeps, same thread count, measured in the same process run)."""

from __future__ import annotations

import time

import mujoco
import mujoco.rollout
import numpy as np


def raw_rollout_throughput_of_model(
    model: mujoco.MjModel,
    num_envs: int,
    substeps: int,
    threads: int,
    seconds: float,
    init_qpos: np.ndarray | None = None,
) -> float:
    """Env control steps per second: ``rollout`` of ``substeps`` physics steps for all envs
    with the actuators holding the initial pose, nothing else."""
    data = mujoco.MjData(model)
    if init_qpos is not None:
        data.qpos[:] = init_qpos
    mujoco.mj_forward(model, data)
    full = mujoco.mjtState.mjSTATE_FULLPHYSICS
    state0 = np.empty(mujoco.mj_stateSize(model, full))
    mujoco.mj_getState(model, data, state0, full)
    state = np.tile(state0, (num_envs, 1))
    ctrl = np.tile(data.qpos[7 : 7 + model.nu], (num_envs, 1, 1))
    out_state = np.empty((num_envs, substeps, state.shape[1]))
    out_sensor = np.empty((num_envs, substeps, model.nsensordata))
    pool = mujoco.rollout.Rollout(nthread=threads)
    datas = [mujoco.MjData(model) for _ in range(threads)]
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        pool.rollout(
            model, datas, state, ctrl, nstep=substeps, state=out_state, sensordata=out_sensor
        )
        state[:] = out_state[:, -1]
        steps += num_envs
    rate = steps / (time.perf_counter() - start)
    pool.close()
    return rate


def raw_rollout_throughput(run_config: dict, num_envs: int, seconds: float) -> float:
    """Raw throughput for a saved run config (``config.yaml``)."""
    from mjmimic.config import load_config
    from mjmimic.engines import EngineConfig
    from mjmimic.engines.actuation import resolve_pd_table
    from mjmimic.engines.mujoco_cpu import available_cores
    from mjmimic.engines.scene import build_scene
    from mjmimic.robots.model import RobotModel

    engine = load_config(EngineConfig, run_config["engine"], "config.yaml", section="engine")
    robot = RobotModel.from_file(run_config["env"]["char_file"])
    pd = resolve_pd_table(robot, engine.joint_gains, engine.control_mode == "pos")
    model = build_scene(robot, engine, pd)
    threads = engine.num_threads or available_cores()
    return raw_rollout_throughput_of_model(model, num_envs, engine.num_substeps, threads, seconds)
