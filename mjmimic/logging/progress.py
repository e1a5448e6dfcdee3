"""The one-line live progress display."""

from __future__ import annotations

import sys


class ProgressLine:
    """Rewrites one terminal line per iteration (a plain line per call when not a TTY)."""

    def __init__(self, max_samples: int, stream=sys.stdout):
        self.max_samples = max_samples
        self.stream = stream
        self._tty = stream.isatty()

    def update(
        self,
        iteration: int,
        samples: int,
        samples_per_s: float,
        elapsed_s: float,
        test_return: float | None,
        extra: str = "",
    ) -> None:
        remaining = max(self.max_samples - samples, 0)
        eta = remaining / samples_per_s if samples_per_s > 0 else float("inf")
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
    if seconds == float("inf"):
        return "  --:--:--"
    seconds = int(seconds)
    return f"{seconds // 3600:4d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
