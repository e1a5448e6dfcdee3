"""Ctrl-C / SIGTERM while training: the iteration finishes, the run is saved and resumable.

The end-to-end case runs ``mjmimic train`` as a real process and sends it a real SIGINT
once it has printed its first iterations.
"""

from __future__ import annotations

import os
import signal

import pytest
import torch

from mjmimic.training.stop_signals import StopSignals


@pytest.fixture(autouse=True)
def sigint_not_ignored():
    """Python's own SIGINT handler in this process (and so the default in the processes it
    starts): a test process started as a shell's background job ignores SIGINT, an
    ignored signal stays ignored (``stop_signals.py``), and its children inherit that."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_first_signal_is_recorded_second_interrupts_and_handlers_come_back():
    before = signal.getsignal(signal.SIGINT)
    with StopSignals() as signals:
        os.kill(os.getpid(), signal.SIGTERM)
        assert signals.received == "SIGTERM"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_sigint_saves_the_iteration_and_resume_goes_on(kit, tiny_agent, tmp_path):
    out = tmp_path / "run"
    # No sample limit: only the signal ends this run.
    argv = kit.train_argv(out, tiny_agent, "--max_samples", "100000000", iterations=None)
    proc = kit.start_train(argv)
    kit.wait_for_iteration(proc, 3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGINT, err
    assert "mjmimic: SIGINT: finishing this iteration" in err
    assert f"continue with mjmimic train --resume {out}" in err
    assert "Traceback" not in err
    saved = torch.load(out / "checkpoint.pt", weights_only=True)
    rows = kit.read_log(out / "log.txt").rows
    assert saved["iteration"] >= 3 and len(rows) == saved["iteration"]
    assert f"after iteration {saved['iteration']} " in err
    # The stop skipped the test episodes: the last row has none.
    assert rows[-1]["Test_Return"] != rows[-1]["Test_Return"]  # nan
    done = saved["iteration"] + 2
    resume = ["train", "--resume", str(out), "--threads", "1"]
    result = kit.run_cli([*resume, "--max_samples", str(kit.samples_for(done))])
    assert result.code == 0, result.err
    assert len(kit.read_log(out / "log.txt").rows) == done
