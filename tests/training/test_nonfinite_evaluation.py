"""A policy whose actions are NaN, or a step MuJoCo had to reset, is a failure in test mode.

MuJoCo zeroes a NaN control and resets a NaN state to the rest pose, silently: without
the checks of ``training/evaluation.py`` a policy whose every action is NaN scored a
higher normalized return than the healthy one it was broken from (the character stood
on PD targets of 0). Here the tiny trained policy is broken (one actor weight NaN, then
every actor weight) and must be reported as failing, episode by episode.
"""

from __future__ import annotations

import math

import pytest
import torch

from mjmimic.cli.main import main
from mjmimic.training import checkpoint
from mjmimic.training.evaluation import TRACKING_METRICS, evaluate, failure_line
from mjmimic.training.setup import RunConfig, build_env_and_agent
from tests.training.scripted_env import ScriptedEnv


def _broken_model(source, dest, which: str):
    """``source`` model.pt with one actor weight NaN (``one``) or every actor tensor."""
    saved = torch.load(source, map_location="cpu", weights_only=True)
    weights = saved["model"]
    if which == "one":
        weights["actor.mean_head.weight"][0, 0] = math.nan  # one joint's action only
    else:
        for key, t in weights.items():
            if key.startswith("actor.") and t.is_floating_point():
                t.fill_(math.nan)
    torch.save(saved, dest)
    return dest


def _evaluate(model_file, episodes=2, agent_wrapper=None):
    saved = checkpoint.load(model_file, checkpoint.MODEL_FORMAT)
    run = RunConfig.from_dict(saved["config"], "model.pt")
    run.engine.num_threads = 1
    run.num_envs = 2
    torch.manual_seed(0)
    env, agent = build_env_and_agent(run)
    agent.load_model_state_dict(saved["model"])
    try:
        return evaluate(env, agent_wrapper(env, agent) if agent_wrapper else agent, episodes)
    finally:
        env.engine.close()


@pytest.fixture(scope="module")
def healthy(smoke_run):
    return _evaluate(smoke_run.out_dir / "model.pt")


def test_the_healthy_policy_has_no_failed_episode(healthy):
    assert healthy["nonfinite_action_episodes"] == 0
    assert healthy["unstable_physics_episodes"] == 0
    assert healthy["normalized_return"] > 0.0
    assert failure_line(healthy) is None


@pytest.mark.parametrize("which", ["one", "all"])
def test_nan_actions_end_every_episode_as_a_failure(which, smoke_run, healthy, tmp_path):
    broken = _broken_model(smoke_run.out_dir / "model.pt", tmp_path / "model.pt", which)
    result = _evaluate(broken)
    assert result["episodes"] == 2
    assert result["nonfinite_action_episodes"] == 2
    assert result["unstable_physics_episodes"] == 0
    # Ended at their first step, with nothing earned: never above the healthy policy.
    assert result["normalized_return"] == 0.0 < healthy["normalized_return"]
    assert result["episode_length"] == 1.0
    assert result["success_rate"] == 0.0
    assert all(math.isnan(result[k]) for k in TRACKING_METRICS)  # no errors measured
    assert failure_line(result).startswith("2 of 2 episodes ended on a non-finite action")


class _NanOnState:
    """The wrapped agent, but on its second action the first env's qvel turns NaN, as
    a blow-up would leave it: MuJoCo resets that env to its rest pose and carries on."""

    def __init__(self, env, agent):
        self.env, self.agent, self.calls = env, agent, 0
        self.device = agent.device

    def eval_mode(self):
        self.agent.eval_mode()

    def train_mode(self):
        self.agent.train_mode()

    def act(self, obs, deterministic=None):
        self.calls += 1
        if self.calls == 2:
            engine = self.env.engine
            row = engine.save_state()[:1].clone()
            row[0, 1 + engine.model.nq] = math.nan  # column 0 is the clock, then qpos, qvel
            engine.restore_state(row, torch.tensor([0]))
        return self.agent.act(obs, deterministic=deterministic)


def test_a_physics_reset_ends_the_episode_as_a_failure(smoke_run, healthy):
    result = _evaluate(smoke_run.out_dir / "model.pt", agent_wrapper=_NanOnState)
    assert result["episodes"] == 2
    assert result["unstable_physics_episodes"] == 1
    assert result["nonfinite_action_episodes"] == 0
    assert result["episode_length"] < healthy["episode_length"]
    line = failure_line(result)
    assert line.startswith("1 of 2 episodes ended on unstable physics"), line


@pytest.mark.parametrize("which", ["one", "all"])
def test_test_command_reports_the_failure(which, smoke_run, tmp_path, capsys):
    """Needs mjmimic/cli/train_test.py to print ``failure_line`` (see evaluation.py)."""
    broken = _broken_model(smoke_run.out_dir / "model.pt", tmp_path / "model.pt", which)
    argv = ["test", "--model_file", str(broken), "--test_episodes", "2", "--num_envs", "2"]
    main([*argv, "--threads", "1"])
    out = capsys.readouterr().out
    assert "2 of 2 episodes ended on a non-finite action" in out
    assert "normalized return:   0.0000" in out


# ---------------------------------------------------------------- without a simulator
class _SecondEnvNan:
    device = torch.device("cpu")

    def eval_mode(self):
        pass

    def train_mode(self):
        pass

    def act(self, obs, deterministic=None):
        return torch.tensor([[0.0], [math.inf]])


def test_failed_episodes_are_counted_within_the_quota():
    # Two envs, episodes of 3 steps, tracking errors within the thresholds.
    env = ScriptedEnv([3, 3], error=0.01, best_return_per_step=1.0, clip_seconds=1.0)
    result = evaluate(env, _SecondEnvNan(), 4)  # 2 episodes per env
    assert result["episodes"] == 4
    assert result["nonfinite_action_episodes"] == 2
    # Env 0: 3 of 3 each; env 1: 0 of 3, ended at its first step.
    assert result["normalized_return"] == pytest.approx(0.5)
    assert result["episode_length"] == pytest.approx(2.0)
    # Only env 0's episodes have errors, and they were within the thresholds.
    assert result["joint_rot_err"] == pytest.approx(0.01)
    assert result["success_rate"] == pytest.approx(0.5)
    assert failure_line(result).startswith("2 of 4 episodes ended on a non-finite action")
