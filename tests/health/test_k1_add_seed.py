"""The user's K1 post-mortem (ADD on the K1, NaN at iteration 0), end to end.

Reference motions against the robot, before anything trains: the K1 with a MimicKit
.pkl whose DoF count or DoF order is not the K1's is refused by ``mjmimic doctor
--arg_file`` (exit 1, the offending joints named) and by ``mjmimic train`` (exit 2, one
line, no traceback, nothing written). And a first ADD update that produces a non-finite
value stops the run at iteration 0 with the first non-finite statistic named (the
discriminator's reward, ahead of the critic and actor losses it poisons) and no NaN
weights written.

The clips are made here: a 3 s K1 "walk" from the joints swinging inside their limits,
with its lowest point on the floor, written as a MimicKit .pkl (root position, root
exp-map, the 22 DoFs in the K1's order). Every task with ``ReferenceMotions`` reads clips
the same way; ``TASKS`` lists the K1 env configs (and agents) the end-to-end tests run on,
DeepMimic and ADD (the user's case); an AMP K1 config goes there when one exists.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from mjmimic.cli import train_test
from mjmimic.cli.main import main
from mjmimic.motion import check
from mjmimic.motion.formats import read_motion, write_motion
from mjmimic.motion.motion import Motion
from mjmimic.paths import ASSETS_DIR, REPO_DIR
from mjmimic.robots.model import RobotModel
from mjmimic.robots.profiles import resolve_robot
from mjmimic.rotations import quat_to_exp_map

# Task -> a K1 env config of it (its motion_file is replaced by the test's clip) and the
# agent config it trains with (shrunk by ``agent_file``).
TASKS = {
    "deepmimic": ("configs/envs/deepmimic_k1_walk.yaml", "configs/agents/deepmimic_ppo_cpu.yaml"),
    "add": ("configs/envs/add_k1.yaml", "configs/agents/add_cpu.yaml"),
}
FPS = 30.0

# Centre and amplitude (rad) of each K1 joint's swing: a walk-like clip inside the limits.
WALK = {
    "AAHead_yaw": (0.0, 0.3),
    "Head_pitch": (0.2, 0.15),
    "ALeft_Shoulder_Pitch": (-0.2, 0.6),
    "Left_Shoulder_Roll": (-1.2, 0.15),
    "Left_Elbow_Pitch": (0.3, 0.4),
    "Left_Elbow_Yaw": (-0.8, 0.3),
    "ARight_Shoulder_Pitch": (-0.2, 0.6),
    "Right_Shoulder_Roll": (1.2, 0.15),
    "Right_Elbow_Pitch": (-0.3, 0.4),
    "Right_Elbow_Yaw": (0.8, 0.3),
    "Left_Hip_Pitch": (-0.3, 0.45),
    "Left_Hip_Roll": (0.1, 0.08),
    "Left_Hip_Yaw": (0.0, 0.1),
    "Left_Knee_Pitch": (0.7, 0.5),
    "Left_Ankle_Pitch": (-0.3, 0.25),
    "Left_Ankle_Roll": (0.0, 0.1),
    "Right_Hip_Pitch": (-0.3, 0.45),
    "Right_Hip_Roll": (-0.1, 0.08),
    "Right_Hip_Yaw": (0.0, 0.1),
    "Right_Knee_Pitch": (0.7, 0.5),
    "Right_Ankle_Pitch": (-0.3, 0.25),
    "Right_Ankle_Roll": (0.0, 0.1),
}


@pytest.fixture(scope="module")
def k1(shared_data) -> RobotModel:
    return resolve_robot("k1")[1]


@pytest.fixture(scope="module")
def walk(k1) -> Motion:
    n = 90
    t = np.arange(n)[:, None] / FPS
    centre = np.array([WALK[name][0] for name in k1.dof_names])
    amplitude = np.array([WALK[name][1] for name in k1.dof_names])
    dof = centre + amplitude * np.sin(2 * np.pi * t + np.arange(k1.num_dofs))
    root_rot = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    root_pos = np.concatenate([0.3 * t, 0 * t, 0.55 + 0 * t], axis=1)
    root_pos[:, 2] -= check.lowest_points(root_pos, root_rot, dof, k1).min()
    return Motion(FPS, "wrap", root_pos, root_rot, dof, list(k1.dof_names), name="walk_k1")


def legs_before_arms(k1: RobotModel) -> list[int]:
    """The K1's DoFs as a model that lists head, legs, then arms would store them."""
    legs = [d for d, n in enumerate(k1.dof_names) if any(p in n for p in ("Hip", "Knee", "Ankle"))]
    rest = [d for d in range(k1.num_dofs) if d not in legs]
    return rest[:2] + legs + rest[2:]


