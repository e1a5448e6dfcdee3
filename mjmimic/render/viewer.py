"""Interactive playback of a motion clip on its robot (``mjmimic motion view``).

MuJoCo's own viewer window (``mujoco.viewer.launch_passive``) shows the same view model as
the offscreen videos (the robot alone on a plain floor, no physics: poses are set through
``qpos`` and ``mj_kinematics``), the camera tracking the root. The clip plays in real time
and starts over at its end, until the window is closed or ``seconds`` have passed.

The window needs a display. On a headless Linux machine (neither ``DISPLAY`` nor
``WAYLAND_DISPLAY`` set) this is a one-line error that points at ``motion render``; on
macOS MuJoCo requires the script to run under ``mjpython``, and says so.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import numpy as np

from mjmimic.errors import MjmimicError
from mjmimic.motion.motion import Motion
from mjmimic.render.offscreen import CHAR_PREFIX, build_view_model
from mjmimic.render.video import motion_qpos
from mjmimic.robots.model import RobotModel

# A clamp clip holds its last pose this long before it starts over.
CLAMP_HOLD_S = 0.5


def display_available() -> bool:
    """Whether a window can be opened: on Linux a ``DISPLAY`` or ``WAYLAND_DISPLAY``."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def playback_frame(elapsed: float, fps: float, num_frames: int, loop_mode: str) -> int:
    """The clip frame shown ``elapsed`` seconds into playback. A wrap clip's last frame is
    the next cycle's first pose, so a cycle is ``num_frames - 1`` frames long; a clamp clip
    holds its last frame for ``CLAMP_HOLD_S`` before starting over."""
    if num_frames <= 1:
        return 0
    if loop_mode == "wrap":
        return int(elapsed * fps) % (num_frames - 1)
    cycle = (num_frames - 1) / fps + CLAMP_HOLD_S
    return min(int((elapsed % cycle) * fps), num_frames - 1)


def view_motion(motion: Motion, robot: RobotModel, seconds: float | None = None) -> int:
    """Play ``motion`` (aligned to ``robot``) in a viewer window; returns the number of
    frames shown. ``seconds`` closes the window after that long (None: when the user does)."""
    if not display_available():
        raise MjmimicError(
            "motion view needs a display (neither DISPLAY nor WAYLAND_DISPLAY is set); on a "
            "headless machine write a video instead: mjmimic motion render FILE --robot "
            "ROBOT -o clip.mp4"
        )
    import mujoco.viewer  # GLFW: only when a window is wanted

    model, char_qpos, _, _ = build_view_model(robot.source, ghost=False, width=640, height=480)
    data = mujoco.MjData(model)
    frames = motion_qpos(motion, robot)
    root_body = model.body(CHAR_PREFIX + robot.body_names[0]).id
    before = set(threading.enumerate())
    try:
        viewer = mujoco.viewer.launch_passive(model, data, show_left_ui=False)
    except (RuntimeError, mujoco.FatalError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MjmimicError(f"motion view: cannot open the viewer window: {reason}") from None
    # The window lives in a daemon thread of the viewer's; it is not exposed, so find it.
    window_threads = set(threading.enumerate()) - before
    shown = 0
    try:
        viewer.cam.type = mujoco.mjtCamera.mjCAMERA_TRACKING
        viewer.cam.trackbodyid = root_body
        viewer.cam.distance = 3.0
        viewer.cam.elevation = -15.0
        start = time.monotonic()
        while viewer.is_running():
            elapsed = time.monotonic() - start
            if seconds is not None and elapsed >= seconds:
                break
            index = playback_frame(elapsed, motion.fps, motion.num_frames, motion.loop_mode)
            with viewer.lock():
                data.qpos[char_qpos] = frames[index]
                mujoco.mj_kinematics(model, data)
            viewer.sync()
            shown += 1
            # Wake at the next frame boundary: no busy loop, no skipped frames.
            time.sleep(max(0.0, (np.floor(elapsed * motion.fps) + 1) / motion.fps - elapsed))
    finally:
        viewer.close()
        # close() only asks the window's thread to stop. Exiting while it still renders
        # kills it mid-frame, which crashes GL drivers (seen with Mesa under Xvfb): wait.
        for thread in window_threads:
            thread.join(timeout=10.0)
    return shown
