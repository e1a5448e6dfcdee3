"""The same policy, two independent code paths: the torch policy in the training env and
the ONNX in sim2sim (numpy observations from MuJoCo, scene and PD from the metadata).

From the same start state (the reference at clip time 0, velocities included) they must
give the same observation and actions at step 0 (1e-5), and the same trajectory over the
first second: root position within 1e-4 m and joint angles within 1e-3 rad
(docs/deploying.md). Measured on the project machine (trained squat policy, PD control):
6e-8 (obs), 2e-6 (actions), 2e-7 m and 1e-6 rad after 30 steps; the margins cover float32
rounding that contacts may amplify on another CPU.

Both control modes: the trained PD policy, and an untrained policy exported from a
model.pt of a torque-controlled run (actions are then motor torques).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mjmimic.export.sim2sim import Sim2Sim
from mjmimic.training import checkpoint
from mjmimic.training.setup import RunConfig, build_env_and_agent

STEPS = 30  # one second at 30 Hz
ROOT_TOL = 1e-4  # m
JOINT_TOL = 1e-3  # rad


def _torque_model(exported, tmp_path: Path) -> Path:
    """A model.pt of an untrained agent on the squat env in torque mode."""
    saved = checkpoint.load(exported.run_dir / "model.pt", checkpoint.MODEL_FORMAT)
    config = dict(saved["config"], engine={**saved["config"]["engine"], "control_mode": "torque"})
    run = RunConfig.from_dict(config, "torque")
    torch.manual_seed(3)
    _, agent = build_env_and_agent(run, num_envs=1)
    model = tmp_path / "model.pt"
    payload = dict(saved, model=agent.model_state_dict(), config=config)
    checkpoint.atomic_save(payload, model)
    return model


@pytest.fixture(scope="module", params=["pos_trained", "torque_untrained"])
def both(request, exported, tmp_path_factory, cli):
    if request.param == "pos_trained":
        model, policy = exported.run_dir / "model.pt", exported.policy
    else:
        root = tmp_path_factory.mktemp("torque")
        model, policy = _torque_model(exported, root), root / "policy.onnx"
        result = cli(["export", str(model), "-o", str(policy)])
        assert result.code == 0, result.err
    saved = checkpoint.load(model, checkpoint.MODEL_FORMAT)
    run = RunConfig.from_dict(saved["config"], "model.pt")
    run.engine.num_threads = 1
    run.env.rand_reset = False  # start at clip time 0, as sim2sim does
    env, agent = build_env_and_agent(run, num_envs=1)
    agent.load_model_state_dict(saved["model"])
    agent.eval_mode()
    sim = Sim2Sim(policy, run.env.char_file)
    assert sim.meta.control_mode == run.engine.control_mode
    yield env, agent, sim
    env.engine.close()


def _torch_action(env, agent, obs: torch.Tensor) -> torch.Tensor:
    low, high = env.action_bounds()
    with torch.no_grad():
        return torch.clamp(agent.normalized_policy(obs), low, high)


def test_same_start_state_observation_and_first_action(both):
    env, agent, sim = both
    obs = env.reset()
    sim.reset(0.0)
    qpos, qvel = (t.cpu().numpy() for t in env.engine.physics_state())
    np.testing.assert_allclose(sim.data.qpos, qpos[0], atol=1e-6)
    np.testing.assert_allclose(sim.data.qvel, qvel[0], atol=1e-5)
    sim_obs = sim.observe()
    assert np.abs(sim_obs - obs[0].numpy()).max() <= 1e-5
    action = _torch_action(env, agent, obs)[0].numpy()
    assert np.abs(action).max() > 1e-3  # a real command, not all zeros
    assert np.abs(sim.act(sim_obs) - action).max() <= 1e-5


def test_first_second_trajectories_agree(both):
    env, agent, sim = both
    obs = env.reset()
    sim.reset(0.0)
    moved = 0.0
    for _ in range(STEPS):
        obs, _, _, _ = env.step(_torch_action(env, agent, obs))
        sim.step(sim.act(sim.observe()))
        qpos = env.engine.physics_state()[0].cpu().numpy()
        assert np.abs(sim.data.qpos[:3] - qpos[0, :3]).max() <= ROOT_TOL
        assert np.abs(sim.data.qpos[7:] - qpos[0, 7:]).max() <= JOINT_TOL
        moved = max(moved, float(np.abs(qpos[0, 7:] - sim.reference.frame(0.0).dof_pos).max()))
    # The comparison means something only if the joints moved well beyond the tolerance.
    assert moved > 20 * JOINT_TOL