def write_pkl(path: Path, motion: Motion, columns: np.ndarray) -> Path:
    """A MimicKit .pkl (dict form) with the given DoF columns (T, any width)."""
    root_exp = quat_to_exp_map(torch.as_tensor(motion.root_rot)).numpy()
    frames = np.concatenate([motion.root_pos, root_exp, columns], axis=1)
    with path.open("wb") as f:
        pickle.dump({"loop_mode": 1, "fps": FPS, "frames": frames.tolist()}, f)
    return path


def env_file(tmp_path: Path, task: str, motion_file: Path) -> Path:
    data = yaml.safe_load((REPO_DIR / TASKS[task][0]).read_text())
    section = data.get("env", data)  # MimicKit's flat layout has no env: section
    section["motion_file"] = str(motion_file)
    path = tmp_path / f"{task}_{motion_file.stem}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def agent_file(tmp_path: Path, task: str, **health) -> Path:
    """The task's agent config with small networks and buffers (building it is all the
    pre-flight does with it)."""
    data = yaml.safe_load((REPO_DIR / TASKS[task][1]).read_text())
    for net in ("actor_net", "critic_net", "disc_net"):
        if net in data["model"]:
            data["model"][net] = [32, 32]
    if "disc_buffer_size" in data:
        data.update(disc_buffer_size=256, disc_replay_samples=16)
    data["health"] = {**data.get("health", {}), **health}
    path = tmp_path / f"{task}_agent{'_'.join(['', *health])}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def doctor(capsys, env: Path, agent: Path) -> tuple[int, list[str]]:
    argv = ["doctor", "--env_config", str(env), "--agent_config", str(agent)]
    code = main([*argv, "--num_envs", "2", "--threads", "1"])
    return code, capsys.readouterr().out.splitlines()


def train(capsys, monkeypatch, tmp_path: Path, env: Path, agent: Path):
    """``mjmimic train`` up to the training loop (which must not be reached)."""

    def reached(self):
        raise AssertionError("training started")

    monkeypatch.setattr(train_test.Trainer, "train", reached)
    out = tmp_path / "run"
    argv = ["train", "--env_config", str(env), "--agent_config", str(agent), "--out_dir"]
    code = main([*argv, str(out), "--num_envs", "2", "--threads", "1", "--max_samples", "64"])
    return code, capsys.readouterr().err, out


@pytest.mark.parametrize("task", TASKS)
def test_a_k1_clip_that_fits_passes(tmp_path, capsys, k1, walk, task):
    clip = write_pkl(tmp_path / "walk_k1.pkl", walk, walk.dof_pos)
    code, out = doctor(capsys, env_file(tmp_path, task, clip), agent_file(tmp_path, task))
    assert code == 0 and out[-1].startswith("pre-flight: no problems")
    motion = [line for line in out if " motion" in line]
    assert motion[0] == "[ok   ] motion: walk_k1: 90 frames at 30 fps (2.97 s), 22 robot DoFs"
    assert "22 unnamed DoFs = the robot's 22, taken in robot order" in motion[1]
    assert not [line for line in out if line.startswith(("[error]", "[warn ] motion"))]


@pytest.mark.parametrize("task", TASKS)
def test_a_dof_count_mismatch_is_refused_before_training(
    tmp_path, capsys, monkeypatch, k1, walk, task
):
    """A clip made for the 29-DoF G1 given to the 22-DoF K1."""
    columns = np.concatenate([walk.dof_pos, np.zeros((walk.num_frames, 7))], axis=1)
    env = env_file(tmp_path, task, write_pkl(tmp_path / "g1_walk.pkl", walk, columns))
    agent = agent_file(tmp_path, task)
    code, out = doctor(capsys, env, agent)
    assert code == 1 and out[-1] == "pre-flight: errors (1 checks)"
    (error,) = out[:-1]
    assert error.startswith("[error] motion: g1_walk.pkl: MimicKit frames have 35 numbers but ")
    assert "robot K1_22dof.xml needs 6 + 22 = 28" in error
    assert "the file's frames hold 29 DoFs, the DoF count of robot profile(s) g1" in error
    assert "mjmimic motion retarget" in error

    code, err, out_dir = train(capsys, monkeypatch, tmp_path, env, agent)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("mjmimic: error: g1_walk.pkl: MimicKit frames have 35 numbers")
    assert not out_dir.exists()


