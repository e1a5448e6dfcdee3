"""Import DeepMimic ``humanoid3d_*.txt`` clips onto a z-up MJCF humanoid.

DeepMimic file: JSON ``{"Loop": "wrap" | "none", "Frames": [[dt, pose (43)], ...]}``; ``dt``
is the time to the next frame (the last one is unused). The pose is root position (3),
root quaternion (4, wxyz, world), then per joint in DeepMimic order a local quaternion
(spherical) or an angle about the joint's local +z (revolute); wrists are fixed.
DeepMimic is y-up with +z the character's right.

Conversion (verified numerically, see the reference-data notes):

* frame change ``q_c`` = +90 degrees about x: positions ``(x, y, z) -> (x, -z, y)`` and
  every quaternion ``q -> q_c q q_c^-1``, which maps its vector part the same way;
* a revolute joint's DeepMimic +z axis becomes -y, so ``angle = -theta`` on a +y hinge
  (knees, elbows);
* spherical joints are decomposed onto the robot's hinge axes
  (``dof_from_joint_rotations``) and unwrapped over time;
* the root is shifted so frame 0 has x = y = 0 (height kept); quaternions are
  renormalized; Loop "none" becomes "clamp";
* frame times are the cumulative ``dt``; fps is ``1 / median(dt)`` (rounded when within
  0.02% of an integer); clips with uneven ``dt`` are resampled to that fps (slerp for
  rotations, lerp for positions and angles).

The robot must be built like DeepMimic's humanoid: the same joint tree, joint frames
aligned with the root frame and arms hanging down in the rest pose (checked from the bone
directions, which rules out T-pose models such as MimicKit's ``humanoid.xml``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mjmimic.errors import MotionError
from mjmimic.motion.edit import lerp_at, slerp_at, snap_fps
from mjmimic.motion.formats.arrays import real_array, shown
from mjmimic.motion.motion import Motion
from mjmimic.robots.joint_coordinates import dof_from_joint_rotations, unwrap_dof_trajectory
from mjmimic.robots.model import Joint, RobotModel
from mjmimic.rotations import quat_identity


@dataclass(frozen=True)
class _DMJoint:
    name: str
    kind: str  # "spherical" | "revolute"
    parent: str  # "root" or another DeepMimic joint
    offset: tuple[float, float, float]  # attach point in the parent frame, y-up


# DeepMimic ``characters/humanoid3d.txt`` joints that carry pose numbers, in pose order.
DEEPMIMIC_JOINTS: tuple[_DMJoint, ...] = (
    _DMJoint("chest", "spherical", "root", (0.0, 0.236151, 0.0)),
    _DMJoint("neck", "spherical", "chest", (0.0, 0.223894, 0.0)),
    _DMJoint("right_hip", "spherical", "root", (0.0, 0.0, 0.084887)),
    _DMJoint("right_knee", "revolute", "right_hip", (0.0, -0.421546, 0.0)),
    _DMJoint("right_ankle", "spherical", "right_knee", (0.0, -0.40987, 0.0)),
    _DMJoint("right_shoulder", "spherical", "chest", (-0.02405, 0.2435, 0.18311)),
    _DMJoint("right_elbow", "revolute", "right_shoulder", (0.0, -0.274788, 0.0)),
    _DMJoint("left_hip", "spherical", "root", (0.0, 0.0, -0.084887)),
    _DMJoint("left_knee", "revolute", "left_hip", (0.0, -0.421546, 0.0)),
    _DMJoint("left_ankle", "spherical", "left_knee", (0.0, -0.40987, 0.0)),
    _DMJoint("left_shoulder", "spherical", "chest", (-0.02405, 0.2435, -0.18311)),
    _DMJoint("left_elbow", "revolute", "left_shoulder", (0.0, -0.274788, 0.0)),
)
POSE_SIZE = 7 + sum(4 if j.kind == "spherical" else 1 for j in DEEPMIMIC_JOINTS)  # 43

# DeepMimic joint -> robot joint name (``RobotModel.joints[i].name``).
DEFAULT_JOINT_MAP: dict[str, str] = {
    "chest": "abdomen",
    "neck": "neck",
    "right_hip": "right_hip",
    "right_knee": "right_knee",
    "right_ankle": "right_ankle",
    "right_shoulder": "right_shoulder",
    "right_elbow": "right_elbow",
    "left_hip": "left_hip",
    "left_knee": "left_knee",
    "left_ankle": "left_ankle",
    "left_shoulder": "left_shoulder",
    "left_elbow": "left_elbow",
}

_LOOP = {"wrap": "wrap", "none": "clamp", "clamp": "clamp"}
# Uneven frame times are resampled at the median dt; a few frames far apart would make
# that millions of frames (memory, minutes), so more than this many per frame read is
# refused as a broken dt column.
_MAX_RESAMPLE_GROWTH = 10
# DeepMimic revolute axis (+z, y-up) in the z-up frame.
_REVOLUTE_AXIS_ZUP = np.array([0.0, -1.0, 0.0])


def y_up_to_z_up(v: np.ndarray) -> np.ndarray:
    """DeepMimic (x fwd, y up, z right) vectors -> mjmimic (x fwd, y left, z up)."""
    return np.stack([v[..., 0], -v[..., 2], v[..., 1]], axis=-1)


def quat_y_up_to_z_up(q: np.ndarray) -> np.ndarray:
    """``q_c q q_c^-1`` with ``q_c`` = +90 degrees about x (wxyz)."""
    return np.concatenate([q[..., :1], y_up_to_z_up(q[..., 1:])], axis=-1)


def import_deepmimic_txt(
    path: str | Path, robot: RobotModel, joint_map: dict[str, str] | None = None
) -> Motion:
    """Read a DeepMimic clip as a ``Motion`` for ``robot``.

    ``joint_map`` maps DeepMimic joint names to the robot's joint names (default:
    ``DEFAULT_JOINT_MAP``, mjmimic's humanoid naming). The motion's DoFs are the mapped
    joints' DoFs in robot order, named; robot DoFs outside the map are not in the motion
    (fill them with ``Motion.align_to_robot(..., fill_missing=...)``).
    """
    path = Path(path)
    src = path.name
    jmap = dict(DEFAULT_JOINT_MAP if joint_map is None else joint_map)
    unknown = sorted(set(jmap) - {j.name for j in DEEPMIMIC_JOINTS})
    if unknown:
        raise MotionError(
            f"{src}: joint_map names DeepMimic joints that do not exist: {', '.join(unknown)} "
            f"(DeepMimic joints: {', '.join(j.name for j in DEEPMIMIC_JOINTS)})"
        )
    robot_joints = _match_robot_joints(robot, jmap, src)
    times, frames, loop = _read_file(path, src)

    root_pos = y_up_to_z_up(frames[:, 0:3])
    root_rot = _normalized(quat_y_up_to_z_up(frames[:, 3:7]), src, "root")
    local: dict[str, np.ndarray] = {}
    col = 7
    for dj in DEEPMIMIC_JOINTS:
        if dj.kind == "spherical":
            local[dj.name] = _normalized(quat_y_up_to_z_up(frames[:, col : col + 4]), src, dj.name)
            col += 4
        else:
            local[dj.name] = frames[:, col : col + 1]
            col += 1

    fps, times_out = _uniform_times(times)
    if times_out is not None:
        root_pos = lerp_at(times, root_pos, times_out)
        root_rot = slerp_at(times, root_rot, times_out)
        local = {
            n: (slerp_at(times, v, times_out) if v.shape[1] == 4 else lerp_at(times, v, times_out))
            for n, v in local.items()
        }
    num_frames = root_pos.shape[0]

    quats = quat_identity((num_frames, robot.num_bodies - 1), dtype=torch.float64)
    for dm_name, joint in robot_joints.items():
        if joint.kind != "hinge":
            quats[:, joint.body - 1] = torch.from_numpy(local[dm_name])
    dof = dof_from_joint_rotations(robot, None, quats).numpy()
    for dm_name, joint in robot_joints.items():
        if joint.kind == "hinge":
            sign = float(np.sign(joint.axes[0] @ _REVOLUTE_AXIS_ZUP))
            dof[:, joint.dof_start] = (
                sign * local[dm_name][:, 0] + robot.hinge_qpos0[joint.dof_start]
            )
    dof = unwrap_dof_trajectory(robot, dof)
    columns = sorted(
        d for j in robot_joints.values() for d in range(j.dof_start, j.dof_start + j.dof_count)
    )
    root_pos = root_pos.copy()
    root_pos[:, :2] -= root_pos[0, :2]
    return Motion(
        fps=fps,
        loop_mode=loop,  # type: ignore[arg-type]
        root_pos=root_pos,
        root_rot=root_rot,
        dof_pos=dof[:, columns],
        joint_names=[robot.dof_names[d] for d in columns],
        name=path.stem,
        source=src,
    )


# ------------------------------------------------------------------------------- helpers
def _read_file(path: Path, src: str) -> tuple[np.ndarray, np.ndarray, str]:
    if not path.is_file():
        raise MotionError(f"{src}: motion file not found at {path}")
    try:
        data = json.loads(path.read_text())
    # ValueError: not UTF-8, not JSON, or an integer past Python's 4300-digit limit.
    except (OSError, ValueError, RecursionError) as exc:
        raise MotionError(f"{src}: not a DeepMimic motion (not readable as JSON: {exc})") from None
    if not isinstance(data, dict) or "Frames" not in data:
        raise MotionError(
            f"{src}: not a DeepMimic motion (expected a JSON object with 'Loop' and 'Frames')"
        )
    loop_value = data.get("Loop", "none")  # DeepMimic's own default when the key is absent
    if not isinstance(loop_value, str) or loop_value not in _LOOP:
        raise MotionError(f"{src}: Loop must be 'wrap' or 'none', found {shown(loop_value)}")
    frames = real_array(data["Frames"], "Frames", src)
    if frames.ndim != 2 or frames.shape[1] != 1 + POSE_SIZE:
        found = frames.shape[1] if frames.ndim == 2 else f"shape {frames.shape}"
        raise MotionError(
            f"{src}: DeepMimic humanoid3d frames have {1 + POSE_SIZE} numbers (dt + 43 pose "
            f"values), found {found}; only the humanoid3d character is supported"
        )
    if frames.shape[0] < 2:
        raise MotionError(f"{src}: a motion needs at least 2 frames, found {frames.shape[0]}")
    if not np.isfinite(frames).all():
        raise MotionError(f"{src}: Frames contain NaN or infinite values")
    dt = frames[:-1, 0]
    if (dt <= 0).any():
        bad = int(np.nonzero(dt <= 0)[0][0])
        raise MotionError(
            f"{src}: frame {bad} has dt = {dt[bad]}; every frame but the last needs dt > 0"
        )
    times = np.concatenate([[0.0], np.cumsum(dt)])
    median = float(np.median(dt))
    if not (np.isfinite(times[-1]) and np.isfinite(1.0 / median)):
        raise MotionError(
            f"{src}: frame dt values (median {median:g} s, total {times[-1]:g} s) give no usable "
            "frame rate; fix the dt column"
        )
    if times[-1] / median > _MAX_RESAMPLE_GROWTH * len(times):
        raise MotionError(
            f"{src}: frame dt values are too uneven to resample (median {median:g} s, but "
            f"{len(times)} frames span {times[-1]:g} s); fix the dt column"
        )
    return times, frames[:, 1:], _LOOP[loop_value]


def _match_robot_joints(robot: RobotModel, jmap: dict[str, str], src: str) -> dict[str, Joint]:
    """DeepMimic joint -> robot Joint; checks kinds, tree and rest-pose bone directions."""
    robot_file = Path(robot.source).name
    by_name = {j.name: j for j in robot.joints}
    missing = [f"{r} (for DeepMimic {d})" for d, r in jmap.items() if r not in by_name]
    if missing:
        raise MotionError(
            f"{src}: robot {robot_file} has no joint {', '.join(missing)}; its joints are "
            f"{', '.join(j.name for j in robot.joints if j.dof_count)}; pass a joint_map"
        )
    dm = {j.name: j for j in DEEPMIMIC_JOINTS}
    out: dict[str, Joint] = {}
    for dm_name, robot_name in jmap.items():
        joint = by_name[robot_name]
        want = ("spherical", "ball") if dm[dm_name].kind == "spherical" else ("hinge",)
        if joint.kind not in want:
            raise MotionError(
                f"{src}: DeepMimic {dm[dm_name].kind} joint {dm_name} maps to robot joint "
                f"{robot_name}, which is a {joint.kind} joint in {robot_file}; it must be "
                f"{' or '.join(want)}"
            )
        if joint.kind == "hinge" and abs(joint.axes[0] @ _REVOLUTE_AXIS_ZUP) < 0.999:
            raise MotionError(
                f"{src}: robot joint {robot_name} in {robot_file} turns about "
                f"{np.round(joint.axes[0], 3).tolist()}, but DeepMimic's {dm_name} turns about "
                "the y axis (z-up); the robot's rest pose must match DeepMimic's"
            )
        out[dm_name] = joint
    for dm_name, joint in out.items():
        dj = dm[dm_name]
        body = joint.body
        parent_body = (
            0 if dj.parent == "root" else out[dj.parent].body if dj.parent in out else None
        )
        if parent_body is not None and robot.parents[body] != parent_body:
            raise MotionError(
                f"{src}: in {robot_file}, the body of joint {joint.name} "
                f"({robot.body_names[body]}) is not a child of "
                f"{robot.body_names[parent_body]}, unlike DeepMimic's {dm_name} "
                f"(child of {dj.parent}); the joint tree must match DeepMimic's"
            )
        if not np.allclose(np.abs(robot.body_local_quat[body]), [1, 0, 0, 0], atol=1e-6):
            raise MotionError(
                f"{src}: body {robot.body_names[body]} in {robot_file} is rotated against its "
                "parent; DeepMimic import needs joint frames aligned with the root frame"
            )
        offset = robot.body_local_pos[body] + joint.anchors[0]  # joint position
        expected = y_up_to_z_up(np.array(dj.offset))
        cos = offset @ expected / max(np.linalg.norm(offset) * np.linalg.norm(expected), 1e-12)
        if np.linalg.norm(offset) > 1e-3 and cos < 0.95:
            raise MotionError(
                f"{src}: in {robot_file}, joint {joint.name} sits at "
                f"{np.round(offset, 3).tolist()} from its parent, but DeepMimic's {dm_name} is "
                f"at {np.round(expected, 3).tolist()} (z-up): the robot's rest pose differs "
                "from DeepMimic's (arms down, joint frames aligned with the root), e.g. a "
                "T-pose model"
            )
    return out


def _normalized(q: np.ndarray, src: str, what: str) -> np.ndarray:
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    bad = ~(norm[:, 0] >= 1e-6) | ~np.isfinite(norm[:, 0])  # zero, or overflowing to inf
    if bad.any():
        frame = int(np.nonzero(bad)[0][0])
        raise MotionError(f"{src}: {what} quaternion is zero or too large at frame {frame}")
    return q / norm


def _uniform_times(times: np.ndarray) -> tuple[float, np.ndarray | None]:
    """fps from the median dt; the new frame times if the clip must be resampled."""
    dt = np.diff(times)
    median = float(np.median(dt))
    fps = snap_fps(1.0 / median)
    if np.all(np.abs(dt - median) <= 1e-3 * median):
        return fps, None
    count = round(times[-1] * fps) + 1
    return fps, np.minimum(np.arange(count) / fps, times[-1])
