"""Headless rendering: offscreen images of robots and videos of a policy beside its
reference motion."""

from mjmimic.render.offscreen import RobotView, render_motion_frames
from mjmimic.render.video import record_policy_video

__all__ = ["RobotView", "record_policy_video", "render_motion_frames"]