@pytest.mark.parametrize("task", TASKS)
def test_a_dof_order_mismatch_is_refused_before_training(
    tmp_path, capsys, monkeypatch, k1, walk, task
):
    """The K1's own DoFs, written by a model that lists the legs before the arms: the
    count fits, the .pkl names nothing, and the joints read the wrong columns."""
    columns = walk.dof_pos[:, legs_before_arms(k1)]
    env = env_file(tmp_path, task, write_pkl(tmp_path / "walk_k1.pkl", walk, columns))
    agent = agent_file(tmp_path, task)
    code, out = doctor(capsys, env, agent)
    assert code == 1 and out[-1].startswith("pre-flight: errors")
    (error,) = [line for line in out if line.startswith("[error]")]
    assert error.startswith("[error] motion: walk_k1: 3 of 22 joints are far outside their ")
    for joint in ("Left_Elbow_Yaw by up to 1.20 rad", "Left_Ankle_Roll", "Right_Ankle_Roll"):
        assert joint in error
    assert "(clip -1.35 to -1.05, limits -0.34 to 0.34)" in error  # Left_Ankle_Roll
    assert "the clip's DoF order is likely not the robot's" in error
    assert f"in this order: {', '.join(k1.dof_names)}" in error
    (limits,) = [line for line in out if line.startswith("[warn ] motion: walk_k1: 6 joint(s)")]
    assert "3 hinge(s) this far outside usually mean the clip's DoF order" in limits

    code, err, out_dir = train(capsys, monkeypatch, tmp_path, env, agent)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("mjmimic: error: the reference motion does not fit robot K1_22dof")
    assert "Left_Elbow_Yaw by up to 1.20 rad" in err and "DoF order is likely not" in err
    assert "agent.health.preflight_motions: false" in err
    assert not out_dir.exists()

    # The refusal can be turned off (the loop is then reached: the patched train raises,
    # which the CLI reports as what it is to it, an error of mjmimic's own: exit 1).
    relaxed = agent_file(tmp_path, task, preflight_motions=False)
    code, err, _ = train(capsys, monkeypatch, tmp_path, env, relaxed)
    assert code == 1 and "AssertionError: training started" in err


def test_the_order_check_finds_other_orders_and_spares_real_clips(k1, walk, shared_data):
    assert check.check_joint_order(walk.dof_pos, k1) == []
    (f,) = check.check_joint_order(walk.dof_pos[:, ::-1], k1)  # reversed columns
    assert f.severity == "error" and f.code == "joint_order" and f.frames[0] == 0
    assert f.message.startswith("7 of 22 joints are far outside their limits")
    # A left/right swap puts only the two elbow yaws far out: the limits warning names
    # them and says what it usually means, but no order is claimed on two joints.
    swap = [k1.dof_names.index(_mirror(n)) for n in k1.dof_names]
    assert check.check_joint_order(walk.dof_pos[:, swap], k1) == []
    (limits,) = check.check_joint_limits(walk.dof_pos[:, swap], k1)
    assert "Left_Elbow_Yaw by up to" in limits.message
    assert "2 hinge(s) this far outside" in limits.message
    # DeepMimic's own crawl leaves the per-axis limits of the humanoid's ball joints by up
    # to 1.6 rad in 6 joints: those are not a DoF order (ball joints are not judged).
    humanoid = RobotModel.from_file(ASSETS_DIR / "robots/humanoid/humanoid.xml")
    crawl = read_motion(shared_data / "motions/deepmimic/humanoid3d_crawl.txt", humanoid)
    crawl = crawl.align_to_robot(humanoid, "crawl")
    assert check.check_joint_order(crawl.dof_pos, humanoid) == []
    assert "joint_order" not in {f.code for f in check.check_motion(crawl, humanoid)}


