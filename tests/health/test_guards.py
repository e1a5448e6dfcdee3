"""Each failure injected into a tiny training run, and what the guards say about it.

Every test breaks one thing, trains for one or two iterations and checks that the first
finding and the top-ranked cause in diagnosis.json name that thing.
"""

from __future__ import annotations

import json
import math

import imageio.v2 as imageio
import numpy as np
import pytest
import torch

from mjmimic.cli.main import main
from mjmimic.health.events import TrainingHealthError
from mjmimic.health.physics_history import replay, saved_poses


def diagnosis(trainer) -> dict:
    return json.loads((trainer.settings.out_dir / "diagnosis.json").read_text())


def stop_with_diagnosis(trainer) -> dict:
    with pytest.raises(TrainingHealthError) as info:
        trainer.train()
    report = diagnosis(trainer)
    assert "diagnosis" in str(info.value) and "\n" not in str(info.value)
    assert (trainer.settings.out_dir / "diagnosis.md").is_file()
    return report


def patch_step(env, at_step: int, change) -> None:
    """Make ``env.step`` call ``change(obs, reward, info)`` on its ``at_step``-th call."""
    original = env.step
    calls = [0]

    def step(action):
        obs, reward, done, info = original(action)
        if calls[0] == at_step:
            change(obs, reward, info)
        calls[0] += 1
        return obs, reward, done, info

    env.step = step


def test_healthy_run_is_silent(trainer_factory, capsys):
    trainer = trainer_factory(iterations=2)
    trainer.train()
    assert trainer.health.events == []
    assert capsys.readouterr().err == ""
    assert not (trainer.settings.out_dir / "diagnosis.json").exists()


def test_nan_in_an_observation_term_is_named(trainer_factory):
    trainer = trainer_factory()
    dim = trainer.health.labels.index("key_pos[left_hand].z")

    def poison(obs, reward, info):
        obs[2, dim] = math.nan

    patch_step(trainer.env, 3, poison)
    report = stop_with_diagnosis(trainer)
    first = report["first_problem"]
    assert first["kind"] == "nonfinite_obs"
    assert first["labels"] == ["key_pos[left_hand].z"]
    assert first["env_ids"] == [2] and first["iteration"] == 0 and first["step"] == 3
    assert "key_pos[left_hand].z" in first["message"]
    # The physics was finite: the observation code is blamed, not the simulation.
    assert report["causes"][0]["cause"].startswith("the observation code produced key_pos")


def test_nan_in_a_reward_term_is_named(trainer_factory):
    trainer = trainer_factory()

    def poison(obs, reward, info):
        reward[1] = math.nan
        info["reward_terms"]["key_pos"][1] = math.nan

    patch_step(trainer.env, 2, poison)
    report = stop_with_diagnosis(trainer)
    first = report["first_problem"]
    assert first["kind"] == "nonfinite_reward"
    assert first["labels"] == ["key_pos"] and first["env_ids"] == [1]
    assert report["causes"][0]["cause"].startswith("reward term(s) key_pos")
    assert report["evidence"]["reward_terms_at_last_step"]["key_pos"]["nonfinite"] == 1


def test_nan_in_a_parameter_is_named(trainer_factory):
    trainer = trainer_factory()
    with torch.no_grad():
        trainer.agent.actor.mean_head.weight[5, 0] = math.nan
    report = stop_with_diagnosis(trainer)
    first = report["first_problem"]
    assert first["kind"] == "nonfinite_action"
    assert first["step"] == 0 and first["iteration"] == 0
    assert first["labels"] == [trainer.env.robot.dof_names[5]]
    assert first["upstream"][0].startswith("actor.mean_head.weight: 1 of")
    assert "actor parameters are non-finite" in report["causes"][0]["cause"]


def poke_qvel(engine, env: int, dof: int, value: float) -> None:
    """Write one DoF velocity of one env through save_state/restore_state (a MuJoCo state
    row is time, qpos, qvel, ...)."""
    row = engine.save_state()[env : env + 1].clone()
    row[0, 1 + engine.model.nq + 6 + dof] = value
    engine.restore_state(row, torch.tensor([env]))


