"""``examples/mjlab_style_deploy.py``, a deploy loop that reads only mjlab's metadata keys
and BeyondMimic's ONNX I/O, run as its own process on an exported tracking policy: it
builds the same first observation and action as ``mjmimic sim2sim`` and its episode ends
where sim2sim's does, for the same reason.

The two are not bit-identical past the first step, by mjlab's format: its keys hold
numbers to 3 decimals (``action_scale``, ``joint_damping``), mjmimic's own keys full
precision. Measured: actions 1e-7 apart at step 0, 6e-3 after; the same failure step.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from mjmimic.export.metadata import read_policy
from mjmimic.export.sim2sim import Sim2Sim
from mjmimic.robots.profiles import robot_from_arg

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "mjlab_style_deploy.py"
G1 = Path(robot_from_arg("g1").source)
SECONDS = 1.5
# sim2sim's failure names (numpy_tracking_obs.TRACKING_FAILURES) in the script's words.
CAUSES = {"anchor_height": "anchor height", "anchor_ori": "anchor orientation"}


def _script(policy: Path, mjcf: Path, start_step: int, tmp_path: Path) -> dict:
    out = tmp_path / f"deploy_{start_step}.json"
    argv = [sys.executable, str(SCRIPT), str(policy), "--mjcf", str(mjcf)]
    argv += ["--seconds", str(SECONDS), "--start_step", str(start_step), "--json", str(out)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text())


def _sim2sim(policy: Path, start_step: int) -> tuple[list[np.ndarray], int, str | None]:
    """The first actions, the control steps run and the failure (None: ran SECONDS)."""
    sim = Sim2Sim(policy, G1, read_policy(policy)[1].reference_outputs.clip)
    sim.start_episode(start_step * sim.control_dt)
    actions = []
    steps = round(SECONDS / sim.control_dt)
    for k in range(steps):
        action = sim.act(sim.observe())
        actions.append(action)
        fell = sim.step(action)
        if fell is not None:
            return actions, k + 1, fell
    return actions, steps, None


def test_a_plain_mjlab_deploy_script_drives_the_policy_as_sim2sim_does(
    tracking_exported, cli, tmp_path
):
    policy = tmp_path / "policy.onnx"
    mjcf = tmp_path / "g1_as_trained.xml"  # the robot's MJCF with its trained armature
    run = str(tracking_exported.run_dir)
    result = cli(["export", run, "-o", str(policy), "--scene_mjcf", str(mjcf)])
    assert result.code == 0, result.err
    assert f"wrote {mjcf}: the robot as trained" in result.out
    for start_step in (0, 40):
        theirs = _script(policy, mjcf, start_step, tmp_path)
        actions, steps, fell = _sim2sim(policy, start_step)
        assert np.abs(np.array(theirs["first_actions"][0]) - actions[0]).max() <= 1e-5
        assert np.abs(np.array(theirs["first_actions"][1]) - actions[1]).max() <= 0.05
        assert abs(theirs["control_steps"] - steps) <= 3, (theirs, steps, fell)
        if fell is None:
            assert theirs["cause"] is None
        else:
            expected = CAUSES.get(fell, "height")  # an end effector: "<body> height"
            assert theirs["cause"] is not None and expected in theirs["cause"], (theirs, fell)
