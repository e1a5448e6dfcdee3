"""``mjmimic sim2sim`` of a whole-body tracking policy: its numpy observation equals the
training env's for the same physical state, its PD targets are the env's for the same
action, its failure rules fire on their thresholds; episodes mode and the control-rate
rule.
"""

from __future__ import annotations

import json
import math
import re

import mujoco
import numpy as np
import pytest
import torch

from mjmimic.export.episodes import run_episodes
from mjmimic.export.numpy_tracking_obs import ReferenceCommand, RobotReading, tracking_failure
from mjmimic.export.sim2sim import FAILURES, FALLS, Sim2Sim
from mjmimic.export.tracking_metadata import TrackingFallInfo
from mjmimic.paths import ASSETS_DIR
from mjmimic.robots.profiles import robot_from_arg

OBS_TOL = 1e-4  # float32 torch FK against MuJoCo's float64 kinematics: measured 1e-6
STEPS = 8
HUMANOID = ASSETS_DIR / "robots" / "humanoid" / "humanoid.xml"
G1 = robot_from_arg("g1").source


def _sim(policy, env, **kwargs) -> Sim2Sim:
    """sim2sim on the env's robot, following the clip the env's one env follows."""
    clip = env.clip_names()[int(env.motion_ids[0])]
    return Sim2Sim(policy, env.robot.source, clip, **kwargs)


def test_numpy_observation_and_pd_targets_equal_the_envs(
    tracking_exported, tracking_env, on_clip, monkeypatch
):
    """Put sim2sim's MjData in the env's state, step after step of random actions: the
    observation built in numpy from MuJoCo is the env's policy observation, and the PD
    target sim2sim sends for an action is the one the env commands."""
    env, _ = tracking_env
    obs = on_clip(env, 1)  # not the clip the graph replays: sim2sim follows any clip
    sim = _sim(tracking_exported.policy, env)
    p = env.policy_obs_dim
    sent = []
    step = env.engine.step
    monkeypatch.setattr(env.engine, "step", lambda cmd: (sent.append(cmd.clone()), step(cmd))[1])
    gen = torch.Generator().manual_seed(4)
    worst = 0.0
    for _ in range(STEPS):
        qpos, qvel = (t.numpy() for t in env.engine.physics_state())
        sim.data.qpos[:], sim.data.qvel[:] = qpos[0], qvel[0]
        mujoco.mj_kinematics(sim.model, sim.data)
        sim.motion_time = float(env.motion_start[0] + env.time[0])
        sim.last_action[:] = env.last_action[0].numpy()
        ours = sim.observe()
        assert ours.shape == (p,) and ours.dtype == np.float32
        worst = max(worst, float(np.abs(ours - obs[0, :p].numpy()).max()))
        action = 0.3 * torch.randn(1, env.action_dim, generator=gen)
        obs, _, _, _ = env.step(action)
        np.testing.assert_allclose(sim.command(action[0].numpy()), sent[-1][0].numpy(), atol=1e-6)
    assert worst <= OBS_TOL
    # The state moved away from the reference: the comparison covered more than a start.
    assert np.abs(obs[0, p - env.action_dim : p].numpy()).max() > 0.1


def test_failure_rules_fire_past_their_thresholds():
    falls = TrackingFallInfo([], None, 0.25, 0.8, ["foot"], 0.25)
    upright = np.array([1.0, 0.0, 0.0, 0.0])

    def cause(dz_anchor=0.0, dz_foot=0.0, tilt=0.0):
        half = tilt / 2
        tilted = np.array([math.cos(half), math.sin(half), 0.0, 0.0])
        reading = RobotReading(
            upright, np.zeros(3), np.zeros(3), np.array([0, 0, 1.0 + dz_anchor]), tilted,
            np.zeros(2), np.zeros(2), np.array([0.1 + dz_foot]),
        )  # fmt: skip
        command = ReferenceCommand(
            np.zeros(2), np.zeros(2), np.array([0.5, 0, 1.0]), upright, np.array([0.1])
        )
        return tracking_failure(falls, reading, command)

    assert cause() is None
    assert cause(dz_anchor=-0.2) is None and cause(dz_anchor=-0.3) == "anchor_height"
    assert cause(dz_foot=0.2) is None and cause(dz_foot=0.3) == "end_effector_height"
    assert cause(tilt=1.3) is None and cause(tilt=1.4) == "anchor_ori"  # 1 - cos: 0.73, 0.83
    off = TrackingFallInfo([], None, None, None, ["foot"], None)  # rules switched off
    assert tracking_failure(off, *_far_off()) is None


def _far_off() -> tuple[RobotReading, ReferenceCommand]:
    q = np.array([0.0, 1.0, 0.0, 0.0])  # upside down
    reading = RobotReading(
        q, np.zeros(3), np.zeros(3), np.zeros(3), q, np.zeros(1), np.zeros(1), np.zeros(1)
    )
    command = ReferenceCommand(
        np.zeros(1), np.zeros(1), np.array([0, 0, 2.0]), np.array([1.0, 0, 0, 0]), np.ones(1)
    )
    return reading, command


