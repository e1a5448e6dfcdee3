"""EpisodeTracker: what counts as one episode."""

from __future__ import annotations

import torch

from mjmimic.training.episodes import EpisodeTracker


def _run(tracker: EpisodeTracker, steps: int, done_at: int | None = None) -> None:
    for t in range(steps):
        done = torch.tensor([1 if t == done_at else 0, 0])
        tracker.step(torch.ones(2), done)


def test_an_outside_reset_does_not_merge_two_episodes():
    """The trainer resets every env after a checkpoint: the cut episode is dropped, and
    the next one counts from zero (before the fix, lengths added up past the time limit)."""
    tracker = EpisodeTracker(2)
    _run(tracker, 5)
    tracker.drop_running()
    _run(tracker, 3, done_at=2)
    summary = tracker.summary()
    assert summary["episodes"] == 1.0
    assert summary["episode_length"] == 3.0 and summary["return"] == 3.0


def test_length_fraction_is_per_episode():
    tracker = EpisodeTracker(2)
    done = torch.tensor([1, 1])
    tracker.step(torch.ones(2), done, full_length=torch.tensor([2.0, 4.0]))
    assert tracker.summary()["episode_length_fraction"] == (0.5 + 0.25) / 2


def test_full_length_rate_counts_the_episodes_that_ran_fully():
    """Three episodes of full lengths 1, 2 and 4 end after 1 step: one ran fully, and the
    mean fraction (0.58) would hide that two of three ended early."""
    tracker = EpisodeTracker(3)
    tracker.step(torch.ones(3), torch.tensor([1, 1, 1]), full_length=torch.tensor([1.0, 2.0, 4.0]))
    summary = tracker.summary()
    assert summary["full_length_rate"] == 1 / 3
    assert summary["episode_length_fraction"] == (1 + 0.5 + 0.25) / 3
