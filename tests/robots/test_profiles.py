from __future__ import annotations

from pathlib import Path

import pytest

from mjmimic.errors import AssetError, ConfigError, MjmimicError
from mjmimic.robots.profiles import known_profiles, load_profile, resolve_robot

ROBOTS = {"humanoid": 28, "mimickit_humanoid": 28, "g1": 29, "k1": 22, "t1": 23}


def test_bundled_profiles_fit_their_models(shared_data: Path) -> None:
    assert set(ROBOTS) <= set(known_profiles())
    for name, dofs in ROBOTS.items():
        profile, robot = resolve_robot(name)
        assert robot.num_dofs == dofs == len(profile.joints)
        assert all(j.kp > 0 and j.kd > 0 and j.effort > 0 for j in profile.joints.values())


def test_g1_gains_follow_the_armature_rule() -> None:
    knee = load_profile("g1").joints["left_knee_joint"]
    w = 2 * 3.141592653589793 * 10
    assert knee.kp == pytest.approx(knee.armature * w**2, rel=1e-3)
    assert knee.kd == pytest.approx(2 * 2 * knee.armature * w, rel=1e-3)


def test_unknown_robot_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"known robots: .*g1.*k1.*t1"):
        load_profile("h1")


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[2] / "mjmimic/assets/robots/profiles/k1.yaml"
    bad = tmp_path / "k1.yaml"
    bad.write_text(src.read_text() + "action_scael: 1.0\n")
    with pytest.raises(ConfigError, match="unknown key 'action_scael'"):
        load_profile(bad)


def test_model_with_other_joints_lists_the_differences(shared_data: Path) -> None:
    # The T1 model under the K1 profile: T1 has a Waist joint, K1 none; shoulder names differ.
    wanted = r"not in the profile: .*Waist; profile joints not in the model: ALeft"
    with pytest.raises(AssetError, match=wanted) as err:
        resolve_robot("k1", shared_data / "robots/booster_t1/T1_23dof.xml")
    assert "\n" not in str(err.value)


def test_resolution_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_data: Path
) -> None:
    menagerie = tmp_path / "menagerie"
    menagerie.mkdir()
    (menagerie / "unitree_g1").symlink_to(shared_data / "robots/unitree_g1")
    monkeypatch.setenv("MENAGERIE_ROOT", str(menagerie))
    _, robot = resolve_robot("g1")
    assert robot.source == str(menagerie / "unitree_g1/g1.xml")
    monkeypatch.setenv("MJMIMIC_ROBOTS", str(shared_data / "robots"))
    _, robot = resolve_robot("g1")  # MJMIMIC_ROBOTS comes before the menagerie
    assert robot.source == str(shared_data / "robots/unitree_g1/g1.xml")
    monkeypatch.setenv("MJMIMIC_ROBOTS", str(tmp_path / "empty"))
    monkeypatch.setenv("MENAGERIE_ROOT", str(tmp_path / "empty"))
    _, robot = resolve_robot("g1")  # falls through to the shared data
    assert robot.source == str(shared_data / "robots/unitree_g1/g1.xml")
    with pytest.raises(MjmimicError, match="not found"):
        resolve_robot("g1", tmp_path / "missing.xml")
