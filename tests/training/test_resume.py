"""``--resume`` continues a run exactly as if it had never stopped.

Run A trains 4 iterations in one go (checkpoints at 2 and 4); run B trains 2, stops, and
is resumed to 4. Same seed, so everything after the resume must be bit-identical: the
checkpoint restores weights, normalizer, optimizer states, counters and RNG states, and
the trainer resets all envs right after each checkpoint (see mjmimic/training/trainer.py).
"""

from __future__ import annotations

import math

import pytest
import torch

from mjmimic.cli.main import main

# Per-iteration values that depend on the whole training history (timings excluded).
COMPARED = (
    "Samples",
    "Critic_Loss",
    "Actor_Loss",
    "Adv_Mean",
    "Adv_Std",
    "Return_Mean",
    "Value_Mean",
    "Approx_Kl",
    "Grad_Norm_Actor",
    "Test_Return",
    "Test_Episode_Length",
    "Train_Return",
    "Env_Reward_pose",
)


@pytest.fixture(scope="module")
def runs(kit, tiny_agent, tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    a, b = root / "A", root / "B"
    # Adaptive start times: the sampler's scores are env state that must come back too.
    env = kit.write_env_yaml(
        root / "env.yaml",
        {"  rand_reset: True\n": "  rand_reset: True\n  adaptive_sampling: {bin_seconds: 0.25}\n"},
    )
    train = lambda out, n: kit.train_argv(out, tiny_agent, env=env, iterations=n, seed=5)  # noqa: E731
    assert kit.run_cli(train(a, 4)).code == 0
    first = kit.run_cli(train(b, 2))
    assert first.code == 0, first.err
    saved = torch.load(b / "checkpoint.pt", weights_only=True)
    assert saved["env"]["start_sampler"]["visited"].any()
    b_after_2 = kit.read_log(b / "log.txt")
    resume_argv = ["train", "--resume", str(b), "--threads", "1"]
    resumed = kit.run_cli([*resume_argv, "--max_samples", str(kit.samples_for(4))])
    assert resumed.code == 0, resumed.err
    return a, b, b_after_2, resumed


def _same(x: float, y: float) -> bool:
    return x == y or (math.isnan(x) and math.isnan(y))


def test_resumed_weights_are_identical(runs):
    a, b, _, _ = runs
    model_a = torch.load(a / "model.pt", weights_only=True)
    model_b = torch.load(b / "model.pt", weights_only=True)
    assert model_a["iteration"] == model_b["iteration"] == 4
    assert model_a["model"].keys() == model_b["model"].keys()
    differ = [k for k, v in model_a["model"].items() if not torch.equal(v, model_b["model"][k])]
    assert not differ, f"tensors differ after resume: {differ}"


def test_resumed_optimizer_state_is_identical(runs):
    a, b, _, _ = runs
    opt_a = torch.load(a / "checkpoint.pt", weights_only=True)["training"]["actor_optimizer"]
    opt_b = torch.load(b / "checkpoint.pt", weights_only=True)["training"]["actor_optimizer"]
    for key, state in opt_a["state"].items():
        for name, value in state.items():
            assert torch.equal(value, opt_b["state"][key][name]), (key, name)


def test_resumed_log_rows_are_identical(runs, kit):
    a, b, b_after_2, resumed = runs
    log_a, log_b = kit.read_log(a / "log.txt"), kit.read_log(b / "log.txt")
    assert log_a.header == log_b.header
    assert (b / "log.txt").read_text().count("Iteration") == 1  # appended, one header
    assert len(b_after_2.rows) == 2
    assert log_b.column("Iteration") == [1.0, 2.0, 3.0, 4.0]
    for kept, written in zip(log_b.rows[:2], b_after_2.rows, strict=True):
        assert all(_same(kept[k], v) for k, v in written.items())  # first session's rows kept
    for i in range(4):
        for key in COMPARED:
            va, vb = log_a.rows[i][key], log_b.rows[i][key]
            assert _same(va, vb), f"iteration {i + 1} {key}: {va} != {vb}"
    # Wall time keeps counting from the checkpoint, not from zero.
    assert log_b.rows[2]["Wall_Time"] > log_b.rows[1]["Wall_Time"]
    assert "done: 256 samples, 4 iterations" in resumed.out


def test_resume_of_a_finished_run_trains_nothing(runs, kit):
    """Resuming with the budget already reached stops at once and leaves the weights."""
    _, b, _, _ = runs
    before = torch.load(b / "model.pt", weights_only=True)["model"]
    argv = ["train", "--resume", str(b), "--threads", "1"]
    result = kit.run_cli([*argv, "--max_samples", str(kit.samples_for(4))])
    assert result.code == 0, result.err
    after = torch.load(b / "model.pt", weights_only=True)["model"]
    assert all(torch.equal(v, after[k]) for k, v in before.items())
    assert len(kit.read_log(b / "log.txt").rows) == 4


def test_model_file_starts_from_weights(kit, tiny_agent, smoke_run, tmp_path, capsys):
    """``train --model_file`` starts from a model.pt's weights: with a learning rate of
    zero nothing changes, so the new run's weights equal the old ones."""
    agent = kit.write_agent_yaml(
        tmp_path / "frozen.yaml",
        actor_optimizer={"learning_rate": 1e-30},
        critic_optimizer={"learning_rate": 1e-30},
        normalizer_samples=0,
    )
    model = smoke_run.out_dir / "model.pt"
    out_dir = tmp_path / "run"
    argv = kit.train_argv(out_dir, agent, "--model_file", str(model), iterations=1)
    assert main(argv) == 0
    capsys.readouterr()
    old = torch.load(model, weights_only=True)["model"]
    new = torch.load(out_dir / "model.pt", weights_only=True)["model"]
    for key in ("actor.mean_head.weight", "critic.head.weight", "obs_norm.mean"):
        assert torch.allclose(old[key], new[key], atol=1e-12), key
