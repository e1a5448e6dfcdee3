"""The discriminator guards (AMP/ADD), on a PPO agent that reports a discriminator's
statistics: non-finite disc reward/loss named first with a discriminator cause, gradient
penalty spikes and explosions, accuracies pinned at 1 (the style reward collapsed), agent
and demo inputs on different scales (a motion that does not fit the robot), and what
``mjmimic doctor`` makes of an adversarial run's files.

``DiscPPO`` stands in for the AMP/ADD learners (same statistic names, ``accuracy_stats``
and ``adversarial_inputs``); its discriminator statistics are whatever the test scripts.
Guard logic is driven through ``HealthMonitor.after_update`` after one real iteration, as
``test_guards.py`` does for the critic-loss spike.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
import yaml

from mjmimic.agents.amp import AMPAgent
from mjmimic.agents.ppo import PPOAgent
from mjmimic.cli.main import main
from mjmimic.errors import ConfigError
from mjmimic.health.causes import rank
from mjmimic.health.config import HealthConfig
from mjmimic.health.events import TrainingHealthError
from mjmimic.health.monitor import Verdict
from mjmimic.training.trainer import Trainer

CALM_DISC = {
    "disc_reward_mean": 0.7,
    "disc_reward_std": 0.2,
    "disc_loss": 0.6,
    "disc_grad_penalty": 0.5,
    "grad_norm_disc": 1.0,
    "disc_agent_logit": -0.3,
    "disc_demo_logit": 0.4,
    "disc_agent_acc": 0.7,
    "disc_demo_acc": 0.75,
}
CALM_PPO = {"critic_loss": 1.0, "grad_norm_critic": 2.0, "grad_norm_actor": 3.0}
CALM_PPO |= {"imp_ratio": 1.0, "approx_kl": 0.01, "clip_frac": 0.1, "adv_mean": 0.0}
CALM_PPO |= {"adv_std": 1.0}
CALM = {**CALM_PPO, **CALM_DISC}


class DiscPPO(PPOAgent):
    """PPO with the AMP/ADD agents' statistic names, order and accuracy statistics."""

    # The real learner's names and order, not a copy of them.
    update_stat_order = AMPAgent.update_stat_order
    spike_stats = AMPAgent.spike_stats
    accuracy_stats = AMPAgent.accuracy_stats

    disc_reward: float = 0.7  # what the scripted discriminator "pays"
    disc_stats: dict[str, float] = CALM_DISC
    inputs: tuple[torch.Tensor, torch.Tensor] | None = None

    def _rewards_for_returns(self, stats):
        stats["disc_reward_mean"] = self.disc_reward
        stats["disc_reward_std"] = 0.0 if math.isfinite(self.disc_reward) else self.disc_reward
        return self.buffer.reward + self.disc_reward

    def _extra_updates(self):
        return {k: v for k, v in self.disc_stats.items() if not k.startswith("disc_reward")}

    def adversarial_inputs(self):
        return self.inputs


@pytest.fixture
def disc_trainer(tmp_path, health_kit):
    """``make(**agent_overrides)``: a squat trainer whose learner is a ``DiscPPO``."""
    made = []

    def make(name: str = "run", iterations: int = 1, **agent) -> Trainer:
        base = health_kit.make_trainer(tmp_path / name, iterations=iterations, **agent)
        made.append(base)
        learner = DiscPPO.from_env(base.agent.cfg, base.env)
        return Trainer(base.env, learner, base.settings, base.run_config)

    yield make
    for trainer in made:
        trainer.env.engine.close()


def report_of(trainer) -> dict:
    return json.loads((trainer.settings.out_dir / "diagnosis.json").read_text())


def feed(health, start: int, stats: dict, times: int = 1) -> list:
    """``times`` updates with ``stats`` from iteration ``start`` on; the new findings."""
    before = len(health.events)
    for i in range(times):
        health.start_iteration(start + i)
        assert health.after_update(dict(stats)) is Verdict.OK  # warnings only
    return health.events[before:]


# ---------------------------------------------------------------------- non-finite


