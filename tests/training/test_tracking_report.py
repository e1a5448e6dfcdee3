"""The per-body test statistics on hand-made errors whose answers are known: worst window,
fraction of frames over the threshold, episode success, worst body, and the recorder's
binning over clip time and per-env episode quota."""

from __future__ import annotations

import math

import pytest
import torch

from mjmimic.envs.done import DoneFlag
from mjmimic.training.evaluation_config import EvaluationConfig
from mjmimic.training.tracking_report import (
    TrackingRecorder,
    episode_success,
    fraction_over,
    worst_window,
)


def test_worst_window_finds_the_highest_mean_run_of_bins():
    # 0.1 s bins; the error is 1 in bins 3..5, so the best 0.3 s window is 0.3-0.6 s.
    sums = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    counts = torch.ones(8)
    start, end, mean = worst_window(sums, counts, 0.1, 0.3)
    assert start == pytest.approx(0.3) and end == pytest.approx(0.6)
    assert mean == pytest.approx(1.0)


def test_worst_window_weighs_bins_by_frames_and_ignores_empty_ones():
    """Bin 1 holds one frame of error 0.9, bins 4-5 four frames of mean 0.5 and one of 2:
    per-frame means, not means of bin means; the empty bins 2-3 do not dilute bin 1."""
    sums = torch.tensor([0.0, 0.9, 0.0, 0.0, 2.0, 2.0])
    counts = torch.tensor([1.0, 1.0, 0.0, 0.0, 4.0, 1.0])
    start, end, mean = worst_window(sums, counts, 0.5, 1.0)  # two bins per window
    assert (start, end) == (0.5, 1.0)  # bins 1-2: 0.9 / 1 frame, trimmed to bin 1
    assert mean == pytest.approx(0.9)
    # Windows 4-5: (2 + 2) / 5 frames = 0.8 < 0.9.
    assert worst_window(torch.zeros(3), torch.zeros(3), 0.1, 0.3) is None


def test_worst_window_longer_than_the_clip_is_the_whole_clip():
    start, end, mean = worst_window(torch.tensor([1.0, 3.0]), torch.ones(2), 0.1, 0.5)
    assert (start, end) == (0.0, pytest.approx(0.2)) and mean == pytest.approx(2.0)


def test_fraction_over_threshold_per_body():
    errors = torch.tensor([[0.1, 0.3], [0.25, 0.1], [0.0, 0.2], [0.3, 0.3]])
    # strictly above: 0.2 is within the threshold
    assert fraction_over(errors, 0.2).tolist() == [0.5, 0.5]
    assert math.isnan(float(fraction_over(torch.zeros(0, 1), 0.2)[0]))


def test_episode_success_needs_every_frame_within_and_no_fall():
    max_body = torch.tensor([0.1, 0.3, 0.1, 0.1, 0.2])
    max_root = torch.tensor([0.1, 0.1, 0.6, 0.1, 0.5])
    fell = torch.tensor([False, False, False, True, False])
    ok = episode_success(max_body, max_root, fell, body_threshold=0.2, root_threshold=0.5)
    # fine; a body over; the root over; fell; both exactly at their thresholds
    assert ok.tolist() == [True, False, False, False, True]


def _tracking(body: list[list[float]], t: float, clip: list[int] | None = None) -> dict:
    n = len(body)
    return {
        "body_pos_err": torch.tensor(body),
        "joint_err": torch.tensor(body)[:, 1:] * 2.0,  # knee: twice the foot error
        "root_pos_err": torch.full((n,), 0.01),
        "clip": torch.tensor(clip or [0] * n),
        "clip_time": torch.full((n,), t),
    }


def _recorder(**kw) -> TrackingRecorder:
    args = dict(
        num_envs=2,
        body_names=["torso", "foot"],
        joint_names=["knee"],
        clip_names=["kick"],
        clip_durations=torch.tensor([1.0]),
        bin_width=0.1,
        criteria=EvaluationConfig(body_threshold=0.2, root_threshold=0.5, window=0.3),
    )
    args.update(kw)
    return TrackingRecorder(**args)


