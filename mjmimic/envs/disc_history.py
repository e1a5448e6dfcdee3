"""The last n frames of a character per env, for discriminator observations (AMP, ADD).

A discriminator judges short windows of motion, not single poses: ``DiscHistory`` keeps
each env's last ``num_steps`` frames (root position, rotation, linear and angular
velocity, joint rotations, DoF velocities and the world positions of all bodies), oldest
-> newest, the newest being the state after the latest step. It is a ring: ``push``
writes one slot for all envs, ``window`` reads them back in time order.

On reset MimicKit pre-fills the window from the reference at t0-(n-1)dt ... t0 (the
character starts on the reference, so that is the motion it "had"); ``reference_frames``
looks those frames up, and also gives the demonstration windows an adversarial learner
compares against.
"""

from __future__ import annotations

from typing import Any

import torch

from mjmimic.envs.char_state import CharState
from mjmimic.motion.library import MotionLib
from mjmimic.robots.kinematics import Kinematics

# CharState fields a history keeps; key_pos is body_pos of the key bodies.
FIELDS = ("root_pos", "root_rot", "root_vel", "root_ang_vel", "joint_rot", "dof_vel", "body_pos")


class DiscHistory:
    """``num_steps`` frames for each of ``num_envs`` envs, batched tensors (no loops)."""

    def __init__(
        self,
        num_envs: int,
        num_steps: int,
        num_bodies: int,
        num_dofs: int,
        key_ids: torch.Tensor,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ):
        if num_steps < 1:
            raise ValueError(f"a history holds at least one frame, got num_steps={num_steps}")
        self.num_envs = num_envs
        self.num_steps = num_steps
        self.key_ids = key_ids
        shapes = {
            "root_pos": (3,),
            "root_rot": (4,),
            "root_vel": (3,),
            "root_ang_vel": (3,),
            "joint_rot": (num_bodies - 1, 4),
            "dof_vel": (num_dofs,),
            "body_pos": (num_bodies, 3),
        }
        self._buf = {
            name: torch.zeros((num_envs, num_steps, *shape), dtype=dtype, device=device)
            for name, shape in shapes.items()
        }
        self._buf["root_rot"][..., 0] = 1.0
        self._buf["joint_rot"][..., 0] = 1.0
        self.head = num_steps - 1  # slot of the newest frame

    def _order(self) -> torch.Tensor:
        """Slots from oldest to newest."""
        n = self.num_steps
        device = self._buf["root_pos"].device
        return (torch.arange(1, n + 1, device=device) + self.head) % n

    def fill(self, env_ids: torch.Tensor, frames: CharState) -> None:
        """Replace the whole window of ``env_ids`` by ``frames`` (len(env_ids), n, ...),
        oldest -> newest (a reset)."""
        slots = self._order()
        for name in FIELDS:
            self._buf[name][env_ids[:, None], slots[None, :]] = getattr(frames, name)

    def push(self, frame: CharState) -> None:
        """Append every env's newest frame (N, ...); the oldest one is dropped."""
        self.head = (self.head + 1) % self.num_steps
        for name in FIELDS:
            self._buf[name][:, self.head] = getattr(frame, name)

    def window(self, env_ids: torch.Tensor | None = None) -> CharState:
        """The frames of ``env_ids`` (all when None), (N, n, ...) oldest -> newest, with
        key_pos the key bodies' positions."""
        order = self._order()
        out = {}
        for name in FIELDS:
            table = self._buf[name] if env_ids is None else self._buf[name][env_ids]
            out[name] = table.index_select(1, order)
        return CharState(key_pos=out["body_pos"][:, :, self.key_ids], **out)


def frame_name(k: int, num_steps: int) -> str:
    """``disc[t]`` for the newest frame, ``disc[t-3]`` for the one 3 steps before it."""
    age = num_steps - 1 - k
    return "disc[t]" if age == 0 else f"disc[t-{age}]"


def reference_frames(
    motion_lib: MotionLib,
    clips: torch.Tensor,
    t0: torch.Tensor,
    num_steps: int,
    dt: float,
    key_ids: torch.Tensor,
    kinematics: Kinematics | None = None,
) -> CharState:
    """The reference of clip ``clips[i]`` at times t0[i]-(n-1)dt ... t0[i], as a window
    (len(clips), n, ...) oldest -> newest: one batched ``MotionLib.get_state`` over all
    n times of all samples.

    Joint rotations and body positions come from the motion library when it was built
    with kinematics (every frame's FK done once, interpolated as the DeepMimic reference
    is), else from FK of the looked-up pose with ``kinematics``. Times before the clip
    start hold its first frame (CLAMP) or run into the previous cycle (WRAP), as MimicKit.
    """
    num = clips.shape[0]
    offsets = dt * torch.arange(1 - num_steps, 1, device=t0.device, dtype=t0.dtype)
    times = (t0[:, None] + offsets[None, :]).reshape(-1)
    state = motion_lib.get_state(clips.repeat_interleave(num_steps), times)
    joint_rot, body_pos = state.joint_rot, state.body_pos
    if joint_rot is None or body_pos is None:
        if kinematics is None:
            raise ValueError("the motion library has no kinematics; pass kinematics for FK")
        joint_rot = kinematics.joint_rotations(state.dof_pos)
        body_pos, _ = kinematics.forward_kinematics_matrices(
            state.root_pos, state.root_rot, state.dof_pos, joint_rot
        )

    def window(x: torch.Tensor) -> torch.Tensor:
        return x.reshape(num, num_steps, *x.shape[1:])

    body_pos = window(body_pos)
    return CharState(
        root_pos=window(state.root_pos),
        root_rot=window(state.root_rot),
        joint_rot=window(joint_rot),
        key_pos=body_pos[:, :, key_ids],
        root_vel=window(state.root_lin_vel),
        root_ang_vel=window(state.root_ang_vel),
        dof_vel=window(state.dof_vel),
        body_pos=body_pos,
    )


def env_history(env: Any, num_steps: int) -> DiscHistory:
    """A history of ``num_steps`` frames sized for a DeepMimic-family env: its envs,
    robot, key bodies and device (AMP's and ADD's, each one or two of them)."""
    robot = env.robot
    return DiscHistory(
        env.num_envs, num_steps, robot.num_bodies, robot.num_dofs, env.key_ids, env.device
    )


def env_reference_window(
    env: Any, clips: torch.Tensor, t0: torch.Tensor, num_steps: int
) -> CharState:
    """``reference_frames`` of a DeepMimic-family env's motion library, step and key
    bodies: the window a reset pre-fills and a demo sample encodes."""
    return reference_frames(
        env.motion_lib, clips, t0, num_steps, env.dt, env.key_ids, env.kinematics
    )
