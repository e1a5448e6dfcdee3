"""Where a run's settings come from: command line over arg file, comments, MimicKit's
``--mode`` form without a subcommand."""

from __future__ import annotations

import yaml

from mjmimic.cli.main import main


def _arg_file(path, text: str):
    path.write_text(text)
    return path


def test_command_line_overrides_arg_file_and_comments_are_dropped(
    kit, tmp_path, tiny_agent, capsys
):
    out_dir = tmp_path / "run"
    arg_file = _arg_file(
        tmp_path / "args.txt",
        f"""# a MimicKit arg file; '#' starts a comment
--mode train
--engine_config {kit.ENGINE}
--env_config {kit.SQUAT_ENV}   # trailing comment --rand_seed 99
--agent_config {tiny_agent}
--num_envs 16
# --max_samples 999999
--max_samples {kit.samples_for(1, 16)}
--rand_seed 11
--out_dir {tmp_path / "from_arg_file"}
--threads 1
""",
    )
    # MimicKit's form: no subcommand, the arg file's --mode picks train.
    code = main(["--arg_file", str(arg_file), "--num_envs", "8", "--out_dir", str(out_dir)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert not (tmp_path / "from_arg_file").exists()
    config = yaml.safe_load((out_dir / "config.yaml").read_text())
    assert config["num_envs"] == 8  # command line, not the arg file's 16
    assert config["rand_seed"] == 11  # from the arg file; the commented 99 is ignored
    # --max_samples from the file is for 1 iteration at 16 envs = 2 iterations at 8 envs;
    # the commented-out 999999 would have run on and on.
    assert "done: 128 samples, 2 iterations" in captured.out
    assert "| 8 envs |" in captured.out


def test_key_given_twice_in_arg_file_is_an_error(kit, tmp_path, capsys):
    arg_file = _arg_file(tmp_path / "args.txt", "--num_envs 8\n--num_envs 16\n")
    assert main(["train", "--arg_file", str(arg_file)]) == 2
    kit.assert_one_line_error(capsys.readouterr().err, "args.txt:2", "--num_envs", "given twice")


def test_missing_arg_file(kit, tmp_path, capsys):
    missing = tmp_path / "nope.txt"
    assert main(["train", "--arg_file", str(missing)]) == 2
    kit.assert_one_line_error(capsys.readouterr().err, "arg file not found", str(missing))


def test_mode_test_in_arg_file_dispatches_to_test(tmp_path, smoke_run, capsys):
    arg_file = _arg_file(
        tmp_path / "test_args.txt",
        f"""--mode test   # evaluate, as MimicKit's run.py --mode test
--model_file {smoke_run.out_dir / "model.pt"}
--num_envs 2
--test_episodes 2
--out_dir {tmp_path / "unused"}   # accepted for MimicKit arg files
--threads 1
""",
    )
    assert main(["--arg_file", str(arg_file)]) == 0
    out = capsys.readouterr().out
    assert "mean return:" in out
    assert "episodes:            2 over 2 envs" in out
    assert not (tmp_path / "unused").exists()


def test_mode_flag_on_command_line_picks_test(smoke_run, capsys):
    model = str(smoke_run.out_dir / "model.pt")
    argv = ["--mode", "test", "--model_file", model, "--num_envs", "2", "--test_episodes", "2"]
    assert main([*argv, "--threads", "1"]) == 0
    assert "normalized return:" in capsys.readouterr().out


def test_subcommand_wins_over_the_arg_files_mode(tmp_path, smoke_run, capsys):
    """One arg file serves train and test (MimicKit): ``mjmimic test --arg_file f`` with
    ``--mode train`` in f evaluates, since the command line wins over the arg file."""
    arg_file = _arg_file(tmp_path / "args.txt", "--mode train\n--num_envs 2\n--threads 1\n")
    model = str(smoke_run.out_dir / "model.pt")
    argv = ["test", "--arg_file", str(arg_file), "--model_file", model, "--test_episodes", "2"]
    assert main(argv) == 0
    assert "episodes:            2 over 2 envs" in capsys.readouterr().out


def test_mode_contradicting_the_subcommand_is_an_error(tmp_path, capsys):
    """``mjmimic train --mode test`` contradicts itself: refused, not silently trained."""
    out_dir = tmp_path / "run"
    assert main(["train", "--mode", "test", "--out_dir", str(out_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mjmimic: error: --mode test contradicts the command 'mjmimic train'")
    assert len(err.splitlines()) == 1
    assert not out_dir.exists()


def test_unknown_command_and_help(kit, capsys):
    assert main(["trian"]) == 2
    kit.assert_one_line_error(capsys.readouterr().err, "unknown command 'trian'")
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--num_envs" in out and "--max_time" in out
