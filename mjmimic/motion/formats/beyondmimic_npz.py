"""BeyondMimic / mjlab-style ``.npz`` motions (``g1_holosoma`` in the reference data).

Keys (plain arrays, loaded without pickle):

* ``fps`` (scalar or (1,));
* ``joint_pos``: either the full MuJoCo qpos (T, 7 + J) (root xyz, root quat **wxyz**,
  joints; holosoma) or the joints only (T, J) (whole_body_tracking), then the root pose is
  the robot root body's row of ``body_pos_w`` / ``body_quat_w``;
* ``joint_vel`` (T, J or 6 + J; ignored), ``body_pos_w`` (T, B, 3), ``body_quat_w`` (T, B, 4) wxyz,
  ``body_lin_vel_w``, ``body_ang_vel_w`` (T, B, 3): world frame;
* ``joint_names`` (J,), ``body_names`` (B,): when present.

Reading needs the robot. Joints are mapped to its DoFs **by name**; a joint the robot lacks
or a robot DoF the file lacks is an error listing both. Bodies are not remapped: the
robot's bodies must appear among ``body_names`` in the robot's order (a leading ``world``
and extra bodies of a richer model of the same robot, such as contact spheres, are
allowed), and forward kinematics of the robot must reproduce the file's body positions
within ``BODY_TOLERANCE``, otherwise the clip was made for another model. Velocities and
body poses are not kept: mjmimic derives them from the poses (``MotionLib``).

Writing expands a clip with the robot's forward kinematics: every key above, with the
full qpos as ``joint_pos``, ``joint_vel`` = root linear and angular velocity (world
frame, as in the reference files) and DoF velocities, the robot's bodies (no
``world``) and the velocities ``MotionLib`` uses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mjmimic.errors import MotionError
from mjmimic.motion.formats.arrays import names, real_array, real_scalar
from mjmimic.motion.library import clip_frame_states
from mjmimic.motion.motion import Motion
from mjmimic.robots.kinematics import Kinematics
from mjmimic.robots.model import RobotModel

KEYS = ("fps", "joint_pos", "joint_vel", "body_pos_w", "body_quat_w")
# FK of the robot vs the file's body positions: beyond this the clip is for another model.
# Two MJCFs of the same G1 differ by 9 mm at the torso (reference-data notes).
BODY_TOLERANCE = 0.05  # m


def is_beyondmimic_npz(keys: set[str]) -> bool:
    return set(KEYS) <= keys


def read_beyondmimic_npz(path: Path, arrays: dict[str, np.ndarray], robot: RobotModel) -> Motion:
    src = path.name
    robot_file = Path(robot.source).name
    if robot.has_ball_joints:
        raise MotionError(
            f"{src}: robot {robot_file} has ball joints; BeyondMimic npz maps hinge joints "
            "only: use a robot built from hinges"
        )
    fps = real_scalar(arrays["fps"], "fps", src)
    joint_pos = real_array(arrays["joint_pos"], "joint_pos", src)
    joint_names = _names(arrays, "joint_names", src)
    j = len(joint_names) if joint_names is not None else robot.num_dofs
    if joint_pos.ndim != 2 or joint_pos.shape[1] not in (j, j + 7):
        raise MotionError(
            f"{src}: joint_pos has shape {joint_pos.shape}, expected (T, {j}) joints or "
            f"(T, {j + 7}) full qpos"
        )
    body_pos = real_array(arrays["body_pos_w"], "body_pos_w", src)
    body_quat = real_array(arrays["body_quat_w"], "body_quat_w", src)
    if not np.isfinite(body_pos).all():
        raise MotionError(f"{src}: body_pos_w has NaN or infinite values")
    t = joint_pos.shape[0]
    if body_pos.ndim != 3 or body_pos.shape[0] != t or body_pos.shape[2] != 3:
        raise MotionError(f"{src}: body_pos_w must be ({t}, B, 3), found {body_pos.shape}")
    if body_quat.shape != (*body_pos.shape[:2], 4):
        raise MotionError(
            f"{src}: body_quat_w must be {(*body_pos.shape[:2], 4)}, found {body_quat.shape}"
        )
    rows = _robot_body_rows(arrays, body_pos.shape[1], robot, src)
    if joint_pos.shape[1] == j + 7:
        root_pos, root_rot, joints = joint_pos[:, :3], joint_pos[:, 3:7], joint_pos[:, 7:]
    else:
        root_pos, root_rot, joints = body_pos[:, rows[0]], body_quat[:, rows[0]], joint_pos
    motion = Motion(
        fps=fps,
        loop_mode="clamp",
        root_pos=root_pos,
        root_rot=root_rot,
        dof_pos=joints,
        joint_names=joint_names,
        name=path.stem,
        source=src,
    )
    motion = motion.align_to_robot(robot, src)
    _check_bodies(motion, robot, body_pos[:, rows], src)
    return motion


def write_beyondmimic_npz(motion: Motion, robot: RobotModel, path: Path) -> None:
    """``motion`` must be aligned to ``robot`` (``Motion.align_to_robot``)."""
    kin = Kinematics(robot, dtype=torch.float64)
    states = clip_frame_states(motion, robot)
    s = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in states.items()}
    body_pos, body_quat = kin.forward_kinematics(s["pos"], s["rot"], s["dof"])
    lin, ang = kin.body_velocities(
        body_pos, body_quat, s["lin_vel"], s["ang_vel"], s["dof"], s["dof_vel"]
    )
    np.savez_compressed(
        path,
        fps=np.array([motion.fps]),
        joint_pos=torch.cat([s["pos"], s["rot"], s["dof"]], dim=1).numpy(),
        # Root velocities in the world frame, as the reference files store them (MuJoCo's
        # own qvel has the angular part in the root frame).
        joint_vel=torch.cat([s["lin_vel"], s["ang_vel"], s["dof_vel"]], dim=1).numpy(),
        body_pos_w=body_pos.numpy(),
        body_quat_w=body_quat.numpy(),
        body_lin_vel_w=lin.numpy(),
        body_ang_vel_w=ang.numpy(),
        joint_names=np.array(robot.dof_names, dtype=np.str_),
        body_names=np.array(robot.body_names, dtype=np.str_),
    )


def _names(arrays: dict[str, np.ndarray], key: str, src: str) -> list[str] | None:
    return names(arrays[key], key, src) if key in arrays else None


def _robot_body_rows(
    arrays: dict[str, np.ndarray], count: int, robot: RobotModel, src: str
) -> list[int]:
    """Row of each robot body in the file's body arrays; refuses any remapping."""
    body_names = _names(arrays, "body_names", src)
    if body_names is None:
        if count != robot.num_bodies:
            raise MotionError(
                f"{src}: {count} bodies in body_pos_w but robot {Path(robot.source).name} has "
                f"{robot.num_bodies}, and the file has no body_names to match them"
            )
        return list(range(count))
    missing = [b for b in robot.body_names if b not in body_names]
    if missing:
        raise MotionError(
            f"{src}: bodies of robot {Path(robot.source).name} missing from body_names: "
            f"{', '.join(missing)}; use the robot the clip was made for"
        )
    rows = [body_names.index(b) for b in robot.body_names]
    if rows != sorted(rows):
        swapped = [
            f"{robot.body_names[i]} before {robot.body_names[i - 1]}"
            for i in range(1, len(rows))
            if rows[i] < rows[i - 1]
        ]
        raise MotionError(
            f"{src}: body order differs from robot {Path(robot.source).name} (file has "
            f"{', '.join(swapped)}); bodies are not remapped: use the robot the clip was made for"
        )
    return rows


def _check_bodies(motion: Motion, robot: RobotModel, file_pos: np.ndarray, src: str) -> None:
    kin = Kinematics(robot, dtype=torch.float64)
    pos, _ = kin.forward_kinematics(
        torch.as_tensor(motion.root_pos),
        torch.as_tensor(motion.root_rot),
        torch.as_tensor(motion.dof_pos),
    )
    err = np.linalg.norm(pos.numpy() - file_pos, axis=-1).max(axis=0)
    worst = int(err.argmax())
    if err[worst] > BODY_TOLERANCE:
        raise MotionError(
            f"{src}: robot {Path(robot.source).name} puts body {robot.body_names[worst]} up to "
            f"{err[worst]:.3f} m from the file's body_pos_w (tolerance {BODY_TOLERANCE} m): "
            "the clip was made for a different model; use that robot"
        )
