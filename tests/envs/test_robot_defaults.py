"""``robot: g1`` in an env config: the profile's numbers reach the engine unchanged, an
explicit override wins for what it names only, and resolving twice changes nothing."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
import yaml

from mjmimic.cli.explain import run_settings
from mjmimic.cli.robot import main as robot_main
from mjmimic.config import get_origin
from mjmimic.engines.mujoco_cpu import MujocoCpuEngine
from mjmimic.envs.robot_defaults import apply_robot_defaults, joint_weights
from mjmimic.errors import AssetError, ConfigError
from mjmimic.paths import REPO_DIR
from mjmimic.robots.check import _fixed_base_model
from mjmimic.robots.model import RobotModel
from mjmimic.robots.profiles import find_mjcf, load_profile, resolve_robot
from mjmimic.training.setup import RunConfig

ENGINE = REPO_DIR / "configs/engines/mujoco_cpu.yaml"
AGENT = REPO_DIR / "configs/agents/deepmimic_ppo_cpu.yaml"
CONFIGS = {"g1": "configs/envs/deepmimic_g1_walk.yaml", "k1": "configs/envs/deepmimic_k1_walk.yaml"}
G1_ORIGIN = "robot profile g1 (mjmimic/assets/robots/profiles/g1.yaml)"


def _env_file(tmp_path: Path, robot: str, extra: dict | None = None) -> Path:
    """The robot's env config as shipped, with a stand-in motion file (the K1 clip is made
    by retargeting; nothing here loads it) and ``extra`` keys merged into it."""
    data = yaml.safe_load((REPO_DIR / CONFIGS[robot]).read_text())
    clip = tmp_path / "clip.npz"
    clip.touch()
    data["env"]["motion_file"] = str(clip)
    for section, keys in (extra or {}).items():
        data.setdefault(section, {}).update(keys)
    path = tmp_path / f"{robot}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _run(env_file: Path) -> RunConfig:
    return RunConfig.from_files(ENGINE, env_file, AGENT, 1, 0, "cpu")


def _engine(run: RunConfig) -> MujocoCpuEngine:
    run.engine.num_threads = 1
    return MujocoCpuEngine(run.engine, RobotModel.from_file(run.env.char_file), 1)


def _armature(engine: MujocoCpuEngine) -> np.ndarray:
    return engine.model.dof_armature[6:]


@pytest.mark.parametrize("name", ["g1", "k1"])
def test_env_config_takes_the_robot_numbers_from_its_profile(
    name: str, tmp_path: Path, shared_data: Path
) -> None:
    shipped = yaml.safe_load((REPO_DIR / CONFIGS[name]).read_text())
    assert "joint_gains" not in shipped.get("engine", {}) and "key_bodies" not in shipped["env"]
    run = _run(_env_file(tmp_path, name))
    profile = load_profile(name)
    engine = _engine(run)
    names = engine.robot.dof_names
    for quantity, got in [
        ("kp", engine.pd.kp),
        ("kd", engine.pd.kd),
        ("effort", engine.pd.effort),
        ("armature", _armature(engine)),
    ]:
        want = [getattr(profile.joints[n], quantity) for n in names]
        assert got.tolist() == want, quantity  # exactly: nothing restated, nothing rounded
    assert set(engine.pd.sources) == {"robot profile"}
    assert run.env.char_file == str(find_mjcf(profile))
    assert run.env.key_bodies == profile.key_bodies
    assert run.env.contact_bodies == profile.contact_bodies
    assert run.env.joint_err_w == {n: profile.joints[n].weight for n in names}
    origin = f"robot profile {name} (mjmimic/assets/robots/profiles/{name}.yaml)"
    for path in ("char_file", "key_bodies", "contact_bodies", "joint_err_w"):
        assert get_origin(run.env, path) == origin, path
    assert get_origin(run.engine, f"joint_gains.{names[0]}.kd") == origin


def test_robot_check_and_the_training_env_read_the_same_numbers(
    tmp_path: Path, shared_data: Path
) -> None:
    engine = _engine(_run(_env_file(tmp_path, "g1")))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert robot_main(["check", "g1", "--no-sweep"]) == 0
    rows = {line.split()[0]: line.split()[-4:] for line in out.getvalue().splitlines()}
    for d, name in enumerate(engine.robot.dof_names):
        printed = [
            f"{engine.pd.kp[d]:.2f}",
            f"{engine.pd.kd[d]:.3f}",
            f"{engine.pd.effort[d]:.1f}",
            f"{_armature(engine)[d]:.5f}",
        ]
        assert rows[name] == printed, name
    # And unrounded: the check's own PD model (its joint sweep) against the engine's.
    checked = _fixed_base_model(*resolve_robot("g1"))
    assert checked.actuator_gainprm[:, 0].tolist() == engine.pd.kp.tolist()
    assert (-checked.actuator_biasprm[:, 2]).tolist() == engine.pd.kd.tolist()
    assert checked.actuator_forcerange[:, 1].tolist() == engine.pd.effort.tolist()
    assert checked.dof_armature.tolist() == _armature(engine).tolist()


def test_an_explicit_override_wins_for_the_joints_and_numbers_it_names(
    tmp_path: Path, shared_data: Path
) -> None:
    overrides = {
        "engine": {
            "joint_gains": {
                "*_knee_joint": {"kp": 120.0, "kd": 8.0},
                "waist_yaw_joint": {"effort": 50.0},
            }
        },
        "env": {"key_bodies": ["torso_link"]},
    }
    env_file = _env_file(tmp_path, "g1", overrides)
    run = _run(env_file)
    profile = load_profile("g1")
    engine = _engine(run)
    names = engine.robot.dof_names
    for d, name in enumerate(names):
        p = profile.joints[name]
        knee = name.endswith("_knee_joint")
        assert engine.pd.kp[d] == (120.0 if knee else p.kp), name
        assert engine.pd.kd[d] == (8.0 if knee else p.kd), name
        assert engine.pd.effort[d] == (50.0 if name == "waist_yaw_joint" else p.effort), name
        assert _armature(engine)[d] == p.armature, name
        assert engine.pd.sources[d] == ("config" if knee else "robot profile"), name
    assert get_origin(run.engine, "joint_gains.left_knee_joint.kp").startswith(str(env_file))
    assert get_origin(run.engine, "joint_gains.left_knee_joint.effort") == G1_ORIGIN
    assert get_origin(run.engine, "joint_gains.waist_yaw_joint.effort").startswith(str(env_file))
    assert "*_knee_joint" not in run.engine.joint_gains  # folded into the knees' entries
    assert run.env.key_bodies == ["torso_link"]  # set: kept
    assert get_origin(run.env, "key_bodies").startswith(str(env_file))
    assert run.env.contact_bodies == profile.contact_bodies  # not set: the profile's


def test_resolving_again_or_from_the_saved_config_changes_nothing(
    tmp_path: Path, shared_data: Path
) -> None:
    overrides = {"engine": {"joint_gains": {"*_knee_joint": {"kp": 120.0}}}}
    env_file = _env_file(tmp_path, "g1", overrides)
    run = _run(env_file)
    saved = yaml.safe_load(yaml.safe_dump(run.to_dict()))  # as config.yaml holds it
    assert saved["env"]["robot"] == "g1"
    origins = [s.origin for s in run_settings(run)]
    apply_robot_defaults(run.env, run.engine, str(env_file), env_file.parent)
    assert run.to_dict() == saved
    assert [s.origin for s in run_settings(run)] == origins
    again = RunConfig.from_dict(saved, "config.yaml")
    apply_robot_defaults(again.env, again.engine, "config.yaml")
    assert again.to_dict() == saved
    # The saved numbers alone (no profile step) build the same PD.
    plain = _engine(RunConfig.from_dict(saved, "config.yaml"))
    assert plain.pd.kp.tolist() == _engine(run).pd.kp.tolist()


def test_explain_names_the_profile(tmp_path: Path, shared_data: Path) -> None:
    settings = {s.path: s.origin for s in run_settings(_run(_env_file(tmp_path, "g1")))}
    assert settings["env.contact_bodies"] == G1_ORIGIN
    assert settings["engine.joint_gains.left_knee_joint.kp"] == G1_ORIGIN
    assert settings["env.robot"].startswith(str(tmp_path))


def test_a_profile_path_and_its_errors(tmp_path: Path, shared_data: Path) -> None:
    mine = tmp_path / "my_g1.yaml"
    mine.write_text((REPO_DIR / "mjmimic/assets/robots/profiles/g1.yaml").read_text())
    run = _run(_env_file(tmp_path, "g1", {"env": {"robot": "my_g1.yaml"}}))
    assert run.env.robot == str(mine.resolve())  # made absolute, found beside the env file
    assert get_origin(run.env, "key_bodies").startswith(f"robot profile g1 ({mine}")
    with pytest.raises(ConfigError, match=r"g1\.yaml:\d+: env\.robot: unknown robot 'h1'"):
        _run(_env_file(tmp_path, "g1", {"env": {"robot": "h1"}}))
    k1_mjcf = str(shared_data / "robots/booster_k1/K1_22dof.xml")
    with pytest.raises(AssetError, match=r"does not match robot profile 'g1'"):
        _run(_env_file(tmp_path, "g1", {"env": {"char_file": k1_mjcf}}))


def test_profile_weights_become_joint_weights_of_whole_joints() -> None:
    profile, robot = resolve_robot("humanoid")
    weights = joint_weights(profile, robot)
    assert weights["right_knee"] == 0.6 and weights["right_hip"] == 1.0  # 3-hinge joint
    profile.joints["right_hip_x"].weight = 0.5
    with pytest.raises(AssetError, match=r"joint 'right_hip' .* different weights"):
        joint_weights(profile, robot)
