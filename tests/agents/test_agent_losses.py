"""PPO loss terms and the adaptive learning rate on hand examples."""

from __future__ import annotations

import pytest
import torch

from mjmimic.agents.ppo import action_bound_loss, adaptive_lr, clipped_surrogate_loss, value_loss


def test_action_bound_loss_hand_example():
    mean = torch.tensor([[0.5, 1.5, -3.0], [2.0, -1.0, 0.0]])
    # row 0: 0 + (1.5-1)^2 + (-3+1)^2 = 0.25 + 4 = 4.25
    # row 1: (2-1)^2 + 0 + 0 = 1          -> mean over rows = 2.625
    assert float(action_bound_loss(mean)) == pytest.approx(2.625)
    assert float(action_bound_loss(torch.tensor([[1.0, -1.0, 0.3]]))) == 0.0


def test_clipped_surrogate_hand_example():
    ratio = torch.tensor([0.5, 1.5, 1.1, 0.5])
    adv = torch.tensor([1.0, 1.0, -2.0, -1.0])
    # eps 0.2: min(r*A, clip(r)*A) per row
    #   0.5*1 = 0.5  vs 0.8*1 = 0.8   -> 0.5
    #   1.5*1 = 1.5  vs 1.2*1 = 1.2   -> 1.2
    #   1.1*-2 = -2.2 vs 1.1*-2       -> -2.2
    #   0.5*-1 = -0.5 vs 0.8*-1 = -0.8 -> -0.8
    # loss = -(0.5 + 1.2 - 2.2 - 0.8)/4 = 0.325
    assert float(clipped_surrogate_loss(ratio, adv, 0.2)) == pytest.approx(0.325)


def test_value_loss_plain_and_clipped():
    value = torch.tensor([1.0, 2.0, 0.0, 4.0])
    old = torch.tensor([0.5, 2.5, 0.0, 3.0])
    ret = torch.tensor([2.0, 1.0, 1.0, 3.5])
    # plain: (1-2)^2, (2-1)^2, (0-1)^2, (4-3.5)^2 = 1, 1, 1, 0.25 -> 0.8125
    assert float(value_loss(value, ret, old, None)) == pytest.approx(0.8125)
    # clip 0.2: V_clip = old + clip(V - old) = 0.7, 2.3, 0.0, 3.2
    #   (0.7-2)^2 = 1.69, (2.3-1)^2 = 1.69, (0-1)^2 = 1, (3.2-3.5)^2 = 0.09
    #   max with plain: 1.69, 1.69, 1, 0.25 -> 4.63/4 = 1.1575
    assert float(value_loss(value, ret, old, 0.2)) == pytest.approx(1.1575)


def test_adaptive_lr_direction_and_bounds():
    assert adaptive_lr(1e-3, kl=0.05, desired_kl=0.01) == pytest.approx(1e-3 / 1.5)  # too far
    assert adaptive_lr(1e-3, kl=0.001, desired_kl=0.01) == pytest.approx(1.5e-3)  # too timid
    assert adaptive_lr(1e-3, kl=0.01, desired_kl=0.01) == 1e-3  # in the band
    assert adaptive_lr(1e-2, kl=0.0, desired_kl=0.01) == 1e-2  # upper clamp
    assert adaptive_lr(1e-6, kl=1.0, desired_kl=0.01) == 1e-6  # lower clamp
