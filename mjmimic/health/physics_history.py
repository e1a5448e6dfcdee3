"""A ring buffer of the last few control steps of MuJoCo state, for replaying a blow-up.

Every step the monitor copies the engine's full physics state rows (``engine.save_state()``:
MuJoCo's ``mjSTATE_FULLPHYSICS`` vectors) after the step, with the command that led there,
into tensors on the engine's device (one device copy per step, no host transfer); when
something breaks, the rows of the offending envs are saved to ``physics_history.npz``.
``replay`` starts a MuJoCo model from the oldest saved state and applies the later
commands, so a blow-up can be reproduced in a viewer or a debugger without re-running
training; ``saved_poses`` gives the saved poses for a video (``mjmimic doctor RUN_DIR
--video``).
"""

from __future__ import annotations

import io
from pathlib import Path

import mujoco
import numpy as np
import torch

from mjmimic.paths import atomic_write_bytes


class PhysicsHistory:
    def __init__(
        self,
        capacity: int,
        num_envs: int,
        state_size: int,
        action_dim: int,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float64,
    ):
        self.capacity = capacity
        self.states = torch.zeros((capacity, num_envs, state_size), dtype=dtype, device=device)
        self.commands = torch.zeros((capacity, num_envs, action_dim), device=device)
        self.count = 0  # steps pushed so far (the newest is at (count - 1) % capacity)

    def push(self, state: torch.Tensor, command: torch.Tensor) -> None:
        """``state``: rows after this step; ``command``: the (clipped) command that led there."""
        slot = self.count % self.capacity
        self.states[slot].copy_(state)
        self.commands[slot].copy_(command)
        self.count += 1

    def save(self, path: Path, env_ids: list[int], **meta: float | int | str) -> Path:
        """The kept steps of ``env_ids``, oldest first: ``state`` (K, E, nstate) and
        ``command`` (K, E, action_dim); ``meta`` is stored alongside (iteration, dt...)."""
        kept = min(self.count, self.capacity)
        order = [(self.count - kept + i) % self.capacity for i in range(kept)]
        ids = np.asarray(env_ids, dtype=np.int64)
        rows = torch.as_tensor(ids, device=self.states.device)
        buffer = io.BytesIO()  # written whole, then renamed: never a half-written file
        np.savez_compressed(
            buffer,
            state=self.states[order][:, rows].cpu().numpy(),
            command=self.commands[order][:, rows].cpu().numpy(),
            env_ids=ids,
            **{k: np.asarray(v) for k, v in meta.items()},
        )
        atomic_write_bytes(path, buffer.getbuffer())
        return path


def replay(
    model: mujoco.MjModel, path: Path, env_index: int = 0, num_substeps: int = 1
) -> np.ndarray:
    """Re-simulate saved env ``env_index`` from its oldest state with the later commands.

    ``model`` must be the scene the run simulated (``engine.model``). Returns the full
    physics state after each replayed control step, (K - 1, nstate), to compare with
    ``state[1:]`` of the file.
    """
    saved = np.load(path)
    data = mujoco.MjData(model)
    full = mujoco.mjtState.mjSTATE_FULLPHYSICS
    mujoco.mj_setState(model, data, saved["state"][0, env_index], full)
    out = []
    for command in saved["command"][1:, env_index]:
        data.ctrl[:] = command
        for _ in range(num_substeps):
            mujoco.mj_step(model, data)
        row = np.empty(mujoco.mj_stateSize(model, full))
        mujoco.mj_getState(model, data, row, full)
        out.append(row)
    return np.asarray(out)


def saved_poses(path: Path, env_index: int, nq: int) -> tuple[np.ndarray, int, int]:
    """The saved ``qpos`` rows of the file's env ``env_index`` (an index into its
    ``env_ids``), oldest first, up to the last finite one: (qpos (K, nq), that env's id,
    the number of non-finite rows left out at the end). A full-physics state vector starts
    with the time, then ``qpos``."""
    from mjmimic.errors import MjmimicError

    saved = np.load(path)
    env_ids = saved["env_ids"].tolist()
    if not 0 <= env_index < len(env_ids):
        raise MjmimicError(
            f"{path}: --env {env_index} is out of range; the file holds {len(env_ids)} env(s): "
            f"ids {env_ids} (use an index 0..{len(env_ids) - 1})"
        )
    qpos = saved["state"][:, env_index, 1 : 1 + nq]
    finite = np.isfinite(qpos).all(axis=1)
    kept = len(finite) if finite.all() else int(np.argmin(finite))
    return qpos[:kept], int(env_ids[env_index]), len(finite) - kept
