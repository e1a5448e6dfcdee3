"""Robot models from mujoco-menagerie, fetched on first use for users who are online.

``--robot g1`` with no local copy of the G1 (no ``MJMIMIC_ROBOTS``, ``MENAGERIE_ROOT`` or
reference data) clones just the robot's folder of mujoco-menagerie (a shallow, sparse
``git clone``: the one folder, not the whole repository) into the cache
(``$MJMIMIC_CACHE``, default ``~/.cache/mjmimic``) and uses it from there on; later
calls do not touch the network. ``MJMIMIC_MENAGERIE_URL`` points at a mirror (any URL
``git clone`` takes, ``file://`` included); ``MJMIMIC_OFFLINE=1`` forbids the download.

A fetch is atomic: the folder is cloned into a temporary directory beside the cache and
renamed into place only when the model file is there, so an interrupted download leaves
nothing half-written behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mjmimic.errors import AssetError

MENAGERIE_URL = "https://github.com/google-deepmind/mujoco_menagerie.git"
GIT_TIMEOUT_S = 600


def cache_dir() -> Path:
    """Where fetched menagerie folders live: ``$MJMIMIC_CACHE/mujoco_menagerie``."""
    root = os.environ.get("MJMIMIC_CACHE") or Path.home() / ".cache" / "mjmimic"
    return Path(root).expanduser() / "mujoco_menagerie"


def cached_model(relpath: str) -> Path:
    """The cache path of menagerie's ``relpath`` (it may not exist yet)."""
    return cache_dir() / relpath


def fetch_model(relpath: str, robot: str) -> Path:
    """Menagerie's ``relpath`` (e.g. ``unitree_g1/g1.xml``) in the cache, cloning its
    top-level folder first when it is not there. Errors are one-line ``AssetError``s."""
    target = cached_model(relpath)
    if target.is_file():
        return target
    folder = Path(relpath).parts[0]
    if os.environ.get("MJMIMIC_OFFLINE"):
        raise AssetError(
            f"robot '{robot}': not in the menagerie cache ({target}) and MJMIMIC_OFFLINE is "
            "set; set MENAGERIE_ROOT to a mujoco-menagerie checkout or pass the MJCF path"
        )
    git = shutil.which("git")
    if git is None:
        raise AssetError(
            f"robot '{robot}': fetching it from mujoco-menagerie needs git, which is not "
            "installed; set MENAGERIE_ROOT to a checkout or pass the MJCF path"
        )
    url = os.environ.get("MJMIMIC_MENAGERIE_URL") or MENAGERIE_URL
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    print(f"mjmimic: fetching {folder}/ from {url} into {cache}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".fetch-") as tmp:
        checkout = Path(tmp) / "menagerie"
        clone = [git, "clone", "--quiet", "--depth", "1", "--filter=blob:none", "--sparse"]
        _git([*clone, url, str(checkout)], robot, url)
        _git([git, "-C", str(checkout), "sparse-checkout", "set", folder], robot, url)
        if not (checkout / relpath).is_file():
            raise AssetError(
                f"robot '{robot}': {url} has no {relpath}; point MJMIMIC_MENAGERIE_URL at "
                "mujoco-menagerie or pass the MJCF path"
            )
        destination = cache / folder
        if destination.exists():  # an older fetch of the folder without this file
            shutil.rmtree(destination)
        os.replace(checkout / folder, destination)
    return target


def _git(cmd: list[str], robot: str, url: str) -> None:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=GIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise AssetError(
            f"robot '{robot}': fetching from {url} took over {GIT_TIMEOUT_S} s; set "
            "MENAGERIE_ROOT to a mujoco-menagerie checkout or pass the MJCF path"
        ) from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"git exited with {result.returncode}"
        raise AssetError(
            f"robot '{robot}': cannot fetch it from {url} ({reason}); set MENAGERIE_ROOT "
            "to a mujoco-menagerie checkout or pass the MJCF path"
        )
