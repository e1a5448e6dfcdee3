"""Headless rendering: the policy-beside-reference video and single-motion frames.

Real offscreen renders (EGL) at small sizes: 160x120, one second of video.
"""

from __future__ import annotations

import os
import sys

import imageio.v2 as imageio
import mujoco
import numpy as np
import pytest
import torch

from mjmimic.agents.config import PPOConfig
from mjmimic.agents.ppo import PPOAgent
from mjmimic.config import load_config, load_yaml
from mjmimic.engines import EngineConfig
from mjmimic.envs.deepmimic.config import DeepMimicEnvConfig
from mjmimic.envs.deepmimic.env import DeepMimicEnv
from mjmimic.errors import MjmimicError
from mjmimic.paths import REPO_DIR
from mjmimic.render import RobotView, offscreen, record_policy_video, render_motion_frames
from mjmimic.render.video import _ghost_qpos

SQUAT = "configs/envs/deepmimic_humanoid_squat.yaml"
W, H = 160, 120


def make_env(num_envs: int = 4, **env_overrides) -> DeepMimicEnv:
    data, _ = load_yaml(REPO_DIR / SQUAT)
    env_cfg = load_config(
        DeepMimicEnvConfig, {**data["env"], **env_overrides}, SQUAT, section="env"
    )
    engine_data = {**load_yaml(REPO_DIR / "configs/engines/mujoco_cpu.yaml")[0]}
    engine_data.update(data.get("engine", {}))
    engine_data["num_threads"] = 1
    engine_cfg = load_config(EngineConfig, engine_data, SQUAT, section="engine")
    return DeepMimicEnv(env_cfg, engine_cfg, num_envs, config_dir=(REPO_DIR / SQUAT).parent)


def make_agent(env: DeepMimicEnv) -> PPOAgent:
    agent_file = REPO_DIR / "configs/agents/deepmimic_ppo_cpu.yaml"
    data, origins = load_yaml(agent_file)
    cfg = load_config(PPOConfig, data, str(agent_file), origins)
    low, high = env.action_bounds()
    return PPOAgent(cfg, env.obs_dim, low, high, env.num_envs)


@pytest.fixture(scope="module")
def env_and_agent():
    torch.manual_seed(0)
    env = make_env()
    yield env, make_agent(env)
    env.engine.close()


@pytest.fixture(scope="module")
def mp4_frames(env_and_agent, tmp_path_factory):
    env, agent = env_and_agent
    path = tmp_path_factory.mktemp("video") / "new_dir" / "policy.mp4"
    out = record_policy_video(env, agent, path, seconds=1.0, width=W, height=H)
    assert out == path and path.is_file()
    assert agent.training  # train mode restored
    return read_video(path)


def read_video(path) -> np.ndarray:
    # Not list(reader): its length is unknown (inf) and list() would try to preallocate it.
    with imageio.get_reader(path) as reader:
        return np.stack([frame for frame in reader.iter_data()])


def _reset_pose(env: DeepMimicEnv, view: RobotView, i: int = 0) -> None:
    offset = np.asarray(env.ghost_offset, dtype=np.float64)
    view.set_pose(env.engine.physics_state()[0][i].cpu().numpy(), _ghost_qpos(env, i, offset))


def test_mp4_has_one_frame_per_control_step(mp4_frames, env_and_agent):
    env, _ = env_and_agent
    assert abs(len(mp4_frames) - round(1.0 / env.dt)) <= 1  # 30 fps for 1 s
    assert mp4_frames.shape[1:] == (H, W, 3)


def test_mp4_shows_a_moving_robot(mp4_frames):
    frames = mp4_frames.astype(np.float64)
    # Not a uniform image: floor, sky and two figures.
    assert all(f.std() > 15.0 for f in frames)
    # The untrained policy and the squatting reference move: consecutive frames differ
    # (a still scene encodes to identical frames, a change of exactly 0).
    change = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    assert (change > 0.05).mean() >= 0.9, change
    assert np.median(change) > 0.1, change
    assert np.abs(frames[-1] - frames[0]).mean() > 2.0


def test_gif_video(env_and_agent, tmp_path):
    env, agent = env_and_agent
    path = record_policy_video(env, agent, tmp_path / "policy.gif", seconds=0.5, width=W, height=H)
    frames = np.asarray(imageio.mimread(path))
    assert abs(len(frames) - 15) <= 1
    assert frames.shape[1:3] == (H, W)


def test_fps_other_than_the_control_rate_keeps_real_time(env_and_agent, tmp_path):
    env, agent = env_and_agent
    path = tmp_path / "p.mp4"
    record_policy_video(env, agent, path, seconds=0.5, fps=10, width=W, height=H)
    assert len(read_video(path)) == 5


def test_ghost_is_a_second_figure_beside_the_character(env_and_agent):
    env, _ = env_and_agent
    env.reset()
    assert env.cfg.ref_char_offset == [2.0, 0.0, 0.0]  # the ghost stands 2 m ahead (+x)
    with RobotView(env.robot.source, W, H, ghost=True, ghost_offset=[2.0, 0.0, 0.0]) as view:
        _reset_pose(env, view)
        both = view.render().astype(np.int64)
        view.set_ghost_alpha(0.0)
        char_only = view.render().astype(np.int64)
        m = view.model
        char_geoms = [
            g for g in range(m.ngeom) if m.body(m.geom_bodyid[g]).name.startswith("char/")
        ]
        m.geom_rgba[char_geoms, 3] = 0.0
        floor_only = view.render().astype(np.int64)
    ghost = np.abs(both - char_only).sum(-1) > 30
    char = np.abs(char_only - floor_only).sum(-1) > 30
    # Two figures, not a few pixels each.
    assert ghost.sum() > 0.01 * W * H and char.sum() > 0.01 * W * H
    # The camera looks from the side: +x is to the right, the character at the left.
    assert np.nonzero(char)[1].mean() < 0.45 * W
    assert np.nonzero(ghost)[1].mean() > 0.6 * W