def test_nan_disc_reward_is_named_before_the_losses_it_poisons(disc_trainer):
    """The K1 symptom (critic loss large, actor loss NaN at iteration 0) when the
    discriminator reward is the culprit: the report names disc_reward_mean, not the actor."""
    trainer = disc_trainer()
    trainer.agent.disc_reward = math.nan
    with pytest.raises(TrainingHealthError) as info:
        trainer.train()
    assert "non-finite disc_reward_mean" in str(info.value)
    report = report_of(trainer)
    first = report["first_problem"]
    assert first["kind"] == "nonfinite_update" and first["iteration"] == 0
    assert first["tensor"] == "disc_reward_mean"
    # The later statistics are NaN too (returns -> advantages -> losses), and recorded.
    assert math.isnan(first["numbers"]["critic_loss"])
    assert math.isnan(first["numbers"]["adv_std"])
    top = report["causes"][0]
    assert top["cause"] == "the discriminator reward is non-finite (disc_reward_mean)"
    assert "computed before the returns" in top["why"]
    assert any("disc_reward_scale" in t for t in top["try"])


def test_nan_disc_loss_blames_the_discriminator_update(disc_trainer):
    trainer = disc_trainer(health={"on_nonfinite": "stop"})
    trainer.agent.disc_stats = {**CALM_DISC, "disc_loss": math.nan, "grad_norm_disc": math.inf}
    with pytest.raises(TrainingHealthError):
        trainer.train()
    report = report_of(trainer)
    assert report["first_problem"]["tensor"] == "disc_loss"  # the first in the update's order
    top = report["causes"][0]
    assert top["cause"] == "the discriminator update diverged (disc_loss non-finite)"
    assert "agent.disc_optimizer.learning_rate" in top["try"][0]
    assert any("disc_grad_penalty" in t for t in top["try"])


# ---------------------------------------------------------------------- gradient penalty


def test_grad_penalty_spike_and_explosion_have_adversarial_causes(disc_trainer):
    trainer = disc_trainer()
    trainer.train()
    health = trainer.health
    assert feed(health, 1, CALM, times=6) == []
    # 100x its running median, still below the absolute limit: the relative check.
    (spike,) = feed(health, 7, {**CALM, "disc_grad_penalty": 60.0})
    assert spike.kind == "disc_grad_penalty_spike" and spike.numbers["median"] == 0.5
    assert spike.numbers["disc_agent_acc"] == 0.7  # the discriminator's context rides along
    causes = rank(spike, trainer.run_config, health.events)
    assert causes[0]["cause"].startswith("the discriminator is sharpening")
    assert "raise agent.disc_grad_penalty" in causes[0]["try"][0]
    # Above health.max_disc_grad_penalty (1000): an explosion whatever the history.
    found = {e.kind: e for e in feed(health, 8, {**CALM, "disc_grad_penalty": 5e3})}
    assert set(found) == {"disc_grad_penalty_spike", "disc_grad_penalty_explosion"}
    explosion = found["disc_grad_penalty_explosion"]
    assert "5e+03 (> 1000)" in explosion.message
    assert rank(explosion, trainer.run_config, health.events)[0]["cause"].startswith(
        "the discriminator is sharpening"
    )


def test_disc_and_actor_gradient_spikes_are_separate_findings(disc_trainer):
    trainer = disc_trainer()
    trainer.train()
    health = trainer.health
    feed(health, 1, CALM, times=6)
    both = {**CALM, "grad_norm_actor": 3e3, "grad_norm_disc": 1e3}
    kinds = sorted(e.kind for e in feed(health, 7, both))
    assert kinds == ["grad_norm_disc_spike", "grad_norm_spike"]


# ---------------------------------------------------------------------- accuracy


