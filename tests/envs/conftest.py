"""Shared fixtures for the DeepMimic env tests: the MimicKit humanoid and random states."""

from __future__ import annotations

import pytest
import torch

from mjmimic.envs.char_state import CharState
from mjmimic.robots.model import RobotModel
from mjmimic.rotations import quat_canonical, quat_normalize


@pytest.fixture(scope="session")
def humanoid(shared_data) -> RobotModel:
    return RobotModel.from_file(shared_data / "robots/mimickit_humanoid/humanoid.xml")


@pytest.fixture
def make_state(humanoid):
    """``make_state(n, seed, steps=None, num_keys=5)`` -> random humanoid ``CharState``."""

    def make(n: int = 8, seed: int = 0, steps: int | None = None, num_keys: int = 5):
        gen = torch.Generator().manual_seed(seed)
        return random_char_state(humanoid, n, gen, steps, num_keys)

    return make


def _random_quat(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return quat_canonical(quat_normalize(torch.randn(*shape, 4, generator=gen)))


def random_char_state(
    robot: RobotModel, n: int, gen: torch.Generator, steps: int | None = None, num_keys: int = 5
) -> CharState:
    """A random (not physically consistent) state; with ``steps`` a target-frame stack."""
    lead = (n,) if steps is None else (n, steps)
    root_pos = torch.randn(*lead, 3, generator=gen)
    root_pos[..., 2] = 0.9 + 0.1 * root_pos[..., 2]
    state = CharState(
        root_pos=root_pos,
        root_rot=_random_quat(gen, *lead),
        joint_rot=_random_quat(gen, *lead, robot.num_bodies - 1),
        key_pos=root_pos.unsqueeze(-2) + 0.5 * torch.randn(*lead, num_keys, 3, generator=gen),
    )
    if steps is None:
        state.root_vel = torch.randn(n, 3, generator=gen)
        state.root_ang_vel = torch.randn(n, 3, generator=gen)
        state.dof_vel = torch.randn(n, robot.num_dofs, generator=gen)
    return state
