"""Videos: the policy beside its reference (``mjmimic test --video out.mp4``), and a motion
clip on its robot (``mjmimic motion render``, ``write_motion_video``).

The env runs the deterministic policy; after every control step one frame shows env
``env_index``'s simulated character and, translucent, the reference pose at the same
motion time drawn the task's ``ghost_offset`` away (overlaid when the offset is zero; a
task without a reference, ``ReferenceGhost``, is drawn alone),
seen by a camera that follows the character. Envs that finish an episode are reset and
the video goes on. Frames are written at the control rate (``1 / env.dt``) unless
``fps`` asks for another rate (frames are then repeated or skipped, in real time).
"""

from __future__ import annotations

from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import torch

from mjmimic.envs.capabilities import ReferenceGhost, TrackingMetrics, capability, require
from mjmimic.errors import MjmimicError
from mjmimic.motion.motion import Motion
from mjmimic.paths import atomic_output
from mjmimic.render.offscreen import RobotView
from mjmimic.robots.kinematics import Kinematics
from mjmimic.robots.model import RobotModel

VIDEO_SUFFIXES = (".mp4", ".gif")


def record_policy_video(
    env,
    agent,
    path: Path,
    seconds: float = 5.0,
    env_index: int = 0,
    fps: int | None = None,
    width: int = 640,
    height: int = 480,
    marker_threshold: float | None = None,
) -> Path:
    """Run ``agent`` deterministically in ``env`` (reset first) for ``seconds`` and write
    an .mp4 (H.264) or .gif of env ``env_index`` beside its reference. Returns ``path``.

    With ``marker_threshold`` (m), each tracked key body (``env.tracked_body_names``) whose
    error relative to the root (``info["tracking"]["body_pos_err"]``) is above it is marked
    with a red sphere on the policy's character in that frame."""
    path = Path(path)
    _check_video_path(path, width, height)
    if not seconds > 0:
        raise MjmimicError(f"video length must be positive, got {seconds} s")
    if not 0 <= env_index < env.num_envs:
        raise MjmimicError(f"video env index {env_index} is not in 0..{env.num_envs - 1}")
    control_rate = 1.0 / env.dt
    rate = float(fps) if fps is not None else control_rate
    if not rate > 0:
        raise MjmimicError(f"video fps must be positive, got {fps}")
    num_frames = max(1, round(seconds * rate))

    ghost = capability(env, ReferenceGhost)
    show_ghost = ghost is not None and ghost.show_ghost
    offset = np.asarray(ghost.ghost_offset if ghost else [0.0, 0.0, 0.0], dtype=np.float64)
    tracking = None
    if marker_threshold is not None:
        tracking = require(env, TrackingMetrics, "marking bodies over the error threshold")
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = bool(getattr(agent, "training", False))
    agent.eval_mode()
    if tracking is not None:
        tracking.set_tracking(True)
    try:
        with RobotView(
            env.robot.source, width, height, ghost=show_ghost, ghost_offset=offset.tolist()
        ) as view:
            writer = open_video_writer(path, rate)
            finished = False
            try:
                obs = env.reset()
                steps = 0
                marked: list[str] = []
                for k in range(num_frames):
                    # Frame k shows time k / rate: step the env up to there.
                    while steps < round(k * control_rate / rate):
                        obs, marked = _step(env, agent, obs, env_index, marker_threshold)
                        steps += 1
                    view.set_markers(marked)
                    view.set_pose(
                        env.engine.physics_state()[0][env_index].cpu().numpy(),
                        _ghost_qpos(ghost, env_index, offset) if show_ghost else None,
                    )
                    writer.append_data(view.render())
                finished = True
            finally:
                writer.close()
                if not finished:
                    path.unlink(missing_ok=True)
    finally:
        if tracking is not None:
            tracking.set_tracking(False)
        if was_training:
            agent.train_mode()
    return path


def motion_qpos(motion: Motion, robot: RobotModel) -> np.ndarray:
    """The clip's frames as (T, nq) qpos rows in the robot file's layout (``motion`` aligned
    to ``robot``): root position, root quaternion, then each joint's coordinates."""
    kin = Kinematics(robot, dtype=torch.float64)
    joints = kin.dof_to_qpos(torch.as_tensor(motion.dof_pos, dtype=torch.float64)).numpy()
    return np.concatenate([motion.root_pos, motion.root_rot, joints], axis=1)


