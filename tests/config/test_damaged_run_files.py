"""A run's damaged files: ``mjmimic plot`` on a log.txt with a non-numeric cell, ``mjmimic
doctor`` on a cut-off health_events.jsonl and on a config.yaml of random bytes: one line
each (or, for the cut-off last event, the complete events and a note)."""

from __future__ import annotations

import json
import os

import pytest

from mjmimic.cli.main import main
from mjmimic.cli.plot import COLUMNS
from mjmimic.errors import MjmimicError
from mjmimic.health.doctor import diagnose_run, read_events
from mjmimic.health.events import HealthEvent


def _one_line_error(capsys, *needles: str) -> str:
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mjmimic: error: "), err
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in: {lines[0]}"
    return lines[0]


def _log(rows: list[list[str]]) -> str:
    return "\n".join("  ".join(row) for row in [list(COLUMNS), *rows]) + "\n"


@pytest.mark.parametrize(
    ("rows", "needles"),
    [
        ([["64", "0.1", "1.0", "0.5", "30"], ["128", "0.2", "abc", "0.6", "31"]], ["'abc'"]),
        ([["64", "0.1", "1.0", "0.5", "3O"]], ["'3O'"]),
    ],
)
def test_plot_of_a_log_with_a_non_numeric_cell(tmp_path, capsys, rows, needles):
    (tmp_path / "log.txt").write_text(_log(rows))
    assert main(["plot", str(tmp_path)]) == 2
    _one_line_error(capsys, "log.txt", "is not a number (a damaged log.txt)", *needles)
    assert not (tmp_path / "training_curves.png").exists()


def test_plot_of_binary_bytes_and_of_a_foreign_table(tmp_path, capsys):
    (tmp_path / "log.txt").write_bytes(os.urandom(64) + b"\xff\xfe")
    assert main(["plot", str(tmp_path)]) == 2
    _one_line_error(capsys, "log.txt", "cannot be read as text")
    (tmp_path / "log.txt").write_text("step  loss\n1  0.5\n")
    assert main(["plot", str(tmp_path)]) == 2
    _one_line_error(capsys, "log.txt", "no column Samples", "columns: step, loss")


def _event(kind: str, iteration: int) -> str:
    return json.dumps(HealthEvent(kind, "nonfinite", f"{kind} found", iteration).to_dict())


def test_doctor_keeps_the_complete_events_of_a_cut_off_file(tmp_path, capsys):
    events = tmp_path / "health_events.jsonl"
    full = _event("nonfinite_obs", 2) + "\n" + _event("nonfinite_reward", 3) + "\n"
    events.write_text(full + _event("nonfinite_action", 4)[:40])
    assert [e.kind for e in read_events(events)] == ["nonfinite_obs", "nonfinite_reward"]
    err = capsys.readouterr().err
    assert "health_events.jsonl: the last line is cut off" in err and "2 complete" in err
    # The same file, complete, loses nothing and says nothing.
    events.write_text(full)
    assert len(read_events(events)) == 2 and capsys.readouterr().err == ""


def test_doctor_report_of_a_run_with_a_cut_off_events_file(tmp_path, capsys):
    (tmp_path / "config.yaml").write_text("agent: {health: {}}\n")
    (tmp_path / "health_events.jsonl").write_text(
        _event("nonfinite_obs", 2) + "\n" + '{"kind": "nonfin'
    )
    report = diagnose_run(tmp_path)
    assert report["first_problem"]["kind"] == "nonfinite_obs"
    assert "the last line is cut off" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (b'{"kind": "x"}\n' + _event("nonfinite_obs", 2).encode() + b"\n", [":1:", "missing"]),
        (b"not json\n" + _event("nonfinite_obs", 2).encode() + b"\n", [":1:", "not a JSON"]),
        (b"\xff\xfe\n", [":1:", "not a JSON health event"]),
        (b'{"kind": "x", "family": "crash", "message": "m", "iteration": "two"}\n', ["iteration"]),
    ],
)
def test_doctor_refuses_a_damaged_event_line(tmp_path, content, needles):
    events = tmp_path / "health_events.jsonl"
    events.write_bytes(content)
    with pytest.raises(MjmimicError) as info:
        read_events(events)
    message = str(info.value)
    assert "\n" not in message and "health_events.jsonl" in message
    assert all(n in message for n in needles), message


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        (os.urandom(256) + b"\xff", ["config.yaml", "not a UTF-8 text file"]),
        (b"agent: [unclosed\n", ["config.yaml:", "invalid YAML"]),
        (b"- a list\n", ["config.yaml", "mapping"]),
        (b"agent:\n  health:\n    max_kl: fast\n", ["agent.health.max_kl", "'fast'"]),
    ],
)
def test_doctor_on_a_damaged_config_yaml(tmp_path, capsys, content, needles):
    (tmp_path / "config.yaml").write_bytes(content)
    assert main(["doctor", str(tmp_path)]) == 2
    _one_line_error(capsys, *needles)
