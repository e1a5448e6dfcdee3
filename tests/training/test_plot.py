"""``mjmimic plot RUN_DIR``: a PNG of the learning curves, clear errors otherwise."""

from __future__ import annotations

from mjmimic.cli.main import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _assert_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 100 and height > 100
    assert len(data) > 5000  # four axes with curves, not an empty canvas


def test_plot_writes_png_into_the_run(run_copy, capsys):
    assert main(["plot", str(run_copy)]) == 0
    png = run_copy / "training_curves.png"
    assert f"wrote {png}" in capsys.readouterr().out
    _assert_png(png)


def test_plot_to_a_chosen_file(smoke_run, tmp_path, capsys):
    png = tmp_path / "curves.png"
    assert main(["plot", str(smoke_run.out_dir), "-o", str(png)]) == 0
    capsys.readouterr()
    _assert_png(png)
    assert not (smoke_run.out_dir / "training_curves.png").exists()


def test_plot_of_a_dir_without_log(kit, tmp_path, capsys):
    assert main(["plot", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    kit.assert_one_line_error(captured.err, str(tmp_path), "no log.txt")
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []


def test_plot_of_a_log_without_rows(kit, tmp_path, capsys):
    (tmp_path / "log.txt").write_text("Iteration  Samples  Test_Return\n")
    assert main(["plot", str(tmp_path)]) == 2
    kit.assert_one_line_error(capsys.readouterr().err, "log.txt", "no rows")


def test_plot_usage_error(kit, capsys):
    assert main(["plot"]) == 2
    kit.assert_one_line_error(capsys.readouterr().err, "usage: mjmimic plot OUT_DIR")
