"""Motion sets for an env's ``motion_file``: one clip file, or a MimicKit dataset YAML

    motions:
      - file: clips/walk.npz   # relative: to this YAML, then to the current directory
        weight: 1.0            # >= 0; normalized over the list

Every clip is read (any supported format) and aligned to the robot by DoF name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mjmimic.config import load_config, load_yaml
from mjmimic.motion.formats import read_motion
from mjmimic.motion.motion import Motion
from mjmimic.paths import resolve_input_path
from mjmimic.robots.model import RobotModel


@dataclass
class DatasetEntry:
    file: str = field(metadata={"help": "clip file (any format read_motion reads)"})
    weight: float = field(default=1.0, metadata={"help": "relative sampling weight, >= 0"})


@dataclass
class MotionDataset:
    motions: list[DatasetEntry] = field(metadata={"help": "the clips and their weights"})


def load_motion_set(
    value: str,
    robot: RobotModel,
    config_dir: Path | None,
    fill_missing: dict[str, float] | None = None,
) -> tuple[list[Motion], list[float] | None]:
    """Clips (aligned to ``robot``) and their weights (None = equal) named by ``value``."""
    path = resolve_input_path(value, config_dir, "motion file", "env.motion_file")
    if path.suffix.lower() not in (".yaml", ".yml"):
        return [_read_aligned(path, robot, fill_missing)], None
    data, origins = load_yaml(path)
    dataset = load_config(MotionDataset, data, str(path), origins)
    motions, weights = [], []
    for i, entry in enumerate(dataset.motions):
        clip = resolve_input_path(
            entry.file, path.parent, "motion file", f"{path}: motions[{i}].file"
        )
        motions.append(_read_aligned(clip, robot, fill_missing))
        weights.append(entry.weight)
    return motions, weights


def _read_aligned(path: Path, robot: RobotModel, fill_missing: dict[str, float] | None) -> Motion:
    motion = read_motion(path, robot)
    if not motion.name:
        motion.name = path.stem
    return motion.align_to_robot(robot, str(path), fill_missing=fill_missing or None)