def test_a_dropped_robot_fails_on_its_anchor_height(tracking_exported, tracking_env, on_clip):
    env, _ = tracking_env
    on_clip(env, 0)
    sim = _sim(tracking_exported.policy, env)
    sim.reset(1.0)
    assert sim.step(sim.act(sim.observe())) is None
    sim.reset(1.0)
    sim.data.qpos[2] -= 0.5  # the whole robot half a metre lower (into the floor)
    mujoco.mj_forward(sim.model, sim.data)
    assert sim.step(sim.act(sim.observe())) == "anchor_height"


def test_a_trained_tracking_policy_runs_alone(tracking_exported, cli):
    argv = ["sim2sim", str(tracking_exported.policy), "--robot", "g1", "--seconds", "0.5"]
    result = cli(argv)
    assert result.code == 0, result.err
    assert result.err == ""
    assert "simulated:           0.50 s (25 control steps)" in result.out
    for label in ("root position err", "joint rotation err"):
        match = re.search(rf"^{label}:\s+mean (\S+) \S+, max (\S+)", result.out, re.MULTILINE)
        assert match, result.out
        assert all(math.isfinite(float(v)) for v in match.groups())


def test_episodes_report_and_json(tracking_exported, cli, tmp_path):
    out = tmp_path / "episodes.json"
    argv = ["sim2sim", str(tracking_exported.policy), "--robot", "g1"]
    result = cli([*argv, "--episodes", "4", "--seed", "3", "--json", str(out)])
    assert result.code == 0, result.err
    numbers = json.loads(out.read_text())
    runs = numbers["runs"]
    assert numbers["episodes"] == len(runs) == 4 and numbers["seed"] == 3
    ended = sum(numbers["falls"].values()) + sum(numbers["failed_steps"].values())
    assert numbers["succeeded"] + ended == 4
    assert numbers["success_rate"] == numbers["succeeded"] / 4
    assert f"success rate:        {numbers['success_rate']:.3f}" in result.out
    sim = Sim2Sim(tracking_exported.policy, G1)
    durations = {c.name: sim.embedded_clip(c).duration for c in sim.meta.reference_motions}
    assert len({r["clip"] for r in runs}) > 1  # drawn from several clips
    for run in runs:
        # An episode lasts to its clip's end or the 10 s limit, whichever comes first.
        horizon = min(10.0, durations[run["clip"]] - run["start"])
        assert run["planned_steps"] == max(1, math.ceil(horizon / 0.02 - 1e-6))
        assert 1 <= run["steps"] <= run["planned_steps"]
        if run["end"] is None:
            assert run["steps"] == run["planned_steps"]
        else:
            assert run["end"] in FALLS or run["end"] in FAILURES
    # The same seed draws the same episodes; another seed others.
    again = run_episodes(sim, 4, 3, 5.0).numbers()
    assert again["runs"] == runs
    assert run_episodes(sim, 4, 4, 5.0).numbers()["runs"] != runs


def test_episodes_of_a_policy_without_episode_length_use_seconds(exported):
    sim = Sim2Sim(exported.policy, HUMANOID)
    assert sim.meta.episode_length is None
    report = run_episodes(sim, 2, 0, 0.2)
    assert [r.planned_steps for r in report.episodes] == [6, 6]  # 0.2 s at 30 Hz


def test_another_control_rate_is_refused_unless_allowed(tracking_exported, cli, one_line_error):
    base = ["sim2sim", str(tracking_exported.policy), "--robot", "g1", "--seconds", "0.2"]
    one_line_error(
        cli([*base, "--control_freq", "100"]),
        "--control_freq 100",
        "trained at 50 Hz",
        "--allow_control_freq_change",
    )
    result = cli([*base, "--control_freq", "100", "--allow_control_freq_change"])
    assert result.code == 0, result.err
    (warning,) = result.err.splitlines()
    assert warning.startswith("mjmimic: warning: ") and "100 Hz, trained at 50 Hz" in warning
    assert "simulated:           0.20 s (20 control steps)" in result.out
    sim = Sim2Sim(tracking_exported.policy, G1, control_freq=100, allow_control_freq_change=True)
    assert (sim.control_dt, sim.substeps) == (0.01, 2)  # physics still at the trained 200 Hz
    one_line_error(
        cli([*base, "--control_freq", "30", "--allow_control_freq_change"]),
        "--control_freq 30",
        "200 Hz",
        "divides it",
    )
    same = cli([*base, "--control_freq", "50"])
    assert same.code == 0 and same.err == ""


@pytest.mark.parametrize("flags", [["--json", "x.json"], ["--episodes", "2", "--start", "1"]])
def test_episode_flags_that_do_not_fit_are_refused(flags, tracking_exported, cli, one_line_error):
    argv = ["sim2sim", str(tracking_exported.policy), "--robot", "g1", *flags]
    one_line_error(cli(argv), flags[0] if flags[0] == "--json" else "--start")
