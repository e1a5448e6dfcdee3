"""Adaptive start times: bins, scores from the worst body's error, the uniform floor."""

from __future__ import annotations

import pytest
import torch

from mjmimic.envs.start_sampler import AdaptiveStartSampler


def make(durations=(6.0, 2.0), floor=0.2, decay=0.5):
    return AdaptiveStartSampler(torch.tensor(durations), 0.5, floor, decay)


def test_bins_cover_each_clip():
    s = make()
    assert s.num_bins.tolist() == [12, 4]
    clips = torch.tensor([0, 0, 0, 1, 1])
    times = torch.tensor([0.0, 0.49, 6.0, 0.5, 9.0])  # the clip end and past it: last bin
    assert s.bin_of(clips, times).tolist() == [0, 0, 11, 13, 15]


def test_unseen_clip_is_uniform_and_starts_stay_in_the_clip():
    s = make()
    p = s.probabilities(0)
    torch.testing.assert_close(p, torch.full((12,), 1 / 12, dtype=torch.float64))
    gen = torch.Generator().manual_seed(0)
    t = s.sample(torch.zeros(2000, dtype=torch.long), generator=gen)
    assert t.dtype == torch.float32 and float(t.min()) >= 0 and float(t.max()) <= 6.0
    assert abs(float(t.mean()) - 3.0) < 0.2


def test_a_badly_tracked_segment_gets_the_starts():
    s = make(floor=0.2)
    clips = torch.zeros(12, dtype=torch.long)
    times = torch.arange(12) * 0.5 + 0.25
    error = torch.full((12,), 0.05)
    error[4] = 0.95  # the kick, 2.0-2.5 s: the foot 0.95 m off
    for _ in range(3):
        s.record(clips, times, error)
    p = s.probabilities(0)
    assert int(p.argmax()) == 4
    # The floor keeps every bin at >= floor / bins; the kick gets most of the rest.
    assert float(p.min()) >= 0.2 / 12 - 1e-12
    assert float(p[4]) > 0.5
    gen = torch.Generator().manual_seed(1)
    t = s.sample(torch.zeros(4000, dtype=torch.long), generator=gen)
    in_kick = ((t >= 2.0) & (t < 2.5)).float().mean()
    assert abs(float(in_kick) - float(p[4])) < 0.03
    # The other clip is untouched.
    torch.testing.assert_close(s.probabilities(1), torch.full((4,), 0.25, dtype=torch.float64))


def test_scores_are_running_means_and_unvisited_bins_are_optimistic():
    s = make(decay=0.5)
    clip = torch.tensor([0])
    s.record(clip, torch.tensor([0.1]), torch.tensor([1.0]))
    s.record(clip, torch.tensor([0.1]), torch.tensor([0.0]))
    assert float(s.score[0]) == pytest.approx(0.5)  # 0.5 * 1.0 + 0.5 * 0.0
    s.record(clip, torch.tensor([0.6]), torch.tensor([0.1]))
    p = s.probabilities(0)
    # Bins never seen count as the worst seen (0.5), so they are tried, not starved.
    assert float(p[2]) == pytest.approx(float(p[0]))
    assert float(p[1]) < float(p[0])


def test_state_round_trips_and_rejects_other_clips():
    s = make()
    s.record(torch.tensor([0, 1]), torch.tensor([1.0, 1.0]), torch.tensor([0.3, 0.7]))
    fresh = make()
    fresh.load_state_dict(s.state_dict())
    torch.testing.assert_close(fresh.probabilities(1), s.probabilities(1))
    with pytest.raises(ValueError, match="bins"):
        make(durations=(6.0,)).load_state_dict(s.state_dict())
