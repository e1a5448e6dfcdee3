from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mjmimic.paths import shared_data_dir

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (or $MJMIMIC_DATA). Required: CI always has it."""
    path = shared_data_dir()
    assert path.is_dir(), f"reference data not found at {path}; set MJMIMIC_DATA"
    return path
