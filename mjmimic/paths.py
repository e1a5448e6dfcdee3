"""Where mjmimic finds bundled assets and the shared reference data."""

from __future__ import annotations

import errno
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mjmimic.errors import MjmimicError

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


# Tests only: seconds each ``atomic_write_bytes`` waits with its temporary file written
# but not yet renamed, so a test can kill a run in the middle of a checkpoint write.
TEST_WRITE_DELAY_ENV = "MJMIMIC_TEST_WRITE_DELAY"
# atomic_output's temporary files: ``.{stem}.{pid}.tmp{suffix}``.
_TEMPORARY = re.compile(r"^\..+\.(\d+)\.tmp(\.[^.]*)?$")


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write, renamed to ``path`` when the block
    completes and removed when it fails: readers never see a partial file. The temporary
    name keeps the suffix, for writers that pick the file type from it. The data reach
    the disk before the rename (fsync), so not even a power cut leaves a half-written
    ``path``. An OSError of the directory, the fsync or the rename is a one-line
    ``MjmimicError`` naming ``path``; the writer's own errors pass unchanged."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(path, exc) from None
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        try:
            _fsync(tmp)
            os.replace(tmp, path)
            _fsync(path.parent)  # the rename itself
        except OSError as exc:
            raise write_error(path, exc) from None
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, data: bytes | memoryview) -> None:
    """``path`` holds ``data`` or, after any failure (a full disk, a kill), what it held
    before; a failure is a one-line ``MjmimicError`` naming ``path`` and the OS error."""
    with atomic_output(path) as tmp:
        try:
            with tmp.open("wb") as f:
                f.write(data)
                delay = float(os.environ.get(TEST_WRITE_DELAY_ENV) or 0.0)
                if delay:
                    f.flush()
                    time.sleep(delay)
        except OSError as exc:
            raise write_error(path, exc) from None


def write_error(path: Path, exc: OSError) -> MjmimicError:
    """``cannot write PATH: No space left on device (disk full)...``: one line."""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        reason += " (disk full)"
    return MjmimicError(
        f"cannot write {path}: {reason}; the {path.name} it replaces, if any, is unchanged: "
        "fix the cause and run again"
    )


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Delete the temporary files ``atomic_output`` left in ``directory`` when a process
    was killed mid-write (never this process's own); returns them. Call it only while
    no other process writes ``directory`` (``training/run_lock.py``)."""
    removed = []
    for p in directory.iterdir():
        match = _TEMPORARY.match(p.name)
        if match and int(match.group(1)) != os.getpid() and p.is_file():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
