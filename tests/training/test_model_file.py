"""model.pt and checkpoint.pt that do not fit: one line naming the file and the mismatch.

A model of another robot or env config (torch: a page of size mismatches), one without
its keys (KeyError: 'config'), a file cut off or of another kind: ``model_file`` says
which in one line. ``mjmimic doctor`` on a checkpoint that is not a plain tensor file
says so and never repeats torch's advice to load it with ``weights_only=False``.
"""

from __future__ import annotations

import json

import pytest
import torch

from mjmimic.cli.main import main
from mjmimic.errors import MjmimicError
from mjmimic.training.model_file import load_weights, read_model
from mjmimic.training.setup import RunConfig, build_env_and_agent


@pytest.fixture(scope="module")
def saved(smoke_run):
    return torch.load(smoke_run.out_dir / "model.pt", weights_only=True)


def test_broken_model_files_are_one_line(smoke_run, saved, tmp_path):
    good = (smoke_run.out_dir / "model.pt").read_bytes()
    cases = {
        "cut.pt": (good[: len(good) // 2], "truncated"),
        "text.pt": (b"not a model\n" * 100, "not a torch file"),
    }
    for name, (data, needle) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(MjmimicError, match=needle) as info:
            read_model(tmp_path / name)
        assert str(tmp_path / name) in str(info.value) and "\n" not in str(info.value)
    for key in ("config", "model"):
        torch.save({k: v for k, v in saved.items() if k != key}, tmp_path / "lacking.pt")
        with pytest.raises(MjmimicError, match=f"without {key}"):
            read_model(tmp_path / "lacking.pt")
    torch.save({**saved, "model": [1, 2]}, tmp_path / "list.pt")
    with pytest.raises(MjmimicError, match="not a dict of named tensors"):
        read_model(tmp_path / "list.pt")
    assert read_model(smoke_run.out_dir / "model.pt")["iteration"] == saved["iteration"]


def _env_and_agent(kit, tmp_path, env_edit=None, **agent):
    env_file = kit.write_env_yaml(tmp_path / "env.yaml", env_edit)
    agent_file = kit.write_agent_yaml(tmp_path / "agent.yaml", **agent)
    run = RunConfig.from_files(kit.ENGINE, env_file, agent_file, 1, 0, "cpu")
    run.engine.num_threads = 1
    return build_env_and_agent(run)


FEWER_TARGETS = {"tar_obs_steps: [1, 2, 3]": "tar_obs_steps: [1, 2]"}


def test_a_model_of_another_env_config_or_agent_is_named(kit, saved, tmp_path):
    env, agent = _env_and_agent(kit, tmp_path, FEWER_TARGETS)
    try:
        with pytest.raises(MjmimicError) as info:
            load_weights(agent, env, saved["model"], tmp_path / "model.pt")
        model_obs = saved["model"]["obs_norm.mean"].shape[0]
        assert str(info.value) == (
            f"{tmp_path / 'model.pt'}: obs size {model_obs} in the model, the env gives "
            f"{env.obs_dim}: a model of another robot or env config"
        )
    finally:
        env.engine.close()
    env, agent = _env_and_agent(kit, tmp_path, model={"actor_net": [32, 32]})
    try:
        with pytest.raises(MjmimicError, match=r"actor\.trunk\.0\.weight has shape \[64, "):
            load_weights(agent, env, saved["model"], tmp_path / "model.pt")
        lacking = {k: v for k, v in saved["model"].items() if not k.startswith("critic.")}
        with pytest.raises(MjmimicError, match=r"the model lacks critic\..* and \d+ more"):
            load_weights(agent, env, lacking, tmp_path / "model.pt")
    finally:
        env.engine.close()


def test_test_command_names_a_model_of_another_env_config(kit, smoke_run, tmp_path, capsys):
    """Needs mjmimic/cli/train_test.py to read the model with ``model_file``."""
    env_file = kit.write_env_yaml(tmp_path / "env.yaml", FEWER_TARGETS)
    agent_file = kit.write_agent_yaml(tmp_path / "agent.yaml")
    model = smoke_run.out_dir / "model.pt"
    argv = ["test", "--model_file", str(model), "--env_config", str(env_file)]
    assert main([*argv, "--agent_config", str(agent_file), "--threads", "1"]) == 2
    kit.assert_one_line_error(capsys.readouterr().err, str(model), "obs size", "the env gives")
    lacking = tmp_path / "model.pt"
    torch.save(
        {k: v for k, v in torch.load(model, weights_only=True).items() if k != "config"}, lacking
    )
    assert main(["test", "--model_file", str(lacking), "--threads", "1"]) == 2
    kit.assert_one_line_error(capsys.readouterr().err, str(lacking), "without config")


# ------------------------------------------------------------------------------ doctor
class _Evil:
    """Unpickling this calls ``open(marker, 'w')``: a stand-in for arbitrary code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _doctor_text(run_dir, capsys) -> str:
    main(["doctor", str(run_dir)])
    captured = capsys.readouterr()
    files = (run_dir / "diagnosis.md").read_text() + (run_dir / "diagnosis.json").read_text()
    return captured.out + captured.err + files


def test_doctor_does_not_load_or_advise_loading_a_code_pickle(run_copy, tmp_path, capsys):
    marker = tmp_path / "code_ran"
    torch.save(
        {"format": "mjmimic.checkpoint", "payload": _Evil(marker)}, run_copy / "checkpoint.pt"
    )
    text = _doctor_text(run_copy, capsys)
    assert not marker.exists()
    assert "weights_only" not in text and "trust" not in text
    found = json.loads((run_copy / "diagnosis.json").read_text())
    messages = json.dumps(found)
    assert "checkpoint.pt: not a plain tensor file" in messages
    assert "it names io.open" in messages or "it names builtins.open" in messages


def test_doctor_names_a_truncated_checkpoint(run_copy, capsys):
    ckpt = run_copy / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:4000])
    text = _doctor_text(run_copy, capsys)
    assert "checkpoint.pt: truncated or damaged" in text
    assert "Invalid argument" not in text
