"""``mjmimic test`` and ``evaluate``: metrics printed, and an exact per-env episode quota
(no bias towards short episodes)."""

from __future__ import annotations

import json
import math
import re

import pytest
import torch

from mjmimic.cli.main import main
from mjmimic.training.evaluation import TRACKING_METRICS, evaluate
from mjmimic.training.setup import RunConfig, build_env_and_agent
from tests.training.scripted_env import ScriptedEnv

LINES = {
    "mean return": r"mean return: +(\S+)",
    "normalized return": r"normalized return: +(\S+)",
    "episode length": r"mean episode length: +(\S+) steps \((\S+) s\)",
    "joint rotation err": r"joint rotation err: +(\S+) rad",
    "root position err": r"root position err: +(\S+) m",
    "key body pos err": r"key body pos err: +(\S+) m",
    "length fraction": r"episode length: +(\S+)% of the full length",
}


def _values(out: str) -> dict[str, float]:
    values = {}
    for name, pattern in LINES.items():
        match = re.search(pattern, out)
        assert match, f"no '{name}' line in:\n{out}"
        values[name] = float(match.group(1))
    return values


def test_test_command_prints_metrics(smoke_run, capsys):
    model = smoke_run.out_dir / "model.pt"
    argv = ["test", "--model_file", str(model), "--test_episodes", "8", "--num_envs", "4"]
    assert main([*argv, "--threads", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert f"model:               {model} (iteration 4)" in captured.out
    # ceil(8 / 4) = 2 episodes per env, exactly.
    assert "episodes:            8 over 4 envs" in captured.out
    v = _values(captured.out)
    assert all(math.isfinite(x) for x in v.values())
    assert v["mean return"] > 0.0
    assert 0.0 < v["normalized return"] <= 1.0
    assert 0.0 < v["length fraction"] <= 100.0
    assert 1.0 <= v["episode length"] <= 300.0  # 10 s episodes at 30 Hz
    assert 0.0 <= v["joint rotation err"] < math.pi
    assert v["root position err"] >= 0.0 and v["key body pos err"] >= 0.0


def test_test_episodes_round_up_to_whole_envs(smoke_run, capsys):
    """5 episodes over 4 envs: every env runs ceil(5/4) = 2, so 8 are counted."""
    model = str(smoke_run.out_dir / "model.pt")
    argv = ["test", "--model_file", model, "--test_episodes", "5", "--num_envs", "4"]
    assert main([*argv, "--threads", "1"]) == 0
    assert "episodes:            8 over 4 envs" in capsys.readouterr().out


def test_without_num_envs_a_few_episodes_use_as_few_envs(smoke_run, capsys):
    """The run trained with more envs than 3; testing 3 episodes steps 3 envs, not all."""
    model = str(smoke_run.out_dir / "model.pt")
    assert main(["test", "--model_file", model, "--test_episodes", "3", "--threads", "1"]) == 0
    assert "episodes:            3 over 3 envs" in capsys.readouterr().out


def test_report_flag_writes_the_heat_map_and_json(smoke_run, capsys, tmp_path):
    """``--report DIR``: per-body numbers printed (success rate, worst body, table) and
    written as JSON and a heat map; the squat env's key bodies name the table rows."""
    model = str(smoke_run.out_dir / "model.pt")
    report = tmp_path / "report"
    argv = ["test", "--model_file", model, "--test_episodes", "2", "--num_envs", "2"]
    assert main([*argv, "--report", str(report), "--threads", "1"]) == 0
    out = capsys.readouterr().out
    rate = float(re.search(r"success rate: +(\S+)%", out).group(1))
    assert 0.0 <= rate <= 100.0
    worst = re.search(r"worst body err: +(\S+) m \((\S+), max over frames", out)
    data = json.loads((report / "tracking_report.json").read_text())
    assert data["worst_body"]["name"] == worst.group(2)
    assert data["worst_body"]["max"] == pytest.approx(float(worst.group(1)), abs=1e-4)
    assert data["success_rate"] == pytest.approx(rate / 100.0, abs=1e-3)
    assert "per key body (position relative to the root; threshold 0.20 m):" in out
    for body in data["bodies"]:
        assert re.search(rf"^  {body} +\d", out, re.MULTILINE), body
    assert (report / "tracking_heatmap.png").stat().st_size > 1000
    assert f"report:              {report / 'tracking_report.json'}" in out


def test_test_is_deterministic_for_a_seed(smoke_run, capsys):
    model = str(smoke_run.out_dir / "model.pt")
    argv = ["test", "--model_file", model, "--test_episodes", "2", "--num_envs", "2"]
    outs = []
    for _ in range(2):
        assert main([*argv, "--rand_seed", "3", "--threads", "1"]) == 0
        outs.append(_values(capsys.readouterr().out))
    assert outs[0] == outs[1]


# ------------------------------------------------------------------------ evaluate()


class _FakeAgent:
    def __init__(self):
        self.training = True
        self.device = torch.device("cpu")

    def eval_mode(self):
        self.training = False

    def train_mode(self):
        self.training = True

    def act(self, obs, deterministic=None):
        assert not self.training and deterministic is True
        return torch.zeros(obs.shape[0], 1)


@pytest.mark.parametrize("episodes", [1, 4, 7, 8])
def test_evaluate_counts_each_env_exactly_its_quota(episodes):
    """Env 0 ends every step, env 1 every 10: a sampler stopping at the first N finished
    episodes would count mostly env 0's (mean length near 1); with a quota of
    ceil(N / 2) per env both count equally and the mean length is exactly 5.5."""
    env, agent = ScriptedEnv([1, 10]), _FakeAgent()
    result = evaluate(env, agent, episodes)
    quota = math.ceil(episodes / 2)
    assert result["episodes"] == 2 * quota
    assert result["episode_length"] == 5.5
    assert result["return"] == 5.5
    assert result["normalized_return"] == 0.5
    assert result["episode_length_fraction"] == 0.25
    assert all(result[k] == 5.5 for k in TRACKING_METRICS)
    # Per-body errors of 1 and 10 m: no episode within the 0.2 m threshold.
    assert result["success_rate"] == 0.0 and result["worst_body_err"] == 10.0
    assert agent.training and not env.compute_tracking_errors  # modes restored


def test_evaluate_on_the_real_env(kit, tiny_agent):
    run = RunConfig.from_files(kit.ENGINE, kit.SQUAT_ENV, tiny_agent, 3, 0, "cpu")
    run.engine.num_threads = 1
    torch.manual_seed(0)
    env, agent = build_env_and_agent(run)
    try:
        result = evaluate(env, agent, 4)  # ceil(4 / 3) = 2 per env
        assert result["episodes"] == 6
        assert 0.0 < result["normalized_return"] <= 1.0
        assert set(TRACKING_METRICS) <= set(result)
        assert agent.training
    finally:
        env.engine.close()