def write_motion_video(
    motion: Motion, robot: RobotModel, path: Path, width: int = 640, height: int = 480
) -> Path:
    """One video frame per clip frame, at the clip's fps, the camera following the root:
    ``mjmimic motion render``. ``motion`` must be aligned to ``robot``. The file appears
    only when complete (``atomic_output``)."""
    return write_qpos_video(
        robot.source, motion_qpos(motion, robot), path, motion.fps, width, height
    )


def write_qpos_video(
    robot_file: str | Path,
    qpos: np.ndarray,
    path: Path,
    fps: float,
    width: int = 640,
    height: int = 480,
) -> Path:
    """One frame per row of ``qpos`` (T, nq; the robot file's layout), camera following the
    root; written atomically. Used for clips and for saved physics states."""
    path = Path(path)
    _check_video_path(path, width, height)
    with atomic_output(path) as tmp, RobotView(robot_file, width, height) as view:
        frames = view.check_frames(qpos)
        writer = open_video_writer(tmp, fps)
        try:
            for q in frames:
                view.set_pose(q)
                writer.append_data(view.render())
        finally:
            writer.close()
    return path


def write_side_by_side_video(
    left: tuple[Motion, RobotModel],
    right: tuple[Motion, RobotModel],
    path: Path,
    width: int = 640,
    height: int = 480,
) -> Path:
    """Two clips of equal length side by side (e.g. a retargeting source | the robot),
    each ``width`` x ``height`` with its own camera following its root; ``left``'s fps."""
    path = Path(path)
    _check_video_path(path, 2 * width, height)
    if left[0].num_frames != right[0].num_frames:
        raise ValueError("side-by-side clips need the same number of frames")

    frames = [motion_qpos(*left), motion_qpos(*right)]
    with (
        atomic_output(path) as tmp,
        RobotView(left[1].source, width, height) as view_left,
        RobotView(right[1].source, width, height) as view_right,
    ):
        writer = open_video_writer(tmp, left[0].fps)
        try:
            for q_left, q_right in zip(*frames, strict=True):
                view_left.set_pose(q_left)
                image = view_left.render().copy()
                view_right.set_pose(q_right)
                writer.append_data(np.concatenate([image, view_right.render()], axis=1))
        finally:
            writer.close()
    return path


def _check_video_path(path: Path, width: int, height: int) -> None:
    """A video name ends in .mp4 or .gif; H.264 needs even frame sizes."""
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise MjmimicError(
            f"video file {path}: unknown type '{path.suffix}'; use a name ending in "
            + " or ".join(VIDEO_SUFFIXES)
        )
    if suffix == ".mp4" and (width % 2 or height % 2):
        raise MjmimicError(f"video size {width}x{height}: an .mp4 needs an even width and height")


def _step(
    env, agent, obs: torch.Tensor, env_index: int = 0, threshold: float | None = None
) -> tuple[torch.Tensor, list[str]]:
    """One control step; also the tracked bodies of env ``env_index`` whose error is above
    ``threshold`` (none without one, or when that env's episode just ended)."""
    action = agent.act(obs.to(agent.device)).to(env.device)  # the agent may be on a GPU
    obs, _, done, info = env.step(action)
    marked: list[str] = []
    if threshold is not None and not bool(done[env_index]):
        errors = info["tracking"]["body_pos_err"][env_index].tolist()
        marked = [n for n, e in zip(env.tracked_body_names, errors, strict=True) if e > threshold]
    done_ids = torch.nonzero(done).flatten()
    if done_ids.numel():
        obs = env.reset(done_ids)
    return obs, marked


def _ghost_qpos(ghost: ReferenceGhost, i: int, offset: np.ndarray) -> np.ndarray:
    """MuJoCo qpos of env ``i``'s reference pose now, moved by ``offset``."""
    qpos = ghost.ghost_qpos(i)
    qpos[:3] += offset
    return qpos


def open_video_writer(path: Path, fps: float):
    """An imageio writer for an .mp4 (H.264) or a looping .gif at ``fps`` frames/s."""
    if path.suffix.lower() == ".gif":
        return imageio.get_writer(path, mode="I", duration=1000.0 / fps, loop=0)
    return imageio.get_writer(
        path,
        fps=fps,
        codec="libx264",
        quality=7,
        macro_block_size=1,
        ffmpeg_log_level="error",
    )