def test_zero_offset_draws_the_ghost_over_the_character(env_and_agent):
    env, _ = env_and_agent
    env.reset()
    with RobotView(env.robot.source, W, H, ghost=True, ghost_offset=[0.0, 0.0, 0.0]) as view:
        qpos = env.engine.physics_state()[0][0].cpu().numpy()
        view.set_pose(qpos, _ghost_qpos(env, 0, np.zeros(3)))
        with_ghost = view.render().astype(np.int64)
        view.set_ghost_alpha(0.0)
        without = view.render().astype(np.int64)
    ghost = np.abs(with_ghost - without).sum(-1) > 30
    assert ghost.sum() > 0.01 * W * H
    assert abs(np.nonzero(ghost)[1].mean() - W / 2) < 0.15 * W


def test_view_poses_match_the_simulation_and_the_reference(env_and_agent):
    env, agent = env_and_agent
    env.reset()
    agent.eval_mode()
    obs = env.reset()
    for _ in range(5):
        obs, *_ = env.step(agent.act(obs))
    agent.train_mode()
    offset = np.array([2.0, 0.0, 0.0])
    i = 2
    with RobotView(env.robot.source, W, H, ghost=True, ghost_offset=offset) as view:
        qpos = env.engine.physics_state()[0][i].cpu().numpy()
        view.set_pose(qpos, _ghost_qpos(env, i, offset))
        m, d = view.model, view.data
        char = np.stack([d.xpos[m.body(f"char/{n}").id] for n in env.robot.body_names])
        ghost = np.stack([d.xpos[m.body(f"ghost/{n}").id] for n in env.robot.body_names])
    ref = env.motion_lib.get_state(
        env.motion_ids[i : i + 1], env.motion_start[i : i + 1] + env.time[i : i + 1]
    )
    np.testing.assert_allclose(char, env.engine.body_pos[i].numpy(), atol=1e-4)
    np.testing.assert_allclose(ghost, ref.body_pos[0].numpy() + offset, atol=1e-4)
    # Ghost geoms: translucent, no collisions; character geoms keep their colours.
    assert np.allclose(m.geom_rgba[view.ghost_geoms, 3], offscreen.GHOST_ALPHA)
    assert not m.geom_contype.any() and not m.geom_conaffinity.any()
    assert m.nu == 0


def test_render_motion_frames_returns_one_image_per_pose(env_and_agent):
    env, _ = env_and_agent
    clip = torch.zeros(3, dtype=torch.long)
    ref = env.motion_lib.get_state(clip, torch.tensor([0.0, 0.5, 1.0]))
    qpos = torch.cat([ref.root_pos, ref.root_rot, env.kinematics.dof_to_qpos(ref.dof_pos)], -1)
    frames = render_motion_frames(env.robot.source, qpos.double().numpy(), W, H)
    assert len(frames) == 3
    assert all(f.shape == (H, W, 3) and f.dtype == np.uint8 for f in frames)
    assert all(f.std() > 15.0 for f in frames)
    assert np.abs(frames[0].astype(int) - frames[2]).mean() > 0.5  # the pose changed
    with pytest.raises(MjmimicError, match=r"shape \(T, 35\)"):
        render_motion_frames(env.robot.source, np.zeros((2, 7)), W, H)


def test_unknown_video_type_is_a_user_error(env_and_agent, tmp_path):
    env, agent = env_and_agent
    with pytest.raises(MjmimicError, match=r"\.mp4 or \.gif"):
        record_policy_video(env, agent, tmp_path / "policy.avi", seconds=0.1)
    assert not (tmp_path / "policy.avi").exists()
    assert agent.training


def test_missing_gl_library_is_one_line_with_the_install_hint(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("Cannot initialize a headless EGL display.\nmore details")

    monkeypatch.setattr(mujoco, "Renderer", broken)
    model = mujoco.MjModel.from_xml_string("<mujoco/>")
    with pytest.raises(MjmimicError) as err:
        offscreen.make_renderer(model, W, H)
    message = str(err.value)
    assert "\n" not in message
    assert "apt-get install libegl1 libgl1-mesa-dri" in message
    assert "MUJOCO_GL=osmesa" in message


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.environ.get("MUJOCO_GL", "egl") != "egl",
    reason="MUJOCO_GL chosen by the user",
)
def test_egl_is_selected_when_mujoco_gl_is_unset(monkeypatch):
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    offscreen.select_gl_backend()
    assert os.environ["MUJOCO_GL"] == "egl"


def test_qpos_frames_of_the_wrong_width_are_refused_before_anything_is_written(tmp_path):
    from mjmimic.render.video import write_qpos_video

    robot_file = REPO_DIR / "mjmimic/assets/robots/humanoid/humanoid.xml"
    nq = mujoco.MjModel.from_xml_path(str(robot_file)).nq
    out = tmp_path / "wrong.gif"
    with pytest.raises(MjmimicError, match=rf"must have shape \(T, {nq}\), got \(3, {nq - 1}\)"):
        write_qpos_video(robot_file, np.zeros((3, nq - 1)), out, 30.0, 64, 48)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(MjmimicError, match=rf"must have shape \(T, {nq}\)"):
        render_motion_frames(robot_file, np.zeros(nq), 64, 48)
