"""Reading other tools' logs: MimicKit log.txt and TensorBoard, rsl_rl TensorBoard, CSV,
JSON lines; roles from each tool's names and from --columns; one line for a log that
cannot be used."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from mjmimic.cli.main import main
from mjmimic.errors import ConfigError, MjmimicError
from mjmimic.health.metric_logs.readers import load
from mjmimic.health.metric_logs.roles import parse_column_roles
from tests.health.metric_log_files import (
    write_csv,
    write_jsonl,
    write_mimickit_log,
    write_tensorboard,
)


def test_mimickit_log_txt_with_carriage_returns(tmp_path):
    rows = [
        {"Iteration": i, "Samples": 100 * i, "Critic_Loss": 3.0 - i, "Imp_Ratio": 1.0}
        for i in range(3)
    ]
    path = write_mimickit_log(tmp_path / "run", rows)
    raw = path.read_bytes()
    assert b"\r" in raw and b"\n" not in raw
    # A row cut off by a crash is left out, not an error.
    path.write_bytes(raw + b"3                        99")
    log = load(tmp_path / "run")
    assert log.tool == "mimickit" and len(log) == 3
    np.testing.assert_array_equal(log.steps, [0, 1, 2])
    assert log.roles["value_loss"] == "Critic_Loss" and log.roles["ratio"] == "Imp_Ratio"
    np.testing.assert_allclose(log.role("value_loss"), [3.0, 2.0, 1.0])


def test_tensorboard_tags_of_rsl_rl_and_of_mimickit(tmp_path):
    rsl = write_tensorboard(
        tmp_path / "rsl",
        {
            "Loss/value_function": [1.0, 0.5],
            "Policy/mean_noise_std": [1.0, 0.9],
            "Train/mean_reward/time": [3.0, 4.0],  # against seconds: not a metric row
        },
    )
    log = load(rsl)
    assert log.tool == "rsl_rl" and len(log) == 2
    assert "Train/mean_reward/time" not in log.series
    assert log.roles == {"value_loss": "Loss/value_function", "action_std": "Policy/mean_noise_std"}
    np.testing.assert_allclose(log.role("action_std"), [1.0, 0.9])

    write_tensorboard(tmp_path / "mk" / "tb", {"1_Info/Critic_Loss": [4.0, 2.0, 1.0]})
    log = load(tmp_path / "mk")  # the events one level down, as in tb/
    assert log.tool == "mimickit" and log.roles["value_loss"] == "1_Info/Critic_Loss"


def test_a_resumed_mjmimic_tensorboard_log_drops_what_the_killed_run_redid(tmp_path):
    """mjmimic's TensorBoardLog on resume purges steps after the checkpoint (purge_step),
    and the reader honours that as TensorBoard does: each step once, the redone value."""
    from mjmimic.logging.tensorboard import TensorBoardLog

    first = TensorBoardLog(tmp_path)
    for step in range(1, 6):  # killed after step 5; its checkpoint was at step 2
        first.write({"Critic_Loss": 10.0 + step}, step)
    first.close()
    resumed = TensorBoardLog(tmp_path, purge_step=3)
    for step in (3, 4):
        resumed.write({"Critic_Loss": 20.0 + step}, step)
    resumed.close()
    log = load(tmp_path)
    assert log.steps.tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(log.role("value_loss"), [11.0, 12.0, 23.0, 24.0])


def test_csv_blank_cells_are_not_logged_and_nan_cells_are(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("step,loss,kl\n0,1.0,\n1,nan,0.01\n")
    log = load(path)
    assert log.tool == "csv"
    assert log.logged["kl"].tolist() == [False, True]
    steps, loss = log.values("loss")
    assert steps.tolist() == [0, 1] and math.isnan(loss[1])


def test_jsonl_numbers_only(tmp_path):
    path = write_jsonl(
        tmp_path / "m.jsonl",
        [{"step": 0, "loss": 1.0, "done": True, "tag": "a"}, {"step": 1, "loss": float("nan")}],
    )
    log = load(path)
    assert list(log.series) == ["loss"]  # the bool and the string are not metrics
    assert math.isnan(log.series["loss"][1]) and log.logged["loss"][1]


def test_columns_map_unknown_names_to_roles(tmp_path):
    path = write_csv(tmp_path / "m.csv", [{"it": 0, "pr": 3e3, "vl": 1.0}])
    log = load(path, parse_column_roles("ratio=pr, value_loss=vl"))
    assert log.roles == {"ratio": "pr", "value_loss": "vl"}
    with pytest.raises(ConfigError, match="unknown role 'ratioo'"):
        load(path, {"ratioo": "pr"})
    with pytest.raises(ConfigError, match=r"no column 'prr'.*it has pr, vl"):
        load(path, {"ratio": "prr"})
    with pytest.raises(ConfigError, match="not ROLE=COLUMN"):
        parse_column_roles("ratio")


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda d: (d / "x.csv").write_text(""), "empty"),
        (lambda d: (d / "x.csv").write_text("step,loss\n0,abc\n"), "'abc' is not a number"),
        (lambda d: (d / "x.jsonl").write_text("{not json\n"), "not JSON"),
        (lambda d: (d / "x.jsonl").write_text("[1, 2]\n"), "a JSON object per line"),
        (lambda d: (d / "log.txt").write_text("Iteration Critic_Loss\r"), "no rows of metrics"),
        (lambda d: (d / "log.txt").write_bytes(b"\xff\xfe\x00garbage"), "cannot be read as text"),
        (lambda d: (d / "log.txt").write_text("1 2 3\r4 5 6\r"), "not column names"),
        (
            lambda d: (d / "events.out.tfevents.1.host").write_bytes(
                np.random.default_rng(0).bytes(300)
            ),
            "not a readable TensorBoard event file, or one without scalars",
        ),
        (lambda d: (d / "notes.md").write_text("hi"), "neither an mjmimic run (no config.yaml)"),
    ],
)
def test_unusable_logs_get_one_line(tmp_path, capsys, make, needle):
    make(tmp_path)
    files = [p for p in tmp_path.iterdir() if p.suffix in (".csv", ".jsonl")]
    target = files[0] if files else tmp_path
    with pytest.raises(MjmimicError, match=re.escape(needle)):
        load(target)
    assert main(["doctor", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mjmimic: error: ") and needle in err
