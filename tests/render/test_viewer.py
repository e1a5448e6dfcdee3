"""``mjmimic motion view``: playback timing, the headless error, a real window under Xvfb."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from mjmimic.cli.main import main
from mjmimic.paths import ASSETS_DIR
from mjmimic.render.viewer import CLAMP_HOLD_S, playback_frame

SQUAT = ASSETS_DIR / "motions" / "humanoid_squat.npz"


def test_wrap_playback_skips_the_duplicate_last_frame():
    # 5 frames at 10 fps: frame 4 is frame 0 of the next cycle, so a cycle is 0.4 s.
    shown = [playback_frame(t / 10 + 0.01, 10.0, 5, "wrap") for t in range(10)]
    assert shown == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]


def test_clamp_playback_holds_the_last_frame_then_starts_over():
    assert playback_frame(0.0, 10.0, 5, "clamp") == 0
    assert playback_frame(0.41, 10.0, 5, "clamp") == 4
    assert playback_frame(0.4 + CLAMP_HOLD_S - 0.01, 10.0, 5, "clamp") == 4
    assert playback_frame(0.4 + CLAMP_HOLD_S + 0.01, 10.0, 5, "clamp") == 0
    assert playback_frame(3.0, 30.0, 1, "clamp") == 0


def test_without_a_display_it_is_one_line_pointing_at_render(capsys, monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    code = main(["motion", "view", str(SQUAT), "--robot", "humanoid"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "needs a display" in err and "mjmimic motion render" in err


def test_bad_seconds_is_a_flag_error(capsys, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")
    code = main(["motion", "view", str(SQUAT), "--robot", "humanoid", "--seconds", "0"])
    assert code == 2 and "--seconds must be positive" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs Xvfb (apt-get install xvfb)")
def test_plays_in_a_real_window_under_xvfb():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MUJOCO_GL")}
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 800x600x24", sys.executable, "-m", "mjmimic"]
    cmd += ["motion", "view", str(SQUAT), "--robot", "humanoid", "--seconds", "1.5"]
    # Three runs: closing the window raced with its render thread (a crash at exit one
    # time in a few) until view_motion waited for that thread.
    for _ in range(3):
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
    shown = int(re.search(r"showed (\d+) frames of humanoid_squat", result.stdout).group(1))
    # Real time at 30 fps: ~45 frames in 1.5 s (fewer on a loaded machine, never more).
    assert 5 <= shown <= 47
