"""The one-line live progress display."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable

# An ETA beyond this is no estimate (e.g. the default --max_samples 2**62 and no --max_time).
_MAX_ETA_S = 9999 * 3600.0


class ProgressLine:
    """Rewrites one terminal line per iteration (a plain line per call when not a TTY).

    The ETA is the sooner of the two budgets: the samples left at the current rate, and,
    with ``max_seconds`` (``--max_time``), the wall-clock time left of this session, counted
    from when the ProgressLine was made. ``stream`` defaults to ``sys.stdout`` as it is when
    the line is made (so redirections and pytest's capture see it).
    """

    def __init__(
        self,
        max_samples: int,
        stream=None,
        max_seconds: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.max_samples = max_samples
        self.max_seconds = max_seconds
        self.stream = sys.stdout if stream is None else stream
        self._clock = clock
        self._start = clock()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def eta(self, samples: int, samples_per_s: float) -> float:
        """Seconds until the first budget runs out (``inf`` when unknown)."""
        remaining = max(self.max_samples - samples, 0)
        eta = remaining / samples_per_s if samples_per_s > 0 else math.inf
        if self.max_seconds is not None:
            eta = min(eta, max(self.max_seconds - (self._clock() - self._start), 0.0))
        return eta

    def update(
        self,
        iteration: int,
        samples: int,
        samples_per_s: float,
        elapsed_s: float,
        test_return: float | None,
        extra: str = "",
    ) -> None:
        eta = self.eta(samples, samples_per_s)
        test = "    -   " if test_return is None else f"{test_return:8.3f}"
        line = (
            f"iter {iteration:6d} | samples {samples:>11,d} | {samples_per_s:7.0f} samples/s | "
            f"elapsed {_hms(elapsed_s)} | ETA {_hms(eta)} | test return {test}{extra}"
        )
        if self._tty:
            self.stream.write("\r" + line + "\x1b[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()


def _hms(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds > _MAX_ETA_S:
        return "  --:--:--"
    seconds = int(seconds)
    return f"{seconds // 3600:4d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
