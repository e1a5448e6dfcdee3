"""log.txt: fixed columns, nan for missing keys, and resuming a log an older mjmimic wrote."""

from __future__ import annotations

import math

import pytest

from mjmimic.logging.table_log import TableLog, read_table


def test_columns_are_fixed_by_the_first_row(tmp_path):
    log = TableLog(tmp_path / "log.txt")
    log.write({"Iteration": 1, "Loss": 0.5})
    log.write({"Iteration": 2})  # a missing key is nan
    with pytest.raises(ValueError, match="new keys"):
        log.write({"Iteration": 3, "Loss": 0.1, "Extra": 1.0})
    log.close()
    table = read_table(tmp_path / "log.txt")
    assert table["Iteration"] == [1.0, 2.0] and math.isnan(table["Loss"][1])


def test_resuming_an_older_log_keeps_its_columns(tmp_path, capsys):
    path = tmp_path / "log.txt"
    old = TableLog(path)
    old.write({"Iteration": 1, "Test_Return": 2.0})
    old.close()
    resumed = TableLog(path, append=True)
    for i in (2, 3):
        resumed.write({"Iteration": i, "Test_Return": 3.0, "Test_Success_Rate": 0.5})
    resumed.close()
    table = read_table(path)
    assert list(table) == ["Iteration", "Test_Return"]
    assert table["Iteration"] == [1.0, 2.0, 3.0]
    err = capsys.readouterr().err
    assert err.count("without Test_Success_Rate") == 1  # one note, not one per row
