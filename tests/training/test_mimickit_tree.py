"""MimicKit's own files run unchanged (issue 11): a MimicKit repository tree, trained and
tested from its root through the real CLI.

The tree is laid out in tmp_path as MimicKit's is (``args/``, ``data/envs``,
``data/agents``, ``data/engines``, ``data/assets``, ``data/motions``), with files in
MimicKit's format: flat env YAMLs (``env_name`` and every env key at the top level, paths
relative to the repository root), its Isaac Gym engine YAML (``ground_contact_height``),
a PPO agent YAML like its DeepMimic one (small nets), MimicKit ``.pkl`` motions, MJCFs
whose PD gains are joint ``stiffness``/``damping`` (the G1 written that way, as
MimicKit's G1 asset is), and arg files with MimicKit's flags. Each arg file trains a few
iterations, then drives test mode unchanged, the way MimicKit's debug config does:
``--mode test --num_envs N --arg_file <train args> --visualize true --model_file ...``.
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import mujoco
import pytest
import yaml

from mjmimic.cli.main import main
from mjmimic.motion.formats import read_motion, write_motion
from mjmimic.paths import ASSETS_DIR
from mjmimic.robots.model import RobotModel

NUM_ENVS = 8
STEPS = 8  # steps_per_iter in the agent YAML below
ITERATIONS = 2

ENGINE_YAML = """\
engine_name: "isaac_gym"

control_mode: "pos"
control_freq: 30
sim_freq: 120
env_spacing: 5

ground_contact_height: 0.3
"""

# MimicKit's deepmimic_humanoid_ppo_agent.yaml with small nets and short iterations.
AGENT_YAML = """\
agent_name: "PPO"

model:
  actor_net: "fc_2layers_128units"
  actor_init_output_scale: 0.01
  actor_std_type: "FIXED"
  action_std: 0.05

  critic_net: "fc_2layers_128units"

actor_optimizer:
    type: "SGD"
    learning_rate: 1e-4

critic_optimizer:
    type: "SGD"
    learning_rate: 1e-4

discount: 0.99
steps_per_iter: 8
iters_per_output: 2
test_episodes: 4
normalizer_samples: 100000000

actor_epochs: 2
actor_batch_size: 4
critic_epochs: 2
critic_batch_size: 2

td_lambda: 0.95
ppo_clip_ratio: 0.2
norm_adv_clip: 4.0
action_bound_weight: 10.0
action_entropy_weight: 0.0
action_reg_weight: 0.0
"""

REWARDS = """\
reward_pose_w: 0.5
reward_vel_w: 0.1
reward_root_pose_w: 0.15
reward_root_vel_w: 0.1
reward_key_pos_w: 0.15

reward_pose_scale: 0.25
reward_vel_scale: 0.01
reward_root_pose_scale: 5.0
reward_root_vel_scale: 1.0
reward_key_pos_scale: 10.0
"""

# MimicKit's deepmimic_humanoid_env.yaml (2 s episodes, to keep the test short).
HUMANOID_ENV_YAML = f"""\
env_name: "deepmimic"

char_file: "data/assets/humanoid/humanoid.xml"
camera_mode: "track"

episode_length: 2.0 # seconds
global_obs: True
root_height_obs: True
pose_termination: True
pose_termination_dist: 1.0 # m
enable_phase_obs: False
enable_tar_obs: True
num_phase_encoding: 4
tar_obs_steps: [1, 2, 3]
rand_reset: True
log_tracking_error: False

ref_char_offset: [2.0, 0.0, 0.0] # m

enable_early_termination: True
key_bodies: ["head", "right_hand", "left_hand", "right_foot", "left_foot"]
contact_bodies: ["right_foot", "left_foot"]

motion_file: "data/motions/humanoid/humanoid_squat.pkl"

joint_err_w: [1.0, 0.6, 0.6, 0.4, 0.0, 0.6, 0.4, 0.0, 1.0, 0.6, 0.4, 1.0, 0.6, 0.4]

{REWARDS}"""

# MimicKit's deepmimic_g1_env.yaml (its G1 has a head_link; this one's head is part of
# torso_link), with an engine: block as MimicKit's Go2/Pi+ env YAMLs carry.
G1_ENV_YAML = f"""\
env_name: "deepmimic"

char_file: "data/assets/g1/g1.xml"
camera_mode: "track"

episode_length: 2.0 # seconds
global_obs: True
root_height_obs: True
pose_termination: True
pose_termination_dist: 1.0 # m
enable_phase_obs: False
enable_tar_obs: True
num_phase_encoding: 4
tar_obs_steps: [1, 2, 3]
rand_reset: True
zero_center_action: True
log_tracking_error: False

ref_char_offset: [2.0, 0.0, 0.0] # m
init_pose: [0, 0, 0.8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1.57, \
0, 0, 0, 0, 0, 0, 1.57, 0, 0, 0]

enable_early_termination: True
key_bodies: ["left_ankle_roll_link", "right_ankle_roll_link", "torso_link", \
"left_wrist_yaw_link", "right_wrist_yaw_link"]
contact_bodies: ["left_knee_link", "left_ankle_pitch_link", "left_ankle_roll_link", \
"right_knee_link", "right_ankle_pitch_link", "right_ankle_roll_link"]

motion_file: "data/motions/g1/g1_walk.pkl"

joint_err_w: [{", ".join(["1.0"] * 29)}] # one per non-root body

{REWARDS}
engine:
  ground_contact_height: 0.2 # this is needed for IsaacGym
"""

ARGS = """\
--mode train
--num_envs {num_envs}

--engine_config data/engines/isaac_gym_engine.yaml
--env_config data/envs/deepmimic_{robot}_env.yaml
--agent_config data/agents/deepmimic_{robot}_ppo_agent.yaml

