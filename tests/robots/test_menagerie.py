"""``--robot g1`` with no local model: a sparse clone of mujoco-menagerie into the cache.

The "server" is a real git repository made in the test (laid out like mujoco-menagerie,
holding the reference G1 and an unrelated folder) reached through a ``file://`` URL, so
the real ``git clone`` path runs without a network.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from mjmimic.errors import AssetError
from mjmimic.robots.menagerie import cached_model
from mjmimic.robots.profiles import resolve_robot

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def menagerie_url(shared_data, tmp_path_factory):
    repo = tmp_path_factory.mktemp("server") / "mujoco_menagerie"
    shutil.copytree(shared_data / "robots" / "unitree_g1", repo / "unitree_g1")
    (repo / "other_robot").mkdir()
    (repo / "other_robot" / "big.xml").write_text("<mujoco/>")
    _git("init", "-q", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "robots", cwd=repo)
    return repo.as_uri()


@pytest.fixture
def no_local_models(monkeypatch, tmp_path):
    """Nothing to find locally: empty reference data, no robot folders, an empty cache."""
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("MJMIMIC_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("MJMIMIC_CACHE", str(tmp_path / "cache"))
    for name in ("MJMIMIC_ROBOTS", "MENAGERIE_ROOT", "MJMIMIC_OFFLINE", "MJMIMIC_MENAGERIE_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "cache"


def test_first_use_fetches_only_the_robots_folder_then_works_offline(
    no_local_models, menagerie_url, monkeypatch, capsys
):
    monkeypatch.setenv("MJMIMIC_MENAGERIE_URL", menagerie_url)
    profile, robot = resolve_robot("g1")
    assert robot.source == str(cached_model("unitree_g1/g1.xml"))
    assert robot.num_dofs == 29 and profile.name == "g1"
    assert "fetching unitree_g1/ from" in capsys.readouterr().err
    cache = no_local_models / "mujoco_menagerie"
    assert sorted(p.name for p in cache.iterdir()) == ["unitree_g1"]  # no temp dir left
    assert (cache / "unitree_g1" / "assets").is_dir()  # meshes came along
    # From now on the cache answers: no network, no git.
    monkeypatch.setenv("MJMIMIC_MENAGERIE_URL", "file:///nonexistent/menagerie")
    monkeypatch.setenv("MJMIMIC_OFFLINE", "1")
    assert resolve_robot("g1")[1].source == robot.source


def test_offline_without_a_cached_copy_is_one_line(no_local_models, monkeypatch):
    monkeypatch.setenv("MJMIMIC_OFFLINE", "1")
    with pytest.raises(AssetError, match="MJMIMIC_OFFLINE is set; set MENAGERIE_ROOT") as info:
        resolve_robot("g1")
    assert "\n" not in str(info.value)


def test_unreachable_server_is_one_line_and_leaves_nothing(no_local_models, monkeypatch, tmp_path):
    monkeypatch.setenv("MJMIMIC_MENAGERIE_URL", (tmp_path / "missing").as_uri())
    with pytest.raises(AssetError, match=r"robot 'g1': cannot fetch it from file://") as info:
        resolve_robot("g1")
    assert "\n" not in str(info.value)
    assert list((no_local_models / "mujoco_menagerie").iterdir()) == []


def test_server_without_the_model_says_so(no_local_models, monkeypatch, menagerie_url):
    monkeypatch.setenv("MJMIMIC_MENAGERIE_URL", menagerie_url)
    with pytest.raises(AssetError, match=r"has no booster_t1/t1.xml"):
        resolve_robot("t1")


def test_a_robot_menagerie_lacks_names_where_it_looked(no_local_models):
    with pytest.raises(AssetError, match=r"robot 'k1': MJCF not found \(tried .*K1_22dof.xml"):
        resolve_robot("k1")
