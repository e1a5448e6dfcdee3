"""``MotionLib``: a set of clips as flat torch tensors, queried in batches every env step.

All clips' frames are concatenated (``_start[c]`` is clip c's first row), so a query for
N envs is a few gathers and element-wise ops, with no Python loop over envs or clips.

Lookup of clip c at time t (seconds):

* phase: WRAP -> ``t mod duration``; CLAMP -> ``t`` clamped to [0, duration];
* ``x = phase * fps``, ``i0 = floor(x)``, ``i1 = min(i0 + 1, T - 1)``, ``alpha = x - i0``;
* root position: lerp, plus ``floor(t / duration) * delta`` for WRAP clips, where delta is
  the clip's last-minus-first root position with z zeroed (negative t gives negative
  cycles); root rotation: normalized lerp (``_nlerp``, the slerp arc at slightly
  different speed); DoFs: lerp.

DoF trajectories are unwrapped when the library is built (``unwrap_dof_trajectory``), so
lerp never crosses a +-pi jump. For a spherical joint made of 3 hinges, lerping its Euler
angles is not a slerp of the joint rotation (it is the path MuJoCo takes when the hinges
move at constant speed). Both paths join the same two frames and differ by a fraction of
the rotation between them: on the DeepMimic clips imported onto the AMP humanoid, at most
25% of it (near gimbal lock, crawl) and under 10% elsewhere, i.e. below 1 degree on walk,
run and jump. Ball joints are lerped as exp-maps, which is equally close.

Velocities (unlike MimicKit, which returns frame i0's forward difference):

* per frame, central differences: ``v_i = (p_{i+1} - p_{i-1}) / (2 dt)``; root angular
  velocity (world frame) is the mean of the two one-sided ``log(q_{i+1} q_i^-1) / dt``;
  ball-joint DoF velocity is the child-frame angular velocity (MuJoCo's ``qvel``);
* at the ends, CLAMP clips use one-sided differences; WRAP clips use the mean of the
  first forward and last backward difference at both frame 0 and frame T-1 (the same
  state, one cycle apart), so velocity is continuous across the wrap;
* the per-frame velocities are lerped with the same ``alpha`` as the positions.

Integrating the returned velocity over a clip reproduces its displacement exactly (the
trapezoid sums of central differences telescope).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mjmimic.errors import MotionError
from mjmimic.motion.motion import Motion
from mjmimic.robots.joint_coordinates import unwrap_dof_trajectory
from mjmimic.robots.kinematics import Kinematics
from mjmimic.robots.model import RobotModel
from mjmimic.rotations import (
    exp_map_to_quat,
    quat_conjugate,
    quat_mul,
    quat_to_exp_map,
)

LOOP_CLAMP = 0
LOOP_WRAP = 1


@dataclass
class MotionState:
    """Reference state of N queries; world frame, robot DoF order."""

    root_pos: torch.Tensor  # (N, 3)
    root_rot: torch.Tensor  # (N, 4) wxyz
    dof_pos: torch.Tensor  # (N, D)
    root_lin_vel: torch.Tensor  # (N, 3) world
    root_ang_vel: torch.Tensor  # (N, 3) world
    dof_vel: torch.Tensor  # (N, D)
    body_pos: torch.Tensor | None = None  # (N, B, 3) world, when built with kinematics
    joint_rot: torch.Tensor | None = None  # (N, B-1, 4) local joint rotations, likewise


class MotionLib:
    """Clips for one robot, with weighted clip sampling and batched state lookup."""

    def __init__(
        self,
        motions: list[Motion],
        weights: list[float] | None,
        robot: RobotModel,
        device: str | torch.device = "cpu",
        kinematics: Kinematics | None = None,
        dtype: torch.dtype = torch.float32,
    ):
        """With ``kinematics``, every frame's body positions and joint rotations are
        computed once here, and ``get_state`` interpolates them (lerp / slerp) instead of
        running FK on the reference every env step."""
        if not motions:
            raise MotionError("motion library: no motion clips given; list at least one clip")
        self.robot = robot
        self.device = torch.device(device)
        self.dtype = dtype
        # Phase and frame index in float64 (exact frame times), except where unsupported.
        self._time_dtype = torch.float32 if self.device.type == "mps" else torch.float64
        self.names = [m.name or f"clip{i}" for i, m in enumerate(motions)]
        self._weights = self._normalized_weights(weights, len(motions))

        rows = {k: [] for k in ("pos", "rot", "dof", "lin_vel", "ang_vel", "dof_vel")}
        starts, counts, fps, wrap, delta = [], [], [], [], []
        offset = 0
        for m, name in zip(motions, self.names, strict=True):
            m = m.align_to_robot(robot, name)
            frames = clip_frame_states(m, robot)
            for k, v in frames.items():
                rows[k].append(v)
            starts.append(offset)
            counts.append(m.num_frames)
            offset += m.num_frames
            fps.append(m.fps)
            wrap.append(m.loop_mode == "wrap")
            d = m.root_pos[-1] - m.root_pos[0]
            delta.append([d[0], d[1], 0.0] if m.loop_mode == "wrap" else [0.0, 0.0, 0.0])

        def cat(key: str) -> torch.Tensor:
            return torch.as_tensor(np.concatenate(rows[key]), dtype=dtype, device=self.device)

        self._pos, self._rot, self._dof = cat("pos"), cat("rot"), cat("dof")
        self._lin_vel, self._ang_vel, self._dof_vel = cat("lin_vel"), cat("ang_vel"), cat("dof_vel")
        tt = self._time_dtype
        self._start = torch.as_tensor(starts, dtype=torch.long, device=self.device)
        self._count = torch.as_tensor(counts, dtype=torch.long, device=self.device)
        self._fps = torch.as_tensor(fps, dtype=tt, device=self.device)
        self._duration = (self._count.to(tt) - 1.0) / self._fps
        self._wrap = torch.as_tensor(wrap, dtype=torch.bool, device=self.device)
        self._delta = torch.as_tensor(np.asarray(delta), dtype=dtype, device=self.device)
        self._body_pos = self._joint_rot = None
        if kinematics is not None:
            self._body_pos, _ = kinematics.forward_kinematics_matrices(
                self._pos, self._rot, self._dof
            )
            self._joint_rot = _sign_continuous(kinematics.joint_rotations(self._dof), self._start)
        self._rot = _sign_continuous(self._rot, self._start)

    # --------------------------------------------------------------------------- clips
    @property
    def num_clips(self) -> int:
        return len(self.names)

    @property
    def weights(self) -> torch.Tensor:
        """Normalized clip sampling probabilities (num_clips,)."""
        return self._weights

    def sample_clips(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` clip ids drawn with the normalized weights (LongTensor)."""
        return torch.multinomial(self._weights, n, replacement=True, generator=generator)

    def sample_times(
        self,
        clip_ids: torch.Tensor,
        truncate_end: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Uniform times in [0, duration - truncate_end] (0 if the clip is shorter)."""
        high = (self._duration[clip_ids] - truncate_end).clamp_min(0.0)
        u = torch.rand(
            clip_ids.shape, generator=generator, dtype=self._time_dtype, device=self.device
        )
        return (u * high).to(self.dtype)

    def clip_duration(self, clip_ids: torch.Tensor) -> torch.Tensor:
        return self._duration[clip_ids].to(self.dtype)

    def clip_loop_mode(self, clip_ids: torch.Tensor) -> torch.Tensor:
        """LongTensor of ``LOOP_CLAMP`` (0) / ``LOOP_WRAP`` (1), MimicKit's codes."""
        return self._wrap[clip_ids].long()

    def clip_fps(self, clip_ids: torch.Tensor) -> torch.Tensor:
        return self._fps[clip_ids]

    @property
    def dof_pos_frames(self) -> torch.Tensor:
        """Every frame's DoF positions, all clips concatenated, (frames, D)."""
        return self._dof

    def clip_num_frames(self, clip_ids: torch.Tensor) -> torch.Tensor:
        return self._count[clip_ids]

    # --------------------------------------------------------------------------- state
    def get_state(self, clip_ids: torch.Tensor, times: torch.Tensor) -> MotionState:
        """Interpolated reference state of clip ``clip_ids[k]`` at ``times[k]`` seconds."""
        tt = self._time_dtype
        t = times.to(device=self.device, dtype=tt)
        dur = self._duration[clip_ids]
        wrap = self._wrap[clip_ids]
        phase = torch.where(wrap, torch.remainder(t, dur), torch.minimum(t.clamp_min(0.0), dur))
        cycles = torch.where(wrap, torch.floor(t / dur), torch.zeros_like(t))
        x = phase * self._fps[clip_ids]
        x = torch.where((x - x.round()).abs() < 1e-9, x.round(), x)  # exact at frame times
        last = self._count[clip_ids] - 1
        i0 = torch.minimum(x.floor().long(), last)
        i1 = torch.minimum(i0 + 1, last)
        alpha = (x - i0.to(tt)).clamp(0.0, 1.0).to(self.dtype)
        g0 = self._start[clip_ids] + i0
        g1 = self._start[clip_ids] + i1
        a = alpha[:, None]

        def lerp(table: torch.Tensor) -> torch.Tensor:
            return table[g0] + a * (table[g1] - table[g0])

        cycle_offset = cycles.to(self.dtype)[:, None] * self._delta[clip_ids]
        root_pos = lerp(self._pos) + cycle_offset
        body_pos = joint_rot = None
        if self._body_pos is not None:
            b0, b1 = self._body_pos[g0], self._body_pos[g1]
            body_pos = b0 + a[:, :, None] * (b1 - b0) + cycle_offset[:, None]
            joint_rot = _nlerp(self._joint_rot[g0], self._joint_rot[g1], a[:, :, None])
        return MotionState(
            root_pos=root_pos,
            root_rot=_nlerp(self._rot[g0], self._rot[g1], a),
            dof_pos=lerp(self._dof),
            root_lin_vel=lerp(self._lin_vel),
            root_ang_vel=lerp(self._ang_vel),
            dof_vel=lerp(self._dof_vel),
            body_pos=body_pos,
            joint_rot=joint_rot,
        )

    # ------------------------------------------------------------------------- helpers
    def _normalized_weights(self, weights: list[float] | None, n: int) -> torch.Tensor:
        if weights is None:
            w = np.ones(n)
        else:
            w = np.asarray(weights, dtype=np.float64).reshape(-1)
            if w.shape[0] != n:
                raise MotionError(
                    f"motion library: {w.shape[0]} weights for {n} clips; give one weight per clip"
                )
            if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
                raise MotionError(
                    f"motion library: clip weights must be finite, >= 0 and not all 0, found "
                    f"{w.tolist()}"
                )
        return torch.as_tensor(w / w.sum(), dtype=torch.float64, device=self.device)


def clip_frame_states(m: Motion, robot: RobotModel) -> dict[str, np.ndarray]:
    """Per-frame positions and velocities of one aligned clip (float64 numpy): keys
    pos, rot, dof (unwrapped), lin_vel, ang_vel (world), dof_vel."""
    wrap = m.loop_mode == "wrap"
    dof = unwrap_dof_trajectory(robot, m.dof_pos)
    rot = torch.as_tensor(m.root_rot, dtype=torch.float64)
    # Forward differences between consecutive frames (T-1 rows), per second.
    fwd_pos = np.diff(m.root_pos, axis=0) * m.fps
    fwd_ang = quat_to_exp_map(quat_mul(rot[1:], quat_conjugate(rot[:-1]))).numpy() * m.fps
    fwd_dof = np.diff(dof, axis=0) * m.fps
    for j in robot.joints:
        if j.kind == "ball":  # MuJoCo ball qvel: angular velocity in the child frame
            sl = slice(j.dof_start, j.dof_start + 3)
            q = exp_map_to_quat(torch.as_tensor(dof[:, sl]))
            rel = quat_mul(quat_conjugate(q[:-1]), q[1:])
            fwd_dof[:, sl] = quat_to_exp_map(rel).numpy() * m.fps
    return {
        "pos": m.root_pos,
        "rot": m.root_rot,
        "dof": dof,
        "lin_vel": _central(fwd_pos, wrap),
        "ang_vel": _central(fwd_ang, wrap),
        "dof_vel": _central(fwd_dof, wrap),
    }


def _sign_continuous(q: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
    """Flip quaternion signs so consecutive frames of a clip have a positive dot product
    (q and -q are the same rotation); then plain lerp between frames takes the short way."""
    step = torch.ones(q.shape[:-1], dtype=q.dtype, device=q.device)
    step[1:] = torch.where((q[1:] * q[:-1]).sum(-1) < 0, -1.0, 1.0)
    step[starts] = 1.0
    sign = torch.cumprod(step, dim=0)
    # cumprod runs across clips; multiplying by the value at the clip's first frame
    # (the product of all earlier clips, +-1) restarts it per clip.
    counts = torch.diff(starts, append=torch.tensor([q.shape[0]], device=starts.device))
    clip_start = torch.repeat_interleave(starts, counts)
    return q * (sign * sign[clip_start])[..., None]


def _nlerp(q0: torch.Tensor, q1: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Normalized lerp between sign-continuous neighbouring frames. Against slerp it only
    changes the speed along the same arc, by < 0.2 % for the <= 30 degrees a clip turns
    a joint between two frames, at a fraction of slerp's cost (this runs every step)."""
    q = q0 + alpha * (q1 - q0)
    return q / q.norm(dim=-1, keepdim=True)


def _central(fwd: np.ndarray, wrap: bool) -> np.ndarray:
    """Per-frame velocities (T, k) from forward differences (T-1, k): the mean of the
    differences on both sides; one-sided at CLAMP ends; across the cycle for WRAP."""
    vel = np.empty((fwd.shape[0] + 1, fwd.shape[1]))
    vel[1:-1] = 0.5 * (fwd[:-1] + fwd[1:])
    if wrap:
        vel[0] = vel[-1] = 0.5 * (fwd[0] + fwd[-1])
    else:
        vel[0], vel[-1] = fwd[0], fwd[-1]
    return vel
