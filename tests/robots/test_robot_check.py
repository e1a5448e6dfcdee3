from __future__ import annotations

from pathlib import Path

import pytest

from mjmimic.cli.main import main
from mjmimic.robots.check import dof_table, joint_sweep
from mjmimic.robots.profiles import resolve_robot


@pytest.mark.parametrize("name", ["g1", "k1", "t1", "humanoid", "mimickit_humanoid"])
def test_table_and_sweep(name: str, shared_data: Path) -> None:
    profile, robot = resolve_robot(name)
    table = dof_table(profile, robot).splitlines()
    assert len(table) == 1 + robot.num_dofs
    assert all(n in "\n".join(table) for n in robot.dof_names)
    results = joint_sweep(profile, robot)
    assert [r.joint for r in results] == robot.dof_names
    worst = max(r.rms_error / r.amplitude for r in results)
    # The PD's designed lag: 0.047 of the amplitude for the armature rule (kd/kp = 64 ms),
    # 0.074 for the humanoids (kd/kp = 100 ms).
    assert worst < 0.08, worst
    assert not any(r.flagged for r in results)


def test_wrong_gain_is_flagged(shared_data: Path) -> None:
    profile, robot = resolve_robot("g1")
    profile.joints["left_knee_joint"].kp /= 100
    (knee,) = joint_sweep(profile, robot, ["left_knee_joint"])
    (right,) = joint_sweep(profile, robot, ["right_knee_joint"])
    assert knee.flagged and not right.flagged


def test_cli(capsys: pytest.CaptureFixture[str], shared_data: Path) -> None:
    assert main(["robot", "check", "k1", "--no-sweep"]) == 0
    out = capsys.readouterr().out
    assert "Left_Knee_Pitch" in out and "19.67 kg" in out and "armature" in out
    assert main(["robot", "check", "nao"]) == 2
    assert "mjmimic: error: unknown robot 'nao'" in capsys.readouterr().err
