"""The physics backends that ship with mjmimic, registered by ``engine_name``.

A new backend is a new module implementing ``Engine`` (``engines/base.py``), registered
here, and passing ``tests/engines/test_conformance.py``.
"""

from mjmimic.engines.config import EngineConfig
from mjmimic.engines.mujoco_cpu import MujocoCpuEngine
from mjmimic.registry import ENGINES

ENGINES.register(
    "mujoco",
    MujocoCpuEngine,
    EngineConfig,
    help="MuJoCo on CPU threads: all envs stepped by mujoco.rollout",
)
