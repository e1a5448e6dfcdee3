"""``mjmimic sim2sim --episodes N --training_run RUN``: the training env's test episodes
of the same policy printed beside sim2sim's, and refused for a run the ONNX did not come
from."""

from __future__ import annotations

import json

from mjmimic.training import checkpoint


def test_training_numbers_beside_sim2sims(tracking_exported, cli, tmp_path):
    out = tmp_path / "numbers.json"
    argv = ["sim2sim", str(tracking_exported.policy), "--robot", "g1", "--episodes", "3"]
    run = str(tracking_exported.run_dir)
    for randomize in (False, True):
        flags = ["--randomize"] if randomize else []
        result = cli([*argv, *flags, "--training_run", run, "--json", str(out)])
        assert result.code == 0, result.err
        setting = "as trained" if randomize else "off"
        assert (
            f"training env:        {run}/model.pt (randomization, pushes and noise {setting})"
            in result.out
        )
        assert "ran full length:" in result.out
        theirs = json.loads(out.read_text())["training_env"]
        assert theirs["randomized"] is randomize
        assert theirs["episodes"] >= 3
        assert 0.0 <= theirs["full_length_rate"] <= 1.0
        assert theirs["root_pos_err"] is None or theirs["root_pos_err"] > 0


def test_a_run_the_policy_did_not_come_from_is_refused(
    tracking_exported, exported, cli, one_line_error, tmp_path
):
    argv = ["sim2sim", str(tracking_exported.policy), "--robot", "g1", "--episodes", "2"]
    one_line_error(cli([*argv, "--training_run", str(exported.run_dir)]), "config hashes differ")
    # The same run's config with other weights: another policy.
    saved = checkpoint.load(tracking_exported.run_dir / "model.pt", checkpoint.MODEL_FORMAT)
    saved["model"] = {
        k: v + 0.05 if v.is_floating_point() and "actor" in k else v
        for k, v in saved["model"].items()
    }
    other = tmp_path / "model.pt"
    checkpoint.atomic_save(saved, other)
    one_line_error(cli([*argv, "--training_run", str(other)]), "weights are not those")
    one_line_error(
        cli(
            [
                "sim2sim",
                str(tracking_exported.policy),
                "--robot",
                "g1",
                "--training_run",
                str(other),
            ]
        ),
        "--training_run",
        "add --episodes",
    )