def poison_qvel_of_env_3_at_step_4(engine) -> None:
    original = engine.step
    calls = [0]

    def step(command):
        original(command)
        calls[0] += 1
        if calls[0] == 4:
            poke_qvel(engine, 3, 2, math.nan)

    engine.step = step


def test_nan_in_physics_state_is_named_and_saved_for_replay(trainer_factory):
    trainer = trainer_factory()
    engine = trainer.env.engine
    poison_qvel_of_env_3_at_step_4(engine)
    report = stop_with_diagnosis(trainer)
    first = report["first_problem"]
    assert first["kind"] == "nonfinite_physics"
    assert first["env_ids"] == [3] and first["step"] == 3
    name = trainer.env.robot.dof_names[2]
    assert any(label.startswith(f"qvel[{name}] = nan") for label in first["labels"])
    saved = np.load(report["files"]["physics_history"])
    assert saved["env_ids"].tolist() == [3] and saved["state"].shape[0] == 4
    assert np.isnan(saved["state"][-1, 0]).any()
    # The steps before the NaN replay to the recorded states.
    states = replay(engine.model, report["files"]["physics_history"], 0, engine.num_substeps)
    np.testing.assert_allclose(states[:2], saved["state"][1:3, 0], atol=1e-6)


def test_doctor_renders_the_saved_states_up_to_the_last_finite_one(trainer_factory, capsys):
    trainer = trainer_factory()
    poison_qvel_of_env_3_at_step_4(trainer.env.engine)
    stop_with_diagnosis(trainer)
    run_dir = trainer.settings.out_dir
    video = run_dir / "blowup.gif"
    code = main(["doctor", str(run_dir), "--video", str(video)])
    out = capsys.readouterr().out
    assert code == 0 and "status: stopped" in out
    # 4 saved steps; the NaN velocity integrates into qpos only on a later step, so all 4
    # poses are finite here and every one is a frame.
    assert "(4 control steps of env 3)" in out
    frames = imageio.mimread(video)
    assert len(frames) == 4 and np.asarray(frames[0]).std() > 1
    code = main(["doctor", str(run_dir), "--video", str(video.with_suffix(".mp4")), "--env", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "--env 1 is out of range" in err and "ids [3]" in err


def test_saved_poses_stop_at_the_first_non_finite_row(tmp_path):
    state = np.zeros((5, 2, 1 + 3 + 2))
    state[:, :, 1:4] = np.arange(5)[:, None, None]
    state[3, 1, 2] = math.inf
    path = tmp_path / "h.npz"
    np.savez(path, state=state, env_ids=np.array([7, 9]))
    qpos, env_id, dropped = saved_poses(path, 1, 3)
    assert env_id == 9 and dropped == 2 and qpos.shape == (3, 3)
    assert qpos[:, 0].tolist() == [0.0, 1.0, 2.0]
    assert saved_poses(path, 0, 3)[2] == 0


def test_mujoco_reset_of_an_unstable_env_is_a_physics_warning(trainer_factory, capsys):
    trainer = trainer_factory(iterations=1)
    engine = trainer.env.engine
    original = engine.step
    calls = [0]

    def step(command):
        calls[0] += 1
        if calls[0] == 2:
            command = command.clone()
            command[1] = math.nan  # MuJoCo resets env 1 and carries on
        original(command)

    engine.step = step
    trainer.train()  # on_physics: warn (default)
    kinds = {e.kind: e for e in trainer.health.events}
    assert kinds["physics_reset"].env_ids == [1]
    assert "MuJoCo reset" in capsys.readouterr().err


def test_exploding_ratio_points_at_stale_log_probs(trainer_factory):
    trainer = trainer_factory(health={"on_learner": "stop"})
    buffer = trainer.agent.buffer
    original = buffer.add_action

    def add_action(**records):
        original(**{**records, "logp": records["logp"] - 20.0})  # ratio e^20 = 4.9e8

    buffer.add_action = add_action
    report = stop_with_diagnosis(trainer)
    assert report["first_problem"]["kind"] == "logp_mismatch"
    assert "do not match" in report["causes"][0]["cause"]
    assert report["causes"][0]["score"] > 0.9


def test_exploding_ratio_is_reported_with_its_numbers(trainer_factory):
    trainer = trainer_factory(iterations=1)
    buffer = trainer.agent.buffer
    original = buffer.add_action

    def add_action(**records):
        original(**{**records, "logp": records["logp"] - 20.0})

    buffer.add_action = add_action
    trainer.train()  # on_learner: warn (default), the run goes on
    ratio = next(e for e in trainer.health.events if e.kind == "ratio_explosion")
    assert ratio.numbers["imp_ratio"] > 1e6 and ratio.numbers["approx_kl"] > 10


def test_a_subclass_statistic_is_guarded_by_name(trainer_factory):
    """An extra optimizer's loss (a discriminator's, say) that the agent lists in
    update_stat_order is checked like PPO's own: a NaN there stops the run naming it."""
    trainer = trainer_factory(health={"on_nonfinite": "stop"})
    agent = trainer.agent
    agent.update_stat_order = (*agent.update_stat_order, "disc_loss")
    agent._extra_updates = lambda: {"disc_loss": math.nan}
    report = stop_with_diagnosis(trainer)
    assert report["first_problem"]["kind"] == "nonfinite_update"
    assert "non-finite disc_loss" in report["first_problem"]["message"]


def test_zero_variance_observation_dims_are_named(trainer_factory):
    trainer = trainer_factory(iterations=1)
    env = trainer.env
    dims = [trainer.health.labels.index(f"key_pos[head].{a}") for a in "xyz"]
    original_step, original_reset = env.step, env.reset

    def freeze(obs):
        obs[:, dims] = 0.3 + 1e-7 * torch.randn(obs.shape[0], 3)  # float32 noise level
        return obs

    def step(action):
        obs, reward, done, info = original_step(action)
        return freeze(obs), reward, done, info

    env.step = step
    env.reset = lambda ids=None: freeze(original_reset(ids))
    trainer.train()
    event = next(e for e in trainer.health.events if e.kind == "obs_zero_variance")
    assert event.dims == dims
    assert event.labels == ["key_pos[head].x", "key_pos[head].y", "key_pos[head].z"]
    report_causes = __import__("mjmimic.health.causes", fromlist=["rank"]).rank(
        event, trainer.run_config, trainer.health.events
    )
    assert "remove 'head' from env.key_bodies" in report_causes[0]["try"][0]


def test_advantages_without_spread(trainer_factory, monkeypatch):
    import mjmimic.agents.ppo as ppo

    # Returns equal to the values: every advantage is exactly 0 (mean 0, std 0).
    monkeypatch.setattr(ppo, "td_lambda_returns", lambda reward, done, nv, g, lam: reward * 0)
    trainer = trainer_factory(health={"on_learner": "stop"})
    trainer.agent.buffer.value.zero_()
    original = trainer.agent.critic.forward
    trainer.agent.critic.forward = lambda x: original(x) * 0
    report = stop_with_diagnosis(trainer)
    first = report["first_problem"]
    assert first["kind"] == "adv_zero_spread"
    assert first["numbers"]["adv_std"] == 0.0
    assert report["causes"][0]["cause"].startswith("rewards carry no information")


def test_negative_std_stops_the_run(trainer_factory, monkeypatch):
    from mjmimic.agents.distributions import DiagGaussian

    # A policy whose std is a raw parameter that went negative.
    monkeypatch.setattr(DiagGaussian, "std", property(lambda self: -self.log_std.exp()))
    trainer = trainer_factory()
    report = stop_with_diagnosis(trainer)
    first = report["first_problem"]
    assert first["kind"] == "nonpositive_std" and first["iteration"] == 0
    assert first["numbers"]["std_min"] < 0
    assert "not positive" in report["causes"][0]["cause"]


def test_crash_writes_a_diagnosis(trainer_factory):
    trainer = trainer_factory()

    def crash(obs, reward, info):
        raise RuntimeError("normal expects all elements of std >= 0.0")

    patch_step(trainer.env, 1, crash)
    with pytest.raises(RuntimeError):
        trainer.train()
    report = diagnosis(trainer)
    assert report["status"] == "crashed"
    assert report["first_problem"]["kind"] == "crash"
    assert "not positive" in report["causes"][0]["cause"]


def test_skip_update_drops_a_poisoned_rollout_and_goes_on(trainer_factory):
    trainer = trainer_factory(iterations=2, health={"on_nonfinite": "skip_update"})

    def poison(obs, reward, info):
        reward[0] = math.nan

    patch_step(trainer.env, 2, poison)
    trainer.train()
    assert [e.kind for e in trainer.health.events] == ["nonfinite_reward"]
    assert trainer.iteration == 2
    assert all(torch.isfinite(p).all() for p in trainer.agent.model.parameters())
    assert torch.isfinite(trainer.agent.obs_norm.var).all()


def test_rollback_without_checkpoint_stops(trainer_factory):
    trainer = trainer_factory(health={"on_nonfinite": "rollback"})
    patch_step(trainer.env, 0, lambda obs, reward, info: reward.fill_(math.nan))
    report = stop_with_diagnosis(trainer)
    assert any("no checkpoint.pt" in u for u in report["first_problem"]["upstream"])


def test_huge_velocities_are_one_physics_warning_per_iteration(trainer_factory, capsys):
    trainer = trainer_factory(iterations=1)
    engine = trainer.env.engine
    original = engine.step

    def step(command):
        original(command)
        poke_qvel(engine, 0, 0, 5e3)  # finite, but no joint does that

    engine.step = step
    trainer.train()  # on_physics: warn (default)
    blowups = [e for e in trainer.health.events if e.kind == "physics_blowup"]
    assert len(blowups) == 1 and blowups[0].env_ids == [0]
    assert blowups[0].numbers["max_abs_qvel"] == 5e3
    assert blowups[0].numbers["repeats_this_iteration"] == 7  # 8 steps, one finding
    assert capsys.readouterr().err.count("physics blow-up") == 1


def test_rollback_returns_to_the_checkpoint_and_goes_on(trainer_factory):
    trainer = trainer_factory(iterations=3, iters_per_output=1, health={"on_nonfinite": "rollback"})
    original, poisoned = trainer.env.step, []

    def step(action):
        obs, reward, done, info = original(action)
        # Once, in the third iteration's rollout (after the checkpoint of iteration 2).
        if trainer.iteration == 2 and trainer.agent.training and not poisoned:
            poisoned.append(reward.fill_(math.nan))
        return obs, reward, done, info

    trainer.env.step = step
    rollback, rollbacks = trainer.rollback, []
    trainer.rollback = lambda: rollbacks.append(rollback())
    trainer.train()
    assert len(rollbacks) == 1
    assert [(e.kind, e.iteration) for e in trainer.health.events] == [("nonfinite_reward", 2)]
    assert trainer.iteration == 3
    assert all(torch.isfinite(p).all() for p in trainer.agent.model.parameters())


def test_critic_loss_explosion_is_judged_against_its_running_scale(trainer_factory):
    from mjmimic.health.causes import rank
    from mjmimic.health.monitor import Verdict

    trainer = trainer_factory(iterations=1)
    trainer.train()  # a real rollout for the checks that read the buffer
    health = trainer.health
    calm = {"critic_loss": 1.0, "grad_norm_critic": 2.0, "grad_norm_actor": 3.0}
    calm |= {"imp_ratio": 1.0, "approx_kl": 0.01, "clip_frac": 0.1, "adv_mean": 0.0}
    calm |= {"adv_std": 1.0}
    for iteration in range(1, 7):
        health.start_iteration(iteration)
        assert health.after_update(calm) is Verdict.OK
    assert health.events == []
    health.start_iteration(7)
    assert health.after_update({**calm, "critic_loss": 500.0}) is Verdict.OK  # warn
    (spike,) = health.events
    assert spike.kind == "critic_loss_spike" and spike.numbers["median"] == 1.0
    assert "value_clip" in " ".join(rank(spike, trainer.run_config, health.events)[0]["try"])


def test_guards_do_not_change_a_healthy_run(trainer_factory):
    """Same seed with guards on and off: the same numbers in every learning column."""
    from mjmimic.logging.table_log import read_table

    logs = []
    for name, enabled in (("on", True), ("off", False)):
        trainer = trainer_factory(name, iterations=2, health={"enabled": enabled})
        trainer.train()
        logs.append(read_table(trainer.settings.out_dir / "log.txt"))
    timing = {"Wall_Time", "Samples_Per_Sec", "Collect_Fraction"}
    for key in logs[0]:
        if key not in timing:
            np.testing.assert_array_equal(logs[0][key], logs[1][key], err_msg=key)
