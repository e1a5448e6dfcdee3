"""Running observation normalizer and the fixed action normalizer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mjmimic.agents.normalizer import ActionNormalizer, RunningNormalizer


def test_running_stats_match_numpy_over_batches():
    rng = np.random.default_rng(0)
    norm = RunningNormalizer(3)
    seen = []
    for i, (loc, scale, n) in enumerate([(5.0, 2.0, 100), (-3.0, 0.5, 37), (1000.0, 10.0, 250)]):
        batch = (rng.normal(loc, scale, size=(n, 3)) * [1, 2, 3]).astype(np.float32)
        # a batch can arrive in several record() calls before one update()
        norm.record(torch.from_numpy(batch[: n // 2]))
        norm.record(torch.from_numpy(batch[n // 2 :]))
        seen.append(batch.astype(np.float64))
        norm.update()
        data = np.concatenate(seen)
        assert int(norm.count) == len(data), i
        np.testing.assert_allclose(norm.mean.numpy(), data.mean(0), rtol=1e-6, atol=1e-5)
        np.testing.assert_allclose(norm.var.numpy(), data.var(0), rtol=1e-5)
        np.testing.assert_allclose(norm.std.numpy(), data.std(0), rtol=1e-5)


def test_normalize_uses_mean_std_floor_and_clip():
    norm = RunningNormalizer(2)
    x = torch.tensor([[1.0, 7.0], [3.0, 7.0]])  # dim 0: mean 2, std 1; dim 1: constant
    out_before = norm(x)
    torch.testing.assert_close(out_before, x.clamp(-10, 10))  # mean 0 / std 1 until update()
    norm.record(x)
    torch.testing.assert_close(norm(x), out_before)  # recording alone changes nothing
    norm.update()
    assert float(norm.std[1]) == pytest.approx(1e-4)  # floor for the constant dimension
    out = norm(torch.tensor([[2.5, 7.0], [-100.0, 7.5]]))
    # (2.5-2)/1 = 0.5; (7-7)/1e-4 = 0; -102/1 -> -10; 0.5/1e-4 -> +10
    torch.testing.assert_close(out, torch.tensor([[0.5, 0.0], [-10.0, 10.0]]))


def test_frozen_after_max_samples():
    norm = RunningNormalizer(1, max_samples=150)
    norm.record(torch.full((100, 1), 1.0))
    norm.update()
    assert not norm.frozen  # 100 < 150
    norm.record(torch.full((100, 1), 3.0))
    norm.update()
    # the iteration that crosses the limit is merged fully, then nothing more
    assert norm.frozen and int(norm.count) == 200
    mean, var = norm.mean.clone(), norm.var.clone()
    norm.record(torch.full((100, 1), 50.0))
    norm.update()
    assert int(norm.count) == 200
    assert torch.equal(norm.mean, mean) and torch.equal(norm.var, var)
    # the frozen state comes back from a state dict
    restored = RunningNormalizer(1, max_samples=150)
    restored.load_state_dict(norm.state_dict())
    assert restored.frozen and torch.equal(restored.mean, mean)


def test_action_normalizer_maps_bounds_to_unit_range():
    an = ActionNormalizer(torch.tensor([-1.0, 0.0, 2.0]), torch.tensor([3.0, 0.5, 6.0]))
    # mean = (hi+lo)/2 = [1, 0.25, 4]; std = (hi-lo)/2 = [2, 0.25, 2]
    torch.testing.assert_close(an.to_env(torch.zeros(3)), torch.tensor([1.0, 0.25, 4.0]))
    torch.testing.assert_close(an.to_env(torch.ones(3)), torch.tensor([3.0, 0.5, 6.0]))
    torch.testing.assert_close(an.to_env(-torch.ones(3)), torch.tensor([-1.0, 0.0, 2.0]))
    torch.testing.assert_close(
        an.to_normalized(torch.tensor([2.0, 0.25, 5.0])), torch.tensor([0.5, 0.0, 0.5])
    )
    with pytest.raises(ValueError):
        ActionNormalizer(torch.tensor([1.0]), torch.tensor([1.0]))