def test_accuracy_pinned_at_one_is_a_collapsed_style_reward(disc_trainer):
    trainer = disc_trainer()
    trainer.train()
    health = trainer.health
    assert health.cfg.disc_acc_iterations == 20 and health.cfg.disc_acc_threshold == 0.99
    pinned = {**CALM, "disc_agent_acc": 1.0, "disc_demo_acc": 0.995, "disc_reward_mean": 1e-3}
    assert feed(health, 1, pinned, times=19) == []
    # One iteration where D errs restarts the count ...
    assert feed(health, 20, {**pinned, "disc_demo_acc": 0.98}) == []
    assert feed(health, 21, pinned, times=19) == []
    # ... the 20th pinned one in a row is the finding.
    (event,) = feed(health, 40, pinned)
    assert event.kind == "disc_accuracy_saturated" and event.iteration == 40
    assert "separates agent from demo perfectly: the style reward has collapsed" in event.message
    assert "disc_agent_acc 1.000, disc_demo_acc 0.995" in event.message
    assert event.numbers["iterations_in_a_row"] == 20
    causes = rank(event, trainer.run_config, health.events)
    assert causes[0]["cause"].startswith("the discriminator separates agent from demo")
    tries = " ".join(causes[0]["try"])
    for advice in ("disc_grad_penalty", "disc_optimizer.learning_rate", "disc_replay_samples"):
        assert advice in tries
    assert "mjmimic doctor --arg_file" in tries


def test_accuracy_guard_needs_the_agents_accuracy_stats(trainer_factory):
    """A learner without accuracy_stats (plain PPO) is never judged on them."""
    trainer = trainer_factory(iterations=1)
    trainer.train()
    assert trainer.agent.accuracy_stats == ()
    assert trainer.agent.adversarial_inputs() is None
    pinned = {**CALM, "disc_agent_acc": 1.0, "disc_demo_acc": 1.0}
    assert feed(trainer.health, 1, pinned, times=25) == []


# ---------------------------------------------------------------------- input scales


