"""``mjmimic doctor`` on other tools' runs: the three situations of our users' notes
(``../shared/context/seeds/000``, ``002``, ``003``), rebuilt as log files with the notes'
numbers, and a healthy run of each kind, which must get "no anomaly found"."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from mjmimic.cli.main import main
from mjmimic.health.metric_logs.readers import load
from mjmimic.health.metric_logs.report import build, diagnose_log
from tests.health.metric_log_files import write_csv, write_mimickit_log, write_tensorboard

NAN = math.nan
REPO = Path(__file__).resolve().parents[2]


def _mimickit_row(i: int, **values: float) -> dict[str, float]:
    row = {
        "Iteration": i,
        "Wall_Time": 0.01 * i,
        "Samples": 2048 * (i + 1),
        "Train_Return": 1.5 + 0.1 * i,
        "Critic_Loss": 2.0,
        "Actor_Loss": -0.01,
        "Clip_Frac": 0.1,
        "Imp_Ratio": 1.0,
        "Adv_Mean": 0.02,
        "Adv_Std": 1.1,
        "Disc_Loss": 0.6,
        "Disc_Pos_Acc": 0.8,
        "Disc_Neg_Acc": 0.85,
        "Disc_Reward_Mean": 0.45,
    }
    return {**row, **values}


# Seed 000: MimicKit ADD on the K1; iteration 0: Critic_Loss 36.3, Actor_Loss nan, the
# advantage 4.74; every loss nan after that.
SEED_000 = [
    _mimickit_row(0, Critic_Loss=36.3, Actor_Loss=NAN, Imp_Ratio=NAN, Adv_Mean=4.74),
    *[
        _mimickit_row(
            i, Critic_Loss=NAN, Actor_Loss=NAN, Imp_Ratio=NAN, Adv_Mean=NAN, Disc_Loss=NAN
        )
        for i in range(1, 4)
    ],
]
MIMICKIT_HEALTHY = [
    _mimickit_row(i, Critic_Loss=4.2 * 0.75**i, Actor_Loss=0.01 * (-1) ** i) for i in range(8)
]

# Seed 002: a GRPO fine-tune of a motion diffusion model (263 features x 196 frames x 50
# denoising steps), the note's numbers; and the note's own "normal" example as the
# healthy run.
SEED_002 = {
    "step": 0,
    "loss": 171551552.0,
    "policy_loss": 171531792.0,
    "kl_penalty": 197562.5312,
    "mean_ratio": 485165216.0,
    "mean_advantage": 0.0,
    "mean_log_prob_current": -833610.3125,
    "mean_log_prob_ref": -1031172.875,
    "mean_reward": 0.4971,
    "std_reward": 0.1766,
}
GRPO_NORMAL = {
    "loss": 0.1234,
    "policy_loss": 0.8567,
    "kl_penalty": 0.0045,
    "mean_ratio": 1.0234,
    "mean_advantage": 0.0123,
    "mean_log_prob_current": -256.78,
    "mean_log_prob_ref": -258.45,
    "mean_reward": 0.6234,
    "std_reward": 0.1234,
}


def _rsl_rl_go2(crash: bool) -> dict[str, list[float]]:
    """Seed 003's Go2 run in rsl_rl: value loss exploding, then the std crash (the log
    ends where torch raised 'normal expects all elements of std >= 0.0'); or healthy."""
    n = 40
    if crash:
        value = [0.9 * 0.95**i if i < 15 else 0.9 * 0.95**14 * 3.0 ** (i - 14) for i in range(n)]
        std = [1.0 - 0.01 * i if i < 25 else 0.75 * 0.6 ** (i - 24) for i in range(n)]
        lr = [min(1e-3 * 1.5 ** max(0, i - 10), 1e-2) for i in range(n)]
    else:
        value = [1.0 * 0.93**i * (1.0 + 0.1 * (-1) ** i) for i in range(n)]
        std = [1.0 - 0.0135 * i for i in range(n)]
        lr = [1e-3 * (1.5 if i % 3 == 0 else 1.0 / 1.5 if i % 3 == 1 else 1.0) for i in range(n)]
    return {
        "Loss/value_function": value,
        "Loss/surrogate": [-0.005 * (1 + 0.1 * (-1) ** i) for i in range(n)],
        "Loss/entropy": [0.5 * s for s in std],
        "Loss/learning_rate": lr,
        "Policy/mean_noise_std": std,
        "Train/mean_reward": [2.0 + 0.3 * i for i in range(n)],
        "Train/mean_episode_length": [100.0 + 10 * i for i in range(n)],
        "Perf/total_fps": [50000.0] * n,
    }


def _kinds(report):
    first = report["first_problem"]
    return [first["kind"]] + [e["kind"] for e in report["chain"]] if first else []


def test_seed_000_mimickit_add_nan_at_iteration_0(tmp_path):
    run = tmp_path / "mimickit_add_k1"
    write_mimickit_log(run, SEED_000)
    report = diagnose_log(run)
    first = report["first_problem"]
    # The ratio is NaN from the first update, before the actor loss built on it.
    assert (first["kind"], first["iteration"], first["tensor"]) == (
        "nonfinite_metric",
        0,
        "Imp_Ratio",
    )
    assert "first logged update" in first["message"] and "normal:" in first["message"]
    assert "Actor_Loss" in [e["tensor"] for e in report["chain"] if e["iteration"] == 0]
    spread = next(e for e in report["chain"] if e["kind"] == "nonfinite_spread")
    assert spread["iteration"] == 1 and "Critic_Loss" in spread["message"]
    # Critic_Loss 36.3 ("normal < 5", the note said) is what Adv_Mean 4.74 implies.
    assert "value_loss_high_at_start" not in _kinds(report)
    assert any("Critic_Loss 36.3" in n and "not a broken critic" in n for n in report["notes"])
    # The notes' conclusion, first: the motion does not fit the K1; the step size last
    # (nothing has been stepped at the first update).
    causes = report["causes"]
    assert "motion does not fit the robot" in causes[0]["cause"]
    assert "Critic_Loss is finite there (36.3)" in causes[0]["why"]
    assert "mjmimic doctor --arg_file" in " ".join(causes[0]["try"])
    assert "learning rate" in causes[-1]["cause"]
    assert any("normalizer_samples" in t for c in causes for t in c["try"])
    md = (run / "diagnosis.md").read_text()
    assert "Read as a MimicKit log." in md and "## What followed" in md


def test_seed_002_grpo_ratio_from_summed_log_probs(tmp_path):
    path = write_csv(tmp_path / "grpo_metrics.csv", [SEED_002])
    report = diagnose_log(path)
    first = report["first_problem"]
    assert first["kind"] == "ratio_overflow" and first["tensor"] == "mean_ratio"
    assert first["numbers"]["log_prob_difference"] == pytest.approx(197562.5625)
    # |log p| ~1e6 nats is a sum over ~7e5 dimensions (263 x 196 x 50 = 2.6e6 in fact).
    assert 1e5 < first["numbers"]["summed_dims_estimate"] < 3e6
    # The KL penalty is the same summed difference: said, and not a cause of its own.
    kl = next(e for e in report["chain"] if e["kind"] == "kl_high")
    assert "not a separate divergence" in kl["message"]
    top = report["causes"][0]
    assert "summed over all action dimensions" in top["cause"]
    assert "per dimension" in " ".join(top["try"])
    assert "KL penalty is this same difference" in top["why"]
    # mean_advantage 0.0 is normalization, not "no reward variance" (the notes' reading).
    assert "advantage_zero" not in _kinds(report)
    assert any("by construction" in n and "not all 0" in n for n in report["notes"])
    assert {"loss_explosion"} <= set(_kinds(report))


def test_seed_003_rsl_rl_value_loss_explosion_then_std_crash(tmp_path):
    run = write_tensorboard(tmp_path / "go2_rough", _rsl_rl_go2(crash=True))
    report = diagnose_log(run)
    assert report["tool"] == "rsl_rl/mjlab"
    first = report["first_problem"]
    assert first["kind"] == "value_loss_growth" and first["tensor"] == "Loss/value_function"
    assert "action_std_collapse" in _kinds(report)
    tries = " ".join(t for c in report["causes"] for t in c["try"])
    # The notes' fixes, in rsl_rl's keys.
    for key in ("algorithm.learning_rate", "algorithm.gamma", "algorithm.max_grad_norm"):
        assert key in tries
    assert "noise_std_type" in tries and "empirical_normalization" in tries
    top = report["causes"][0]
    assert "learning rate" in top["cause"] and "rose" in top["why"]  # the adaptive schedule


def test_critic_loss_far_above_its_returns_at_the_start(tmp_path):
    # With advantage statistics: 10x their square; without (rsl_rl): above 100.
    rows = [
        _mimickit_row(i, Critic_Loss=5000.0 / (i + 1), Adv_Mean=3.0, Adv_Std=2.0) for i in range(4)
    ]
    report = diagnose_log(write_mimickit_log(tmp_path / "mk", rows).parent)
    first = report["first_problem"]
    assert (first["kind"], first["iteration"]) == ("value_loss_high_at_start", 0)
    assert "385x the squared size of its advantages" in first["message"]
    assert any("normalizer_samples" in t for t in report["causes"][0]["try"])

    series = _rsl_rl_go2(crash=False)
    series["Loss/value_function"] = [500.0 * 0.8**i for i in range(40)]
    report = diagnose_log(write_tensorboard(tmp_path / "rsl", series))
    assert report["first_problem"]["kind"] == "value_loss_high_at_start"
    assert "returns of 10 or more per sample" in report["first_problem"]["message"]


def test_kl_driven_by_the_learning_rate_schedule(tmp_path):
    n = 20
    lr = [1e-4 * 1.5 ** min(i, 8) for i in range(n)]
    kl = [0.01 if i < 12 else 0.3 for i in range(n)]
    path = write_csv(
        tmp_path / "ppo.csv",
        [{"step": i, "lr": lr[i], "approx_kl": kl[i], "policy_loss": 0.01} for i in range(n)],
    )
    report = diagnose_log(path)
    assert report["first_problem"]["kind"] == "kl_high"
    assert "lr_drives_kl" in _kinds(report)
    assert "schedule drives the KL" in report["causes"][0]["cause"]


def test_group_advantages_all_zero(tmp_path):
    rows = [
        {
            "step": i,
            "mean_advantage": 0.0,
            "std_advantage": 0.0 if i >= 3 else 0.9,
            "policy_loss": 0.0 if i >= 3 else 0.2,
            "mean_reward": 1.0,
        }
        for i in range(6)
    ]
    report = diagnose_log(write_csv(tmp_path / "grpo.csv", rows))
    first = report["first_problem"]
    assert (first["kind"], first["iteration"]) == ("advantage_zero", 3)
    assert "no reward variance within the groups" in report["causes"][0]["cause"]


@pytest.mark.parametrize("kind", ["mimickit", "rsl_rl", "grpo_csv"])
def test_healthy_runs_get_no_anomaly(tmp_path, kind):
    if kind == "mimickit":
        path = write_mimickit_log(tmp_path / "run", MIMICKIT_HEALTHY).parent
    elif kind == "rsl_rl":
        path = write_tensorboard(tmp_path / "run", _rsl_rl_go2(crash=False))
    else:
        rows = [
            {"step": i, **{k: v * (1 + 0.02 * i) for k, v in GRPO_NORMAL.items()}}
            for i in range(10)
        ]
        path = write_csv(tmp_path / "grpo.csv", rows)
    report = build(load(path))
    assert report["status"] == "no anomaly found", report["first_problem"]
    assert report["chain"] == [] and report["causes"] == []


def test_doctor_cli_on_another_tools_log(tmp_path, capsys):
    path = write_csv(tmp_path / "grpo.csv", [SEED_002])
    out = tmp_path / "report"
    assert main(["doctor", str(path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "read as CSV metrics: 1 logged steps" in printed
    assert "[ratio_overflow] step 0" in printed
    saved = json.loads((out / "diagnosis.json").read_text())
    assert saved["first_problem"]["kind"] == "ratio_overflow"
    assert (out / "diagnosis.md").read_text().startswith("# Diagnosis of")


def test_no_false_alarm_on_the_committed_benchmark_logs():
    """Real healthy runs: every learning benchmark's log.txt (MimicKit's format, from
    DeepMimic, AMP and ADD runs of 20-80 minutes) read as another tool's log."""
    logs = sorted((REPO / "bench" / "results").glob("learn_*/log.txt"))
    assert len(logs) >= 5
    for path in logs:
        report = build(load(path))
        assert report["status"] == "no anomaly found", (path, report["first_problem"])
