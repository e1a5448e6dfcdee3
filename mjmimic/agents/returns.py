"""TD(lambda) returns and advantage normalization (MimicKit's formulas).

Tensors are time-major: (steps, num_envs). ``next_value[t]`` is V(next_obs[t]), where a done
row's next_obs is the terminal observation of the episode that just ended.
"""

from __future__ import annotations

import torch

from mjmimic.envs.done import DoneFlag


def td_lambda_returns(
    reward: torch.Tensor,
    done: torch.Tensor,
    next_value: torch.Tensor,
    discount: float,
    td_lambda: float,
) -> torch.Tensor:
    """Lambda-returns R (steps, num_envs); ``R - V(obs)`` is the GAE(lambda) advantage.

    FAIL and SUCC are terminal (next value 0); TIME bootstraps from V(terminal obs); any
    done flag stops the recursion (lambda_t = 0), so episodes never leak into each other:

        R_{T-1} = r_{T-1} + gamma * nv_{T-1}
        R_t     = r_t + gamma * ((1 - lambda_t) * nv_t + lambda_t * R_{t+1})
        lambda_t = td_lambda * [done_t == NULL]
    """
    terminal = (done == DoneFlag.FAIL) | (done == DoneFlag.SUCC)
    next_value = next_value.masked_fill(terminal, 0.0)
    lam = (done == DoneFlag.NULL).to(reward.dtype) * td_lambda
    returns = torch.empty_like(reward)
    returns[-1] = reward[-1] + discount * next_value[-1]
    for t in range(reward.shape[0] - 2, -1, -1):
        blend = torch.lerp(next_value[t], returns[t + 1], lam[t])  # (1-l)*nv + l*R_{t+1}
        returns[t] = reward[t] + discount * blend
    return returns


def normalize_advantages(
    adv: torch.Tensor, clip: float, min_std: float = 1e-5
) -> tuple[torch.Tensor, float, float]:
    """``clip((adv - mean) / max(std, min_std), +-clip)`` over the whole batch.

    Returns (normalized advantages, mean, std) with the population std (ddof 0).
    """
    std, mean = torch.std_mean(adv, correction=0)
    normalized = ((adv - mean) / std.clamp_min(min_std)).clamp_(-clip, clip)
    return normalized, float(mean), float(std)
