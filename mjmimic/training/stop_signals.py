"""Ctrl-C (SIGINT) and SIGTERM during training: finish the iteration, save, stop.

A first signal only sets ``received``; the loop ends after the iteration in progress,
writes ``model.pt`` and ``checkpoint.pt`` (skipping the test episodes, so the stop is
quick) and the command says how to ``--resume``. A second signal interrupts at once
(``KeyboardInterrupt``), leaving the last checkpoint as it was: checkpoints are written
atomically, so a run is never left with a half-written one, and ``--resume`` cuts the
log rows written after it (``Trainer._cut_to_checkpoint``), as after ``kill -9``.

Signal handlers can only be installed from the main thread; elsewhere (a trainer driven
from a worker thread) this does nothing and signals keep their usual effect. A signal the
process ignores (``nohup``, a shell's background job ignoring SIGINT) stays ignored.
"""

from __future__ import annotations

import signal
import sys
import threading

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    def __init__(self) -> None:
        self.received: str | None = None  # "SIGINT" / "SIGTERM" once one arrived
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in _SIGNALS:
                if signal.getsignal(sig) is not signal.SIG_IGN:
                    self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame) -> None:
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = signal.Signals(signum).name
        print(
            f"\nmjmimic: {self.received}: finishing this iteration and saving the checkpoint "
            "(send it again to stop at once)",
            file=sys.stderr,
            flush=True,
        )
