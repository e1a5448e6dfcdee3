"""Headless rendering: offscreen images of robots, videos of a policy beside its
reference motion and of a motion clip alone."""

from mjmimic.render.offscreen import RobotView, render_motion_frames
from mjmimic.render.video import record_policy_video, write_motion_video

__all__ = ["RobotView", "record_policy_video", "render_motion_frames", "write_motion_video"]
