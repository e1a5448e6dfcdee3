"""Retargeting quality: human clips onto the G1, K1 and T1.

    python bench/retarget_quality.py [--json bench/results/retarget_quality.json]

Sources: the DeepMimic walk, run and jump (imported onto mjmimic's humanoid) and the CMU
BVH walk (subject 131, trial 01, 120 fps), each retargeted at 30 fps by
``mjmimic.retarget.retarget``. Reported per clip and robot (``RetargetReport``):

* keypoint error: mean distance between the robot's keypoints and the scaled source
  keypoints (cm), over all keypoints and frames;
* joint-limit violations: DoF values outside the MJCF's limits (count; must be 0);
* penetration: the deepest collision point below the floor (cm; must be < 1);
* skate: mean horizontal speed of a foot between consecutive stance frames (cm/s);
* stance: fraction of foot-frames detected as stance;
* time per output frame (ms), everything included (IK, cleanup, metrics).

Also reported: findings of ``motion check`` that are warnings or errors.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from mjmimic.motion.check import check_motion
from mjmimic.paths import shared_data_dir
from mjmimic.retarget.retarget import retarget
from mjmimic.retarget.source import load_source
from mjmimic.robots.profiles import resolve_robot

CLIPS = {
    "DeepMimic walk": "deepmimic/humanoid3d_walk.txt",
    "DeepMimic run": "deepmimic/humanoid3d_run.txt",
    "DeepMimic jump": "deepmimic/humanoid3d_jump.txt",
    "CMU BVH walk (131_01)": "cmu_bvh/scaled_131_01.bvh",
}
ROBOTS = ("g1", "k1", "t1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args()
    human = resolve_robot("humanoid")
    rows = []
    print(
        "| clip | robot | frames | scale | keypoint err (cm) | limit violations | "
        "penetration (cm) | stance skate (cm/s) | stance | ms/frame | check warnings |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for clip, rel in CLIPS.items():
        source = load_source(shared_data_dir() / "motions" / rel, *human)
        for name in ROBOTS:
            profile, robot = resolve_robot(name)
            motion, report = retarget(source, profile, robot)
            warnings = [f.code for f in check_motion(motion, robot) if f.severity != "info"]
            rows.append({"clip": clip, "robot": name, **asdict(report), "check": warnings})
            print(
                f"| {clip} | {name} | {report.frames} | {report.scale:.3f} | "
                f"{report.keypoint_error_cm:.1f} | {report.limit_violations} | "
                f"{report.penetration_cm:.2f} | {report.skate_cm_s:.1f} | "
                f"{report.stance_fraction:.2f} | {report.ms_per_frame:.1f} | "
                f"{', '.join(warnings) or 'none'} |"
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2, default=float))


if __name__ == "__main__":
    main()
