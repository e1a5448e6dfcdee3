"""``mjmimic doctor`` (post-mortem and pre-flight) and ``mjmimic explain`` through the CLI."""

from __future__ import annotations

import json
import math

import yaml

from mjmimic.cli.main import main

LOG_KEYS = ["Iteration", "Samples", "Train_Return", "Critic_Loss", "Actor_Loss", "Imp_Ratio"]
LOG_KEYS += ["Approx_Kl", "Clip_Frac", "Adv_Mean", "Adv_Std"]


def write_run(run_dir, rows: list[list[float]], health: dict | None = None) -> None:
    """A run directory as a run without guards leaves it: config.yaml and log.txt."""
    run_dir.mkdir()
    config = {"agent": {"actor_optimizer": {"learning_rate": 1e-3}, "health": health or {}}}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    lines = ["  ".join(LOG_KEYS)] + ["  ".join(f"{v:.6g}" for v in row) for row in rows]
    (run_dir / "log.txt").write_text("\n".join(lines) + "\n")


def test_doctor_finds_iteration0_nan_in_a_log(tmp_path, capsys):
    run = tmp_path / "k1"
    nan = math.nan
    # The K1 report: critic loss 36.3, actor loss NaN at the first iteration.
    write_run(run, [[1, 4096, 0.2, 36.3, nan, nan, nan, 0.0, 0.0, 1.0]] * 3)
    assert main(["doctor", str(run)]) == 0
    out = capsys.readouterr().out
    assert "[nonfinite_update] iteration 0" in out and "Actor_Loss = nan" in out
    report = json.loads((run / "diagnosis.json").read_text())
    assert report["first_problem"]["kind"] == "nonfinite_update"
    assert report["evidence"]["log_tail"]["Critic_Loss"] == [36.3, 36.3, 36.3]
    assert (run / "diagnosis.md").read_text().startswith(f"# Diagnosis of {run}")


def test_doctor_names_a_ratio_explosion_in_a_log(tmp_path, capsys):
    run = tmp_path / "ratio"
    healthy = [[i, 4096 * i, 10.0, 0.5, -0.01, 1.0, 0.01, 0.1, 0.0, 0.3] for i in (1, 2)]
    # The second report: ratio 4.8e8, KL 2e5, advantage mean exactly 0.
    write_run(run, [*healthy, [3, 3 * 4096, 9.0, 0.6, 3.0, 4.8e8, 2e5, 0.99, 0.0, 0.3]])
    assert main(["doctor", str(run)]) == 0
    report = json.loads((run / "diagnosis.json").read_text())
    first = report["first_problem"]
    assert first["kind"] == "ratio_explosion" and first["iteration"] == 2
    causes = [c["cause"] for c in report["causes"]]
    assert causes[0] == "actor steps are far too large for the policy's std"
    assert "learning_rate from 0.001 to 0.0001" in report["causes"][0]["try"][0]
    assert any("mean of exactly 0 is expected" in c for c in causes)
    assert "Imp_Ratio 4.8e+08" in report["first_problem"]["message"]


def test_doctor_on_a_run_stopped_by_a_guard(tmp_path, capsys, health_kit):
    trainer = health_kit.make_trainer(tmp_path / "run")
    original = trainer.env.step

    def step(action):
        obs, reward, done, info = original(action)
        reward[2] = math.nan
        return obs, reward, done, info

    trainer.env.step = step
    try:
        trainer.train()
    except Exception as exc:  # the guard's stop
        assert "diagnosis" in str(exc)
    trainer.env.engine.close()
    (trainer.settings.out_dir / "diagnosis.json").unlink()
    assert main(["doctor", str(trainer.settings.out_dir)]) == 0
    report = json.loads((trainer.settings.out_dir / "diagnosis.json").read_text())
    assert report["first_problem"]["kind"] == "nonfinite_reward"
    assert report["first_problem"]["env_ids"] == [2]


