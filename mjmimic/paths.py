"""Where mjmimic finds bundled assets and the shared reference data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
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


def expand_path(value: str) -> str:
    """Expand ``~`` and the variables ``${MJMIMIC_DATA}`` (reference data; defaults to
    ``shared_data_dir()``) and ``${MJMIMIC_ASSETS}`` (the assets bundled with mjmimic)."""
    value = value.replace("${MJMIMIC_DATA}", str(shared_data_dir()))
    value = value.replace("${MJMIMIC_ASSETS}", str(ASSETS_DIR))
    return os.path.expanduser(os.path.expandvars(value))


def resolve_input_path(value: str, config_dir: Path | None, what: str, key: str) -> Path:
    """Find a file named in a config: absolute, else relative to the config file that named
    it (``config_dir``; mjmimic's rule), else relative to the current directory (MimicKit's
    rule: its configs name ``data/...`` from its repository root)."""
    from mjmimic.errors import ConfigError

    path = Path(expand_path(value))
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [(config_dir / path).absolute()] if config_dir is not None else []
        if Path.cwd() / path not in candidates:
            candidates.append(Path.cwd() / path)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise ConfigError(f"{key}: {what} '{value}' not found (tried {tried})")


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write, renamed to ``path`` when the block
    completes and removed when it fails: readers never see a partial file. The temporary
    name keeps the suffix, for writers that pick the file type from it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
