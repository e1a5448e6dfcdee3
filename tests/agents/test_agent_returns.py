"""TD(lambda) returns and advantage normalization against hand computations."""

from __future__ import annotations

import pytest
import torch

from mjmimic.agents.returns import normalize_advantages, td_lambda_returns
from mjmimic.envs.done import DoneFlag

NULL, FAIL, SUCC, TIME = (int(f) for f in DoneFlag)


def test_hand_example_gamma_09_lambda_08():
    # time-major (3 steps, 2 envs)
    reward = torch.tensor([[1.0, 0.5], [2.0, -1.0], [3.0, 2.0]])
    done = torch.tensor([[NULL, TIME], [FAIL, NULL], [NULL, SUCC]])
    next_value = torch.tensor([[10.0, 4.0], [20.0, 6.0], [30.0, 8.0]])
    r = td_lambda_returns(reward, done, next_value, discount=0.9, td_lambda=0.8)
    # env 0:
    #   t=2 (last, NULL):  R = 3 + 0.9*30                          = 30
    #   t=1 (FAIL):        nv -> 0, lambda -> 0: R = 2 + 0.9*0      = 2
    #   t=0 (NULL):        R = 1 + 0.9*(0.2*10 + 0.8*2) = 1 + 0.9*3.6 = 4.24
    # env 1:
    #   t=2 (last, SUCC):  nv -> 0: R = 2 + 0.9*0                  = 2
    #   t=1 (NULL):        R = -1 + 0.9*(0.2*6 + 0.8*2) = -1 + 0.9*2.8 = 1.52
    #   t=0 (TIME):        lambda -> 0, bootstrap kept: R = 0.5 + 0.9*4 = 4.1
    expected = torch.tensor([[4.24, 4.1], [2.0, 1.52], [30.0, 2.0]])
    torch.testing.assert_close(r, expected)


def _random_rollout(steps=12, envs=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    reward = torch.randn(steps, envs, generator=g)
    done = torch.randint(0, 4, (steps, envs), generator=g)
    done[torch.rand(steps, envs, generator=g) < 0.5] = NULL  # mostly running episodes
    next_value = torch.randn(steps, envs, generator=g)
    return reward, done, next_value


def test_lambda_1_is_discounted_monte_carlo_plus_bootstrap():
    reward, done, next_value = _random_rollout()
    gamma = 0.9
    expected = torch.zeros_like(reward)
    steps, envs = reward.shape
    for e in range(envs):
        g = None
        for t in reversed(range(steps)):
            flag = int(done[t, e])
            if flag in (FAIL, SUCC):
                g = reward[t, e]  # episode over, no future
            elif flag == TIME or g is None:  # truncated episode or end of the rollout
                g = reward[t, e] + gamma * next_value[t, e]
            else:
                g = reward[t, e] + gamma * g
            expected[t, e] = g
    torch.testing.assert_close(td_lambda_returns(reward, done, next_value, gamma, 1.0), expected)


def test_lambda_0_is_one_step_td():
    reward, done, next_value = _random_rollout(seed=1)
    gamma = 0.95
    terminal = (done == FAIL) | (done == SUCC)
    expected = reward + gamma * torch.where(terminal, 0.0, next_value)
    torch.testing.assert_close(td_lambda_returns(reward, done, next_value, gamma, 0.0), expected)


def test_advantage_normalization_and_clip():
    adv = torch.tensor([0.0, 0.0, 0.0, 10.0])
    # mean 2.5; population var = (3*2.5^2 + 7.5^2)/4 = 75/4, std = 4.330127
    # normalized: -2.5/4.330127 = -0.577350, 7.5/4.330127 = 1.732051 -> clipped to 1.5
    norm, mean, std = normalize_advantages(adv, clip=1.5)
    assert mean == pytest.approx(2.5)
    assert std == pytest.approx(4.330127, rel=1e-6)
    torch.testing.assert_close(norm, torch.tensor([-0.577350, -0.577350, -0.577350, 1.5]))
    # unclipped values keep zero mean and unit std
    norm, _, _ = normalize_advantages(adv, clip=4.0)
    assert float(norm.mean()) == pytest.approx(0.0, abs=1e-6)
    assert float(norm.std(correction=0)) == pytest.approx(1.0, rel=1e-6)


def test_constant_advantages_use_the_std_floor():
    norm, _, std = normalize_advantages(torch.full((6,), 3.0), clip=4.0)
    assert std == 0.0
    assert torch.equal(norm, torch.zeros(6))  # (3 - 3) / 1e-5, no NaN