def _mirror(name: str) -> str:
    return name.replace("Left", "@").replace("Right", "Left").replace("@", "Right")


def test_named_clips_report_their_own_order_and_the_floor(tmp_path, k1, walk):
    from mjmimic.health.preflight import _file_dofs

    order = legs_before_arms(k1)
    named = Motion(
        FPS,
        "wrap",
        walk.root_pos,
        walk.root_rot,
        walk.dof_pos[:, order],
        [k1.dof_names[d] for d in order],
        name="walk_named",
    )
    path = write_motion(named, tmp_path / "walk_named.npz")
    (f,) = _file_dofs(path, k1)
    assert f.level == "ok" and "22 named DoFs for a 22-DoF robot, in another order" in f.message
    assert "matched to the robot's joints by name" in f.message
    # Matched by name, the clip fits: no order or limit finding.
    aligned = read_motion(path, k1).align_to_robot(k1, "walk_named")
    assert check.check_joint_order(aligned.dof_pos, k1) == []
    assert check.check_joint_limits(aligned.dof_pos, k1) == []
    # The floor: how deep, where.
    sunk = walk.root_pos - np.array([0.0, 0.0, 0.1])
    (floor,) = check.check_floor(sunk, walk.root_rot, walk.dof_pos, k1)
    assert floor.code == "floor_penetration" and "0.100 m below the floor in 100%" in floor.message
    assert "lowest point z = -0.100 m" in floor.message and "deepest at frame" in floor.message


def test_a_clip_naming_joints_the_robot_lacks_is_a_preflight_error(tmp_path, capsys, k1, walk):
    names = list(k1.dof_names)
    names[names.index("Left_Knee_Pitch")] = "left_knee_joint"  # a G1 name
    clip = write_motion(
        Motion(FPS, "wrap", walk.root_pos, walk.root_rot, walk.dof_pos, names, name="g1ish"),
        tmp_path / "g1ish.npz",
    )
    agent = agent_file(tmp_path, "deepmimic")
    code, out = doctor(capsys, env_file(tmp_path, "deepmimic", clip), agent)
    assert code == 1 and len(out) == 2
    assert out[0].startswith("[error] motion: ")
    assert "not in robot K1_22dof.xml: left_knee_joint" in out[0]
    assert "missing from the motion: Left_Knee_Pitch" in out[0]


def test_add_k1_first_update_non_finite_is_named_and_stops(tmp_path, capsys, k1, walk):
    """A clip that fits, with a discriminator reward scale so large that the first
    rewards overflow to inf: the seed's "Critic_Loss 36.3, Actor_Loss nan at iteration
    0", where the question was which part made it."""
    clip = write_pkl(tmp_path / "walk_k1.pkl", walk, walk.dof_pos)
    env = env_file(tmp_path, "add", clip)
    agent_path = agent_file(tmp_path, "add")
    data = yaml.safe_load(agent_path.read_text())
    data.update(disc_reward_scale=1e39, steps_per_iter=8)  # 1e39 > float32 max: inf
    agent_path.write_text(yaml.safe_dump(data))
    out = tmp_path / "run"
    argv = ["train", "--env_config", str(env), "--agent_config", str(agent_path)]
    argv += ["--out_dir", str(out), "--num_envs", "4", "--threads", "1"]
    code = main([*argv, "--max_samples", "64", "--rand_seed", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    (line,) = err.splitlines()
    assert line.startswith("mjmimic: error: training stopped at iteration 0")

    report = json.loads((out / "diagnosis.json").read_text())
    first = report["first_problem"]
    # Named: the reward, not the critic and actor losses that are NaN because of it.
    assert first["kind"] == "nonfinite_update" and first["tensor"] == "disc_reward_mean"
    assert first["numbers"]["disc_loss"] == first["numbers"]["disc_loss"]  # finite itself
    cause = report["causes"][0]
    assert cause["cause"] == "agent.disc_reward_scale (1e+39) overflows float32"
    assert cause["try"] == ["set agent.disc_reward_scale to MimicKit's 2 (now 1e+39)"]
    model = out / "model.pt"
    if model.exists():  # whatever was saved holds no NaN weight
        state = torch.load(model, weights_only=True)["model"]
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
