"""Physics backends behind one batched-tensor interface (``engines/base.py``)."""

from __future__ import annotations

import torch

from mjmimic.engines.base import Engine
from mjmimic.engines.config import EngineConfig
from mjmimic.registry import ENGINES
from mjmimic.robots.model import RobotModel


def build_engine(
    cfg: EngineConfig, robot: RobotModel, num_envs: int, device: str | torch.device = "cpu"
) -> Engine:
    """The engine registered as ``cfg.engine_name`` (``engines/builtin.py``); the registry
    imports the concrete engine modules on first lookup."""
    return ENGINES.get(cfg.engine_name).cls(cfg, robot, num_envs, device)


__all__ = ["Engine", "EngineConfig", "build_engine"]