def test_doctor_refuses_a_directory_without_a_run(tmp_path, capsys):
    assert main(["doctor", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mjmimic: error: ") and "config.yaml" in err and err.count("\n") == 1


def test_preflight_flags_slow_physics_and_a_dead_reward_term(tmp_path, capsys, health_kit):
    k = health_kit
    env = yaml.safe_load(k.SQUAT_ENV.read_text())
    env["env"]["char_file"] = str(k.REPO / "mjmimic/assets/robots/humanoid/humanoid.xml")
    env["env"]["motion_file"] = str(k.REPO / "mjmimic/assets/motions/humanoid_squat.npz")
    env["env"]["reward_key_pos_scale"] = 1e6
    env["engine"] = {"sim_freq": 60}
    env_file = tmp_path / "env.yaml"
    env_file.write_text(yaml.safe_dump(env))
    argv = ["doctor", "--env_config", str(env_file), "--agent_config"]
    argv += [str(k.write_agent(tmp_path / "agent.yaml")), "--engine_config", str(k.ENGINE)]
    assert main([*argv, "--num_envs", "4", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "[warn ] rates: physics at 60 Hz" in out
    assert "term(s) key_pos are ~0" in out
    assert "[ok   ] PD gains: kp" in out
    assert "[ok   ] motion DoFs: humanoid_squat.npz: 28 named DoFs for a 28-DoF robot" in out
    assert "pre-flight: warnings" in out.splitlines()[-1]


def _arg_file(tmp_path, kit) -> str:
    path = tmp_path / "run.txt"
    path.write_text(
        f"# a run\n--engine_config {kit.ENGINE}\n--env_config {kit.SQUAT_ENV}\n"
        f"--agent_config {kit.BASE_AGENT}\n--num_envs 8\n"
    )
    return str(path)


def test_explain_lists_values_origins_and_meanings(tmp_path, capsys, health_kit):
    arg_file = _arg_file(tmp_path, health_kit)
    assert main(["explain", "--arg_file", arg_file, "--num_envs", "16"]) == 0
    out = capsys.readouterr().out
    assert "--num_envs = 16  [command line]" in out
    assert f"--env_config = {health_kit.SQUAT_ENV}  [{arg_file}:3]" in out
    assert f"agent.discount = 0.99  [{health_kit.BASE_AGENT}:22]" in out
    # Advice (typical) and what the loader accepts (allowed: the key's bounds).
    assert "reward discount gamma (typical 0.95-0.995; allowed in (0, 1])" in out
    assert "parallel environments (allowed >= 1)" in out
    assert "agent.health.on_nonfinite = stop  [default]" in out
    assert f"env.reward_pose_w = 0.5  [{health_kit.SQUAT_ENV}:" in out
    assert f"engine.env_spacing = 5.0  [{health_kit.ENGINE}:6]  UNUSED" in out
    assert "set but unused by mjmimic (kept for MimicKit files): engine.env_spacing" in out


def test_explain_one_key(tmp_path, capsys, health_kit):
    arg_file = _arg_file(tmp_path, health_kit)
    assert main(["explain", "--arg_file", arg_file, "agent.discount"]) == 0
    assert main(["explain", "agent.discount", "--arg_file", arg_file]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4 and out[0] == out[2]
    assert out[0] == f"agent.discount = 0.99  [{health_kit.BASE_AGENT}:22]"


def test_explain_unknown_key_is_one_line_with_did_you_mean(tmp_path, capsys, health_kit):
    agent = yaml.safe_load(health_kit.BASE_AGENT.read_text())
    agent["discont"] = 0.9
    bad = tmp_path / "agent.yaml"
    bad.write_text(yaml.safe_dump(agent))
    argv = ["explain", "--env_config", str(health_kit.SQUAT_ENV), "--agent_config", str(bad)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown key 'discont'" in err and "discount" in err


def test_usage_lists_the_new_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "\n  doctor  " in out and "\n  explain " in out
    assert main(["doctor", "--help"]) == 0 and main(["explain", "--help"]) == 0
    assert "usage: mjmimic doctor RUN_DIR" in capsys.readouterr().out
