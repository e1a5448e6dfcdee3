"""The discriminator and its loss terms (MimicKit's BCE formulation): reward values and
the 1e-4 floor, BCE values, the gradient penalty, the logit regularizer, accuracy."""

from __future__ import annotations

import math

import pytest
import torch

from mjmimic.agents.adversarial_config import AMPModelConfig
from mjmimic.agents.discriminator import (
    Discriminator,
    bce_disc_loss,
    disc_accuracy,
    disc_reward,
    gradient_penalty,
    logit_reg,
)


def _naive_reward(logits: torch.Tensor, scale: float) -> torch.Tensor:
    """MimicKit's expression, literally (float64 so it is exact where it is defined)."""
    prob = 1.0 / (1.0 + torch.exp(-logits.double()))
    return -torch.log(torch.clamp(1.0 - prob, min=1e-4)) * scale


def test_reward_matches_the_formula_and_its_floor():
    logits = torch.tensor([-8.0, -2.0, -0.5, 0.0, 0.5, 2.0, 6.0])
    got = disc_reward(logits, scale=2.0)
    assert torch.allclose(got.double(), _naive_reward(logits, 2.0), atol=1e-6)
    assert got[3].item() == pytest.approx(2.0 * math.log(2.0))  # sigmoid(0) = 1/2
    # The floor: 1 - sigmoid(l) < 1e-4 from l ~ 9.21 on, so the reward stops growing there.
    big = disc_reward(torch.tensor([9.5, 20.0, 1e4]), scale=2.0)
    assert torch.allclose(big, torch.full((3,), -math.log(1e-4) * 2.0))
    assert bool(torch.isfinite(disc_reward(torch.tensor([-1e4, 1e4]), 2.0)).all())
    # Monotone: a more demo-like logit never earns less.
    dense = disc_reward(torch.linspace(-20, 20, 401), 1.0)
    assert bool((dense[1:] >= dense[:-1]).all())


def test_bce_values():
    zero = torch.zeros(3)
    assert bce_disc_loss(zero, zero).item() == pytest.approx(math.log(2.0))
    pos, neg = torch.tensor([2.0]), torch.tensor([-1.0, 3.0])
    softplus = torch.nn.functional.softplus
    expected = 0.5 * (softplus(-pos).mean() + softplus(neg).mean())
    assert bce_disc_loss(pos, neg).item() == pytest.approx(expected.item())
    # Confident and right is ~0; confident and wrong is large.
    assert bce_disc_loss(torch.tensor([20.0]), torch.tensor([-20.0])).item() < 1e-8
    assert bce_disc_loss(torch.tensor([-20.0]), torch.tensor([20.0])).item() > 19


def test_gradient_penalty_of_a_linear_discriminator_is_its_squared_weights():
    w = torch.tensor([0.5, -2.0, 1.5])
    x = torch.randn(16, 3, requires_grad=True)
    gp = gradient_penalty(x @ w + 0.3, x)
    assert gp.item() == pytest.approx(w.square().sum().item())
    # Per-sample, then averaged: a quadratic D(x) = |x|^2 has |dD/dx|^2 = 4|x|^2.
    x2 = torch.tensor([[1.0, 0.0], [0.0, 3.0]], requires_grad=True)
    assert gradient_penalty(x2.square().sum(-1), x2).item() == pytest.approx(0.5 * (4 + 36))


def test_gradient_penalty_keeps_its_graph_for_minimization():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    x = torch.randn(4, 2, requires_grad=True)
    gradient_penalty(x @ w, x).backward()
    assert torch.allclose(w.grad, 2 * w.detach())  # d|w|^2/dw


def test_logit_reg_and_accuracy():
    head = torch.nn.Linear(3, 1)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, -2.0, 0.5]]))
        head.bias.fill_(7.0)  # excluded
    assert logit_reg(head).item() == pytest.approx(5.25)
    pos_acc, neg_acc = disc_accuracy(torch.tensor([1.0, -1.0, 2.0, 0.5]), torch.tensor([-3.0, 1.0]))
    assert (pos_acc.item(), neg_acc.item()) == (0.75, 0.5)


def test_discriminator_layers_and_logit_init():
    torch.manual_seed(0)
    cfg = AMPModelConfig(disc_net=[64, 32], disc_init_output_scale=0.5, activation="elu")
    disc = Discriminator(7, cfg)
    linears = [m for m in disc.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [64, 32, 1]
    assert any(isinstance(m, torch.nn.ELU) for m in disc.modules())
    w = disc.logit.weight
    assert w.abs().max().item() <= 0.5 and w.abs().max().item() > 0.4  # U(+-0.5), 32 draws
    assert disc.logit.bias.item() == 0.0
    assert disc(torch.randn(5, 7)).shape == (5,)
    assert Discriminator(7, AMPModelConfig()).trunk[0].out_features == 1024  # MimicKit size
