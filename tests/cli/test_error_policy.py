"""The CLI's exit statuses: a user's error is one line and 2; mjmimic's own bug is its
traceback, a line saying it is a bug, and 1; Ctrl-C is 130."""

from __future__ import annotations

import pytest

from mjmimic.cli import main as cli_main
from mjmimic.cli import plot
from mjmimic.errors import ConfigError


def _raising(exc: BaseException):
    def command(tokens):
        raise exc

    return command


def test_a_user_error_is_one_line_and_status_2(monkeypatch, capsys):
    monkeypatch.setattr(plot, "main", _raising(ConfigError("--x 3: must be 1 or more")))
    assert cli_main.main(["plot", "run"]) == 2
    assert capsys.readouterr().err == "mjmimic: error: --x 3: must be 1 or more\n"


def test_a_bug_shows_its_traceback_and_says_it_is_a_bug(monkeypatch, capsys):
    monkeypatch.setattr(plot, "main", _raising(ZeroDivisionError("division by zero")))
    assert cli_main.main(["plot", "run"]) == cli_main.BUG_EXIT == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    last = err.strip().splitlines()[-1]
    assert last.startswith("mjmimic: this is a bug in mjmimic, please report it")
    assert last.endswith("(ZeroDivisionError: division by zero)")


@pytest.mark.parametrize("exc, code", [(KeyboardInterrupt(), 130), (SystemExit(0), None)])
def test_interrupts_and_exits_are_not_bugs(monkeypatch, capsys, exc, code):
    monkeypatch.setattr(plot, "main", _raising(exc))
    if code is None:  # SystemExit is not an Exception: it passes through untouched
        with pytest.raises(SystemExit):
            cli_main.main(["plot", "run"])
    else:
        assert cli_main.main(["plot", "run"]) == code
    assert "bug" not in capsys.readouterr().err
