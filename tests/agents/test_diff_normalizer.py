"""ADD's DiffNormalizer: x / max(mean|x|, 1e-4), count-weighted running mean, scale 1 until
the first update, no centring or clipping, frozen after max_samples, in the state_dict."""

from __future__ import annotations

import torch

from mjmimic.agents.diff_normalizer import DiffNormalizer


def test_scale_is_one_until_the_first_update():
    norm = DiffNormalizer(3)
    x = torch.tensor([[2.0, -4.0, 0.5]])
    norm.record(x)
    assert torch.equal(norm(x), x)  # recorded, not merged: iteration 0 trains on scale 1
    norm.update()
    assert torch.allclose(norm.mean_abs, x.abs()[0])
    assert torch.allclose(norm(x), torch.tensor([[1.0, -1.0, 1.0]]))


def test_mean_abs_is_count_weighted_across_records_and_updates():
    norm = DiffNormalizer(2)
    a = torch.tensor([[1.0, -2.0], [3.0, 2.0]])  # |.| sums (4, 4) over 2 rows
    b = torch.tensor([[-6.0, 0.0]] * 6)  # |.| sums (36, 0) over 6 rows
    norm.record(a)
    norm.record(b.view(2, 3, 2))  # any leading shape
    norm.update()
    assert torch.allclose(norm.mean_abs, torch.tensor([40 / 8, 4 / 8]))
    assert int(norm.count) == 8
    norm.record(torch.tensor([[13.0, -4.5], [13.0, 4.5]]))
    norm.update()  # (8 * old + sum|new|) / 10
    assert torch.allclose(norm.mean_abs, torch.tensor([(40 + 26) / 10, (4 + 9) / 10]))


def test_no_centring_no_clip_and_a_floor():
    norm = DiffNormalizer(2)
    norm.record(torch.tensor([[5.0, 0.0], [-5.0, 0.0]]))  # mean 0, mean|x| 5; dim 1 never differs
    norm.update()
    x = torch.tensor([[1e3, 1e-3]])
    assert torch.allclose(norm(x), torch.tensor([[200.0, 10.0]]))  # 1e-3 / 1e-4: floored
    assert torch.equal(norm(-x), -norm(x))
    assert torch.allclose(norm.unnormalize(norm(x)), x)
    assert torch.equal(norm(torch.zeros(1, 2)), torch.zeros(1, 2))  # zero stays zero


def test_frozen_after_max_samples_and_discard():
    norm = DiffNormalizer(1, max_samples=4)
    norm.record(torch.ones(3, 1))
    norm.discard()  # a thrown-away rollout
    norm.update()
    assert int(norm.count) == 0 and norm.mean_abs.item() == 1.0
    norm.record(torch.full((4, 1), 2.0))
    norm.update()
    assert norm.frozen and norm.mean_abs.item() == 2.0
    norm.record(torch.full((4, 1), 100.0))
    norm.update()
    assert norm.mean_abs.item() == 2.0 and int(norm.count) == 4


def test_state_dict_round_trip_restores_the_frozen_flag():
    norm = DiffNormalizer(2, max_samples=2)
    norm.record(torch.tensor([[1.0, 3.0], [3.0, 1.0]]))
    norm.update()
    state = norm.state_dict()
    assert set(state) == {"mean_abs", "count"}
    fresh = DiffNormalizer(2, max_samples=2)
    fresh.load_state_dict(state)
    assert torch.equal(fresh.mean_abs, norm.mean_abs) and fresh.frozen
