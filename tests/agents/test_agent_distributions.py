"""Gaussian policy: densities, std types, std positivity."""

from __future__ import annotations

import math

import pytest
import torch

from mjmimic.agents.config import ModelConfig
from mjmimic.agents.distributions import LOG_STD_MAX, LOG_STD_MIN, DiagGaussian
from mjmimic.agents.networks import Actor


def test_log_prob_and_entropy_match_torch_normal():
    g = torch.Generator().manual_seed(0)
    mean = torch.randn(6, 4, generator=g)
    shared, per_row = torch.randn(4, generator=g), torch.randn(6, 4, generator=g)
    for log_std in (shared, per_row):
        dist = DiagGaussian(mean, log_std)
        ref = torch.distributions.Normal(mean, log_std.exp().expand_as(mean))
        action = torch.randn(6, 4, generator=g)
        torch.testing.assert_close(dist.log_prob(action), ref.log_prob(action).sum(-1))
        torch.testing.assert_close(dist.entropy(), ref.entropy().sum(-1))
        assert dist.entropy().shape == (6,)
        sample = dist.sample()
        assert sample.shape == (6, 4)


def test_sampling_uses_the_std():
    torch.manual_seed(0)
    dist = DiagGaussian(torch.full((20000, 2), 0.5), torch.log(torch.tensor([0.1, 2.0])))
    s = dist.sample()
    torch.testing.assert_close(s.mean(0), torch.tensor([0.5, 0.5]), atol=0.05, rtol=0)
    torch.testing.assert_close(s.std(0), torch.tensor([0.1, 2.0]), rtol=0.03, atol=0)


def _actor(std_type: str) -> Actor:
    torch.manual_seed(0)
    cfg = ModelConfig(actor_net=[16], actor_std_type=std_type, action_std=0.2)
    return Actor(5, 3, cfg)


def test_initial_std_and_mean_head():
    for std_type in ("FIXED", "CONSTANT", "VARIABLE"):
        actor = _actor(std_type)
        _, log_std = actor(torch.randn(8, 5))
        std = log_std.exp().expand(8, 3)
        torch.testing.assert_close(std, torch.full((8, 3), 0.2), atol=0.02, rtol=0)
        assert actor.mean_head.weight.abs().max() <= 0.01  # U(+-actor_init_output_scale)
        assert torch.all(actor.mean_head.bias == 0)


def test_fixed_std_is_not_trained():
    actor = _actor("FIXED")
    assert "log_std" not in dict(actor.named_parameters())
    before = actor.log_std.clone()
    opt = torch.optim.SGD(actor.parameters(), lr=1.0)
    dist = actor.distribution(torch.randn(8, 5))
    (-dist.log_prob(torch.randn(8, 3)).mean()).backward()
    opt.step()
    assert torch.equal(actor.log_std, before)


@pytest.mark.parametrize("std_type", ["CONSTANT", "VARIABLE"])
@pytest.mark.parametrize("direction", [1.0, -1.0])
def test_std_stays_positive_and_finite_after_a_huge_step(std_type, direction):
    actor = _actor(std_type)
    obs = torch.randn(8, 5)
    opt = torch.optim.SGD(actor.parameters(), lr=1e12)
    # direction +1 pushes the std towards 0, -1 towards infinity
    (direction * actor.distribution(obs).std.sum()).backward()
    opt.step()
    raw = actor.log_std if std_type == "CONSTANT" else actor.log_std_head(actor.trunk(obs))
    # without the bound, exp(raw) would be exactly 0 (or inf): the test would catch it
    assert torch.all(raw.exp() == 0) if direction > 0 else torch.all(torch.isinf(raw.exp()))
    dist = actor.distribution(obs)
    assert torch.all(dist.std > 0) and torch.all(torch.isfinite(dist.std))
    assert torch.all(dist.log_std >= LOG_STD_MIN - 1e-6)
    assert torch.all(dist.log_std <= LOG_STD_MAX + 1e-6)
    assert torch.all(torch.isfinite(dist.log_prob(dist.mean.detach() + 0.1)))


def test_bounded_std_can_recover():
    # a plain clamp would have zero gradient below the floor; ours passes it straight through
    actor = _actor("CONSTANT")
    with torch.no_grad():
        actor.log_std.fill_(-50.0)
    actor.distribution(torch.randn(2, 5)).entropy().sum().backward()  # entropy grows with log std
    assert torch.all(actor.log_std.grad == 2.0)  # d(sum of 2 rows of sum log std)/d log std
    assert math.exp(LOG_STD_MIN) == pytest.approx(1e-4)