--max_samples {max_samples}
--out_dir output/deepmimic_{robot}_ppo
--visualize false
--logger txt
"""

G1_WALK = "0-motions_raw_tairantestbed_smpl_video_walk_level1_filter_amass.npz"
G1_WRISTS = tuple(
    f"{s}_wrist_{a}_joint" for s in ("left", "right") for a in ("roll", "pitch", "yaw")
)


def _write_g1_with_gains(shared_data: Path, path: Path) -> None:
    """The shared G1 (no actuators, no gains) with PD gains, armature and effort limits as
    joint attributes, as MimicKit's G1 asset carries them; gains from our G1 profile."""
    source = shared_data / "robots" / "unitree_g1" / "g1.xml"
    profile = yaml.safe_load((ASSETS_DIR / "robots" / "profiles" / "g1.yaml").read_text())
    spec = mujoco.MjSpec.from_file(str(source))
    spec.meshdir = str(source.parent / "assets")  # meshes stay in the shared data
    for joint in spec.joints:
        gains = profile["joints"].get(joint.name)
        if gains is not None:
            joint.stiffness = [gains["kp"], 0.0, 0.0]
            joint.damping = [gains["kd"], 0.0, 0.0]
            joint.armature = gains["armature"]
            joint.actfrcrange = [-gains["effort"], gains["effort"]]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(spec.to_xml())


def _write_pkl(source: Path, robot_file: Path, path: Path, fill: tuple[str, ...] = ()) -> None:
    """``source`` as a MimicKit .pkl for ``robot_file`` (``mjmimic motion convert``'s writer)."""
    robot = RobotModel.from_file(robot_file)
    motion = read_motion(source, robot).align_to_robot(
        robot, source.name, fill_missing=dict.fromkeys(fill, 0.0) or None
    )
    write_motion(motion, path, robot)


@pytest.fixture(scope="module")
def mimickit_tree(tmp_path_factory, shared_data) -> Path:
    root = tmp_path_factory.mktemp("MimicKit")
    files = {
        "data/engines/isaac_gym_engine.yaml": ENGINE_YAML,
        "data/envs/deepmimic_humanoid_env.yaml": HUMANOID_ENV_YAML,
        "data/envs/deepmimic_g1_env.yaml": G1_ENV_YAML,
        "data/agents/deepmimic_humanoid_ppo_agent.yaml": AGENT_YAML,
        "data/agents/deepmimic_g1_ppo_agent.yaml": AGENT_YAML,
    }
    for robot in ("humanoid", "g1"):
        files[f"args/deepmimic_{robot}_ppo_args.txt"] = ARGS.format(
            robot=robot, num_envs=NUM_ENVS, max_samples=ITERATIONS * NUM_ENVS * STEPS
        )
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    humanoid = root / "data/assets/humanoid/humanoid.xml"
    humanoid.parent.mkdir(parents=True)
    shutil.copy(ASSETS_DIR / "robots/humanoid/humanoid.xml", humanoid)
    _write_pkl(
        ASSETS_DIR / "motions/humanoid_squat.npz",
        humanoid,
        root / "data/motions/humanoid/humanoid_squat.pkl",
    )
    g1 = root / "data/assets/g1/g1.xml"
    _write_g1_with_gains(shared_data, g1)
    walk = shared_data / "motions/g1_asap/npz" / G1_WALK
    _write_pkl(walk, g1, root / "data/motions/g1/g1_walk.pkl", fill=G1_WRISTS)
    return root


def _mean_return(out: str) -> float:
    match = re.search(r"mean return: +(\S+)", out)
    assert match, out
    return float(match.group(1))


@pytest.mark.parametrize("robot", ["humanoid", "g1"])
def test_mimickit_arg_file_trains_and_tests_unchanged(robot, mimickit_tree, monkeypatch, capsys):
    monkeypatch.chdir(mimickit_tree)
    args = f"args/deepmimic_{robot}_ppo_args.txt"
    out_dir = Path(f"output/deepmimic_{robot}_ppo")

    # MimicKit: python mimickit/run.py --arg_file args/...  (train; one thread for CI)
    assert main(["--arg_file", args, "--threads", "1"]) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    notes = captured.err.splitlines()
    assert len(notes) == 1, captured.err  # one line says what was mapped and ignored
    assert notes[0].startswith("mjmimic: note: engine_name 'isaac_gym' (data/engines/")
    assert "runs on MuJoCo (CPU); ignored here: ground_contact_height" in notes[0]
    saved = yaml.safe_load((out_dir / "config.yaml").read_text())
    assert saved["engine"]["engine_name"] == "mujoco"
    assert "ground_contact_height" not in saved["engine"]
    assert saved["env"]["char_file"] == str(mimickit_tree / f"data/assets/{robot}/{robot}.xml")
    assert (out_dir / "model.pt").is_file()

    # MimicKit's debug config: test mode with the training arg file.
    model = out_dir / "model.pt"
    test_argv = ["--mode", "test", "--num_envs", "4", "--arg_file", args, "--visualize", "true"]
    test_argv += ["--model_file", str(model), "--test_episodes", "4", "--threads", "1"]
    assert main(test_argv) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    assert "episodes:            4 over 4 envs" in captured.out
    assert math.isfinite(_mean_return(captured.out))
    assert f"{args}: flags of 'mjmimic train' ignored here: --max_samples, --logger" in (
        captured.err
    )

    # The saved run says mujoco: testing from model.pt alone repeats no notice.
    assert main(["test", "--model_file", str(model), "--test_episodes", "2", "--threads", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert math.isfinite(_mean_return(captured.out))
