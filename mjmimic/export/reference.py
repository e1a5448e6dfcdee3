"""The reference motion for sim2sim: an embedded clip, looked up at any time, in numpy.

Per frame, body positions and joint rotations come from MuJoCo's ``mj_kinematics`` on the
clip's pose; between frames they are interpolated as in training (docs/deploying.md):
positions by lerp, rotations by normalized lerp of sign-continuous quaternions, and a
looping ("wrap") clip repeats shifted by its root's xy displacement per cycle. Velocities
(for starting the character in motion) are central differences, lerped likewise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np

from mjmimic.errors import MjmimicError
from mjmimic.export.numpy_obs import (
    Pose,
    RobotMap,
    quat_conj,
    quat_mul,
    quat_to_exp_map,
    sign_continuous,
)


@dataclass
class ReferenceFrame:
    root_pos: np.ndarray
    root_rot: np.ndarray
    dof_pos: np.ndarray
    root_vel: np.ndarray
    root_ang_vel: np.ndarray
    dof_vel: np.ndarray
    body_pos: np.ndarray  # (B, 3)
    joint_rot: np.ndarray  # (B-1, 4)


class ReferenceMotion:
    def __init__(
        self, arrays: dict[str, np.ndarray], robot: RobotMap, name: str, where: str | None = None
    ):
        """``where`` names the clip in errors (default: ``clip 'NAME'``)."""
        self.name = name
        _check_arrays(arrays, robot.qpos_adr.size, where or f"clip '{name}'")
        self.fps = float(arrays["fps"])
        self.wraps = str(arrays["loop_mode"]) == "wrap"
        self.robot = robot
        root_pos, dof = arrays["root_pos"], np.unwrap(arrays["dof_pos"], axis=0)
        root_rot = sign_continuous(arrays["root_rot"])
        self.num_frames = root_pos.shape[0]
        self.duration = (self.num_frames - 1) / self.fps
        data = mujoco.MjData(robot.model)
        body_pos, joint_rot = [], []
        for i in range(self.num_frames):
            data.qpos[:] = robot.qpos(root_pos[i], root_rot[i], dof[i])
            mujoco.mj_kinematics(robot.model, data)
            pos, rot = robot.body_state(data)
            body_pos.append(pos)
            joint_rot.append(rot)
        d = root_pos[-1] - root_pos[0]
        self.cycle_shift = np.array([d[0], d[1], 0.0]) if self.wraps else np.zeros(3)
        fwd_ang = quat_to_exp_map(quat_mul(root_rot[1:], quat_conj(root_rot[:-1]))) * self.fps
        self._frames = {
            "root_pos": root_pos,
            "root_rot": root_rot,
            "dof_pos": dof,
            "root_vel": self._central(np.diff(root_pos, axis=0) * self.fps),
            "root_ang_vel": self._central(fwd_ang),
            "dof_vel": self._central(np.diff(dof, axis=0) * self.fps),
            "body_pos": np.stack(body_pos),
            "joint_rot": sign_continuous(np.stack(joint_rot)),
        }

    def _central(self, fwd: np.ndarray) -> np.ndarray:
        """Per-frame velocity from the forward differences on both sides; one-sided at a
        clamped clip's ends, across the cycle at a looping clip's ends."""
        vel = np.empty((fwd.shape[0] + 1, *fwd.shape[1:]))
        vel[1:-1] = 0.5 * (fwd[:-1] + fwd[1:])
        if self.wraps:
            vel[0] = vel[-1] = 0.5 * (fwd[0] + fwd[-1])
        else:
            vel[0], vel[-1] = fwd[0], fwd[-1]
        return vel

    def phase(self, t: float) -> float:
        """Fraction of the clip played at time ``t`` (the phase observation)."""
        p = t / self.duration
        return p - math.floor(p) if self.wraps else min(max(p, 0.0), 1.0)

    def frame(self, t: float) -> ReferenceFrame:
        if self.wraps:
            local, cycles = t % self.duration, math.floor(t / self.duration)
        else:
            local, cycles = min(max(t, 0.0), self.duration), 0
        x = local * self.fps
        if abs(x - round(x)) < 1e-9:  # exactly on a frame
            x = float(round(x))
        i0 = min(math.floor(x), self.num_frames - 1)
        i1 = min(i0 + 1, self.num_frames - 1)
        a = min(max(x - i0, 0.0), 1.0)
        f = self._frames

        def lerp(key: str) -> np.ndarray:
            return f[key][i0] + a * (f[key][i1] - f[key][i0])

        def nlerp(key: str) -> np.ndarray:
            q = lerp(key)
            return q / np.linalg.norm(q, axis=-1, keepdims=True)

        shift = cycles * self.cycle_shift
        return ReferenceFrame(
            root_pos=lerp("root_pos") + shift,
            root_rot=nlerp("root_rot"),
            dof_pos=lerp("dof_pos"),
            root_vel=lerp("root_vel"),
            root_ang_vel=lerp("root_ang_vel"),
            dof_vel=lerp("dof_vel"),
            body_pos=lerp("body_pos") + shift,
            joint_rot=nlerp("joint_rot"),
        )

    def pose(self, t: float) -> Pose:
        """The reference at ``t`` as an observation target."""
        fr = self.frame(t)
        return Pose(fr.root_pos, fr.root_rot, fr.joint_rot, fr.body_pos[self.robot.key_index])


CLIP_KEYS = ("fps", "loop_mode", "root_pos", "root_rot", "dof_pos")


def _check_arrays(arrays: dict[str, np.ndarray], joints: int, where: str) -> None:
    """The clip's keys, shapes and values, so a damaged or hand-made clip is one line
    instead of a KeyError, an IndexError or NaN tracking errors."""
    missing = [k for k in CLIP_KEYS if k not in arrays]
    if missing:
        raise MjmimicError(f"{where}: no {', '.join(missing)} in it")
    fps = arrays["fps"]
    if fps.shape != () or fps.dtype.kind not in "iuf" or not 0 < float(fps) < 1e6:
        raise MjmimicError(f"{where}: fps is {fps!r}, expected a positive number")
    root_pos = arrays["root_pos"]
    frames = root_pos.shape[0] if root_pos.ndim else 0
    for key, width in (("root_pos", 3), ("root_rot", 4), ("dof_pos", joints)):
        a = arrays[key]
        if a.dtype.kind not in "iuf" or a.shape != (frames, width):
            raise MjmimicError(
                f"{where}: {key} has shape {a.shape}, expected ({frames}, {width}) "
                "(frames, values per frame)"
            )
        if not np.isfinite(a).all():
            raise MjmimicError(f"{where}: {key} holds NaN or inf")
    if frames < 2:
        raise MjmimicError(f"{where}: {frames} frame(s), at least 2 needed")
    if (np.linalg.norm(arrays["root_rot"], axis=-1) < 1e-6).any():
        raise MjmimicError(f"{where}: root_rot holds zero quaternions")