def _inputs(n: int = 256, dims: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    agent = 0.1 * torch.randn(n, dims, generator=g)
    demo = 0.1 * torch.randn(n, dims, generator=g)
    return agent, demo


def test_demo_dims_the_agent_never_reaches_are_named(disc_trainer):
    """A demo joint in another range than the robot's (the K1 clip that did not fit):
    dim 3's demo values sit at 1.3 rad where the agent's are at 0."""
    trainer = disc_trainer(
        iterations=2, health={"disc_obs_std_ratio": 20.0, "disc_obs_check_every": 1}
    )
    labels = [f"dof_pos[{n}]" for n in ("a", "b", "c", "Left_Hip_Roll", "d", "e")]
    trainer.env.disc_obs_labels = lambda: labels
    agent, demo = _inputs()
    demo[:, 3] += 1.3
    demo[:, 5] *= 30.0  # a std 30x the agent's
    trainer.agent.inputs = (agent, demo)
    trainer.train()  # iteration 1 (not the first update, 0): checked
    (event,) = [e for e in trainer.health.events if e.kind == "disc_obs_mismatch"]
    assert event.iteration == 1
    assert event.labels == ["dof_pos[Left_Hip_Roll]", "dof_pos[e]"] and event.dims == [3, 5]
    assert "2 of 6 dims differ" in event.message
    assert "worst dof_pos[Left_Hip_Roll]: demo 1.29 +- 0.1 vs agent " in event.message
    numbers = event.numbers["dof_pos[Left_Hip_Roll]"]
    assert numbers["gap"] > 10 and numbers["demo_mean"] == pytest.approx(1.3, abs=0.02)
    assert event.numbers["dof_pos[e]"]["std_ratio"] > 20
    top = rank(event, trainer.run_config, trainer.health.events)[0]
    assert top["cause"] == "the reference motion does not fit the robot"
    assert "mjmimic doctor --arg_file" in top["try"][0]
    # Dims already reported are not reported again.
    assert feed(trainer.health, 2, CALM, times=3) == []

    # mjmimic doctor on the run directory surfaces it from health_events.jsonl.
    run_dir = trainer.settings.out_dir
    assert main(["doctor", str(run_dir)]) == 0
    report = json.loads((run_dir / "diagnosis.json").read_text())
    assert report["first_problem"]["kind"] == "disc_obs_mismatch"
    assert report["causes"][0]["cause"] == "the reference motion does not fit the robot"


def test_input_check_falls_back_to_indices_and_skips_a_zero_target(disc_trainer):
    trainer = disc_trainer(health={"disc_obs_check_every": 1})
    agent, demo = _inputs()
    trainer.agent.inputs = (agent, demo)
    trainer.train()
    assert [e for e in trainer.health.events if e.kind == "disc_obs_mismatch"] == []
    demo = demo.clone()
    demo[:, 1] -= 2.0
    trainer.agent.inputs = (agent, demo)
    (event,) = feed(trainer.health, 1, CALM)
    assert event.labels == ["disc[1]"]  # the squat env has no disc_obs_labels
    assert feed(trainer.health, 2, CALM) == []  # reported dims are not reported again
    # An ADD-style zero positive is not a distribution of demo inputs: not compared.
    trainer.agent.inputs = (agent + 5.0, torch.zeros_like(agent))
    assert feed(trainer.health, 3, CALM) == []


def test_new_config_keys_are_validated():
    HealthConfig().validate()
    with pytest.raises(ConfigError, match="disc_acc_threshold must be in"):
        HealthConfig(disc_acc_threshold=1.5).validate()
    with pytest.raises(ConfigError, match="disc_acc_iterations must be >= 0"):
        HealthConfig(disc_acc_iterations=-1).validate()
    with pytest.raises(ConfigError, match="max_disc_grad_penalty must be >= 0"):
        HealthConfig(max_disc_grad_penalty=-1.0).validate()


# ---------------------------------------------------------------------- doctor on a log

LOG_KEYS = ["Iteration", "Samples", "Critic_Loss", "Actor_Loss", "Adv_Std", "Disc_Reward_Mean"]
LOG_KEYS += ["Disc_Loss", "Disc_Grad_Penalty", "Grad_Norm_Disc", "Disc_Agent_Acc"]
LOG_KEYS += ["Disc_Demo_Acc"]


def _write_adversarial_run(run_dir, rows: list[list[float]]) -> None:
    run_dir.mkdir()
    config = {
        "agent": {
            "agent_name": "ADD",
            "disc_grad_penalty": 2.0,
            "disc_optimizer": {"learning_rate": 2.5e-4},
        }
    }
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    lines = ["  ".join(LOG_KEYS)] + ["  ".join(f"{v:.6g}" for v in row) for row in rows]
    (run_dir / "log.txt").write_text("\n".join(lines) + "\n")


def test_doctor_names_a_nan_disc_reward_in_a_log(tmp_path, capsys):
    run = tmp_path / "k1_add"
    nan = math.nan
    # The K1 report's row with the discriminator columns an ADD run logs.
    _write_adversarial_run(run, [[1, 4096, 36.3, nan, 4.74, nan, 0.7, 1.0, 2.0, 0.6, 0.6]] * 3)
    assert main(["doctor", str(run)]) == 0
    out = capsys.readouterr().out
    assert "[nonfinite_update] iteration 0: log.txt: Disc_Reward_Mean, Actor_Loss = nan" in out
    report = json.loads((run / "diagnosis.json").read_text())
    assert report["causes"][0]["cause"].startswith("the discriminator reward is non-finite")
    assert report["evidence"]["log_tail"]["Disc_Agent_Acc"] == [0.6, 0.6, 0.6]


def test_doctor_replays_the_discriminator_guards_on_a_log(tmp_path, capsys):
    run = tmp_path / "amp"
    calm = [1.0, -0.1, 1.0, 0.7, 0.6, 0.5, 1.0, 0.7, 0.7]
    rows = [[i + 1, 4096 * (i + 1), *calm] for i in range(6)]
    rows.append([7, 7 * 4096, 1.0, -0.1, 1.0, 0.7, 0.6, 2e3, 1.0, 0.7, 0.7])  # penalty x4000
    rows += [[i + 1, 4096 * (i + 1), *calm[:7], 1.0, 1.0] for i in range(7, 30)]  # pinned
    _write_adversarial_run(run, rows)
    assert main(["doctor", str(run)]) == 0
    report = json.loads((run / "diagnosis.json").read_text())
    counts = report["finding_counts"]
    assert counts == {
        "disc_grad_penalty_spike": 1,
        "disc_grad_penalty_explosion": 1,
        "disc_accuracy_saturated": 1,
    }
    assert report["first_problem"]["kind"] == "disc_grad_penalty_spike"
    assert report["first_problem"]["iteration"] == 6
    assert "raise agent.disc_grad_penalty (now 2.0)" in report["causes"][0]["try"][0]
    assert "first:  [disc_grad_penalty_spike] iteration 6" in capsys.readouterr().out
