"""Where mjmimic finds bundled assets and the shared reference data."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
ASSETS_DIR = PACKAGE_DIR / "assets"
REPO_DIR = PACKAGE_DIR.parent


def shared_data_dir() -> Path:
    """Reference robots and motions used by tests and benchmarks.

    ``MJMIMIC_DATA`` overrides; the default is ``../shared/data`` beside the repository.
    """
    env = os.environ.get("MJMIMIC_DATA")
    return Path(env) if env else REPO_DIR.parent / "shared" / "data"
