"""Build the bundled keyframed humanoid clips from their YAML specs.

Usage: ``python tools/build_clips.py``. Writes ``mjmimic/assets/motions/<name>.npz`` for
every spec in ``CLIPS``; rerun it after editing a spec or the humanoid MJCF.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mjmimic.motion.keyframes import build_keyframed_clip
from mjmimic.paths import ASSETS_DIR

CLIPS = ("humanoid_squat", "humanoid_step")
MODEL = ASSETS_DIR / "robots" / "humanoid" / "humanoid.xml"
SPECS_DIR = ASSETS_DIR / "motions" / "keyframes"
OUT_DIR = ASSETS_DIR / "motions"


def save_clip(clip: dict[str, Any], path: Path) -> None:
    """Write a clip as a plain (pickle-free) mjmimic.motion v1 ``.npz``."""
    np.savez(
        path,
        format="mjmimic.motion",
        format_version=1,
        fps=clip["fps"],
        loop_mode=clip["loop_mode"],
        root_pos=clip["root_pos"],
        root_rot=clip["root_rot"],
        dof_pos=clip["dof_pos"],
        joint_names=np.array(clip["joint_names"]),
    )


def main() -> None:
    for name in CLIPS:
        clip = build_keyframed_clip(SPECS_DIR / f"{name}.yaml", MODEL)
        path = OUT_DIR / f"{name}.npz"
        save_clip(clip, path)
        z = clip["root_pos"][:, 2]
        print(
            f"{path}: {len(z)} frames at {clip['fps']:g} fps ({clip['loop_mode']}), "
            f"root z {z.min():.3f}..{z.max():.3f} m"
        )


if __name__ == "__main__":
    main()