def _kick_episode(recorder: TrackingRecorder, done_flag=DoneFlag.TIME) -> None:
    """10 steps at clip times 0.1..1.0 s. Env 0's foot is 0.5 m off at 0.4-0.6 s (the
    kick it missed), 0.05 m otherwise; env 1 tracks everything within 0.05 m. Both
    episodes end at the last step (env 0 with ``done_flag``)."""
    for k in range(1, 11):
        foot0 = 0.5 if k in (4, 5, 6) else 0.05
        done = torch.tensor([int(done_flag), int(DoneFlag.TIME)]) if k == 10 else torch.zeros(2)
        recorder.step(_tracking([[0.01, foot0], [0.01, 0.05]], k * 0.1), done.long())


def test_recorder_names_the_missed_kick():
    recorder = _recorder()
    _kick_episode(recorder)
    report = recorder.report()
    assert report.episodes == 2 and report.frames == 20
    assert report.success_rate == 0.5  # env 0's foot left the 0.2 m band
    worst = report.worst_body
    assert worst.name == "foot" and worst.max == pytest.approx(0.5)
    assert worst.frames_over == pytest.approx(3 / 20)
    # Bins 4-6 hold (0.5 + 0.05) / 2 per frame; the 0.3 s window over them is the worst.
    assert (worst.window_start, worst.window_end) == (pytest.approx(0.4), pytest.approx(0.7))
    assert worst.window_err == pytest.approx(0.275)
    assert worst.window_clip == "kick"
    clip = report.clips[0]
    assert clip.counts.tolist() == [0, 2, 2, 2, 2, 2, 2, 2, 2, 4]  # t = 1.0 s: last bin
    assert math.isnan(float(clip.body_mean[0, 1]))  # no frame at 0-0.1 s
    assert float(clip.body_mean[5, 1]) == pytest.approx(0.275)
    assert clip.success_rate == 0.5
    summary = report.summary()
    assert summary == {
        "success_rate": 0.5,
        "worst_body_err": pytest.approx(0.5),
        "frames_over_threshold": pytest.approx(0.15),
    }
    torso = next(s for s in report.body_stats if s.name == "torso")
    assert torso.frames_over == 0.0 and torso.max == pytest.approx(0.01)
    assert report.joint_stats[0].frames_over is None  # no threshold for joints
    assert report.joint_stats[0].max == pytest.approx(1.0)
    assert report.table()[2].split()[0] == "foot"  # worst body first


def test_a_fall_is_a_failure_however_small_the_errors():
    recorder = _recorder()
    for k in range(1, 4):
        done = torch.tensor([int(DoneFlag.FAIL), 0]) if k == 3 else torch.zeros(2)
        recorder.step(_tracking([[0.01, 0.01], [0.01, 0.01]], k * 0.1), done.long())
    report = recorder.report()
    assert report.episodes == 1 and report.success_rate == 0.0


def test_recorder_keeps_each_envs_quota_and_bins_per_clip():
    """Quota 1: env 0's second episode is not recorded. Two clips of different lengths
    each get their own bins."""
    recorder = _recorder(clip_names=["a", "b"], clip_durations=torch.tensor([1.0, 0.5]), quota=1)
    recorder.step(_tracking([[0.1, 0.1], [0.1, 0.1]], 0.25, clip=[0, 1]), torch.tensor([3, 0]))
    recorder.step(_tracking([[0.9, 0.9], [0.1, 0.1]], 0.35, clip=[0, 1]), torch.tensor([3, 3]))
    report = recorder.report()
    assert report.episodes == 2 and report.frames == 3
    assert report.worst_body.max == pytest.approx(0.1)  # the 0.9 frame was past the quota
    a, b = report.clips
    assert a.counts.shape == (10,) and b.counts.shape == (5,)
    assert a.counts.tolist()[2] == 1 and b.counts.tolist()[2:4] == [1, 1]
    assert a.episodes == 1 and b.episodes == 1
