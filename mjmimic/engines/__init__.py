"""Physics backends behind one batched-tensor interface (``engines/base.py``)."""

from __future__ import annotations

import torch

from mjmimic.engines.base import Engine
from mjmimic.engines.config import EngineConfig
from mjmimic.robots.model import RobotModel


def build_engine(
    cfg: EngineConfig, robot: RobotModel, num_envs: int, device: str | torch.device = "cpu"
) -> Engine:
    """The engine named by ``cfg.engine_name``."""
    if cfg.engine_name == "mujoco":
        from mjmimic.engines.mujoco_cpu import MujocoCpuEngine

        return MujocoCpuEngine(cfg, robot, num_envs, device)
    raise AssertionError(f"unhandled engine {cfg.engine_name}")  # Literal type rejects others


__all__ = ["Engine", "EngineConfig", "build_engine"]
