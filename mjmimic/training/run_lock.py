"""One ``mjmimic train`` per run directory: ``train.lock`` holds the PID of the process
that writes the directory.

Two processes appending to one log.txt and renaming checkpoints over each other would
leave a run that neither can resume, so the second refuses and names the first's PID.
The lock is created with ``O_CREAT | O_EXCL`` (atomic: of two processes, exactly one
creates it) and removed when the run ends. A run killed with ``kill -9`` cannot remove
it; the next process finds that PID dead and takes the lock over.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from mjmimic.errors import MjmimicError

LOCK_FILE = "train.lock"
# A lock is empty only between its creation and the write of the PID (microseconds);
# one still empty after this long belongs to a process that died in between.
_EMPTY_GRACE_S = 1.0


def holder(run_dir: Path) -> int | None:
    """The PID of the live process holding ``run_dir``'s lock; None when it is free (no
    lock, or the lock of a process that is gone)."""
    text = _settled_text(run_dir / LOCK_FILE)
    if text is None:
        return None
    pid = _pid(text)
    return pid if pid is not None and _alive(pid) else None


def check_free(run_dir: Path, flag: str) -> None:
    """Refuse early, before anything is built, when another process holds the lock."""
    pid = holder(run_dir)
    if pid is not None:
        raise _in_use(run_dir, flag, pid)


class RunLock:
    """``with RunLock(run_dir, "--out_dir"):`` holds ``run_dir/train.lock``."""

    def __init__(self, run_dir: Path, flag: str):
        self.path = run_dir / LOCK_FILE
        self.run_dir = run_dir
        self.flag = flag
        self._mine = f"{os.getpid()}\n"

    def __enter__(self) -> RunLock:
        try:
            self._acquire()
        except OSError as exc:
            raise MjmimicError(
                f"{self.flag} {self.run_dir}: cannot create {self.path}: {exc.strerror}; "
                "the run directory must be writable"
            ) from None
        return self

    def __exit__(self, *exc) -> None:
        # Only our own lock, never one another process holds.
        if _read(self.path) == self._mine:
            self.path.unlink(missing_ok=True)

    def _acquire(self) -> None:
        for _ in range(3):  # a try after each takeover of a stale (or garbled) lock
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                text = _settled_text(self.path)
                pid = _pid(text) if text is not None else None
                if pid is not None and _alive(pid):
                    raise _in_use(self.run_dir, self.flag, pid) from None
                if text is not None:
                    _take_over(self.path, text)
                continue
            with os.fdopen(fd, "w") as f:
                f.write(self._mine)
            return
        # Others took each stale lock first.
        raise _in_use(self.run_dir, self.flag, holder(self.run_dir))


def _take_over(path: Path, stale: str) -> None:
    """Remove the stale lock ``path`` if it still holds ``stale``. Two processes finding
    the same stale lock must not both remove it (the second would remove the first's new
    lock), so the check and the removal happen under a flock of the run directory."""
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if _read(path) == stale:
            path.unlink()
    finally:
        os.close(fd)  # releases the flock


def _in_use(run_dir: Path, flag: str, pid: int | None) -> MjmimicError:
    lock = run_dir / LOCK_FILE
    who = f"PID {pid}" if pid is not None else "PID unknown"
    return MjmimicError(
        f"{flag} {run_dir} is in use by another mjmimic train ({who}, {lock}); wait for it "
        f"to end or choose another {flag} (if {who} is no mjmimic run, delete {lock})"
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def _settled_text(path: Path) -> str | None:
    """The lock's text, waiting out the moment between its creation and the PID's write;
    None when there is no lock."""
    deadline = time.monotonic() + _EMPTY_GRACE_S
    text = _read(path)
    while text == "" and time.monotonic() < deadline:
        time.sleep(0.05)
        text = _read(path)
    return text


def _pid(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True
