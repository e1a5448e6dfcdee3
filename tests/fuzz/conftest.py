"""Hypothesis profiles for the fuzz suite, and the robot and folder its readers use.

``ci`` (the default) is sized so the whole suite runs in well under a minute on two cores,
with a fixed seed (``derandomize``) so CI never fails on an example it has not seen
before; ``MJMIMIC_FUZZ=long`` (``bench/fuzz_readers.py``) runs many more, randomly. No
example database: nothing is written into the repository.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from mjmimic.robots.model import RobotModel
from tests.fuzz.fuzzing import HUMANOID_XML, PROFILE_ENV

_COMMON = {
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile(
    "ci", max_examples=30, deadline=timedelta(seconds=5), derandomize=True, **_COMMON
)
settings.register_profile("long", max_examples=500, deadline=timedelta(seconds=20), **_COMMON)
settings.load_profile(os.environ.get(PROFILE_ENV, "ci"))


@pytest.fixture(scope="session")
def humanoid() -> RobotModel:
    """mjmimic's humanoid: hinge joints only, so every robot-dependent format reads on it."""
    return RobotModel.from_file(HUMANOID_XML)


@pytest.fixture(scope="session")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where examples are written; one file per reader, overwritten by each example."""
    return tmp_path_factory.mktemp("fuzz")
