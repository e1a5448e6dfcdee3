"""The adversarial discriminator (AMP, ADD) and its loss terms as plain tensor functions.

``Discriminator``: MLP trunk + one linear logit, on *normalized* inputs. D > 0 means
"looks like the demonstration" (AMP: a dataset sample; ADD: a zero difference).

The formulas, as MimicKit ships them (BCE, not the AMP paper's least squares):

* reward     r = -log(max(1 - sigmoid(D), 1e-4)) * scale
* loss       1/2 [BCE(D(pos), 1) + BCE(D(neg), 0)]
             + w_gp * 1/2 [E|dD/dx_pos|^2 + E|dD/dx_neg|^2] + w_logit * |W_logit|^2
* accuracy   pos: D > 0, neg: D < 0
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from mjmimic.agents.adversarial_config import AMPModelConfig
from mjmimic.agents.config import resolve_layer_sizes
from mjmimic.agents.networks import build_mlp

# 1 - sigmoid(D) is floored here before the log (MimicKit): the reward is at most
# -log(1e-4) = 9.21 per unit of scale, however sure the discriminator is.
REWARD_PROB_FLOOR = 1e-4


class Discriminator(nn.Module):
    """Trunk (``disc_net``, the model's activation) -> logit (B,). The logit layer starts
    U(+-disc_init_output_scale) with bias 0, so the first rewards are already spread."""

    def __init__(self, in_dim: int, cfg: AMPModelConfig):
        super().__init__()
        sizes = resolve_layer_sizes(cfg.disc_net, "disc_net")
        self.trunk = build_mlp(in_dim, sizes, cfg.activation)
        self.logit = nn.Linear(sizes[-1], 1)
        scale = cfg.disc_init_output_scale
        nn.init.uniform_(self.logit.weight, -scale, scale)
        nn.init.zeros_(self.logit.bias)

    def forward(self, norm_x: torch.Tensor) -> torch.Tensor:
        return self.logit(self.trunk(norm_x)).squeeze(-1)


def disc_reward(logits: torch.Tensor, scale: float) -> torch.Tensor:
    """-log(max(1 - sigmoid(logits), 1e-4)) * scale, computed without forming 1 - sigmoid.

    -log(1 - sigmoid(l)) = softplus(l) exactly, and the log is monotone, so flooring the
    probability at 1e-4 is capping softplus at -log(1e-4): same numbers, no cancellation
    for large logits and no overflow for huge ones."""
    return F.softplus(logits).clamp(max=-math.log(REWARD_PROB_FLOOR)) * scale


def bce_disc_loss(pos_logits: torch.Tensor, neg_logits: torch.Tensor) -> torch.Tensor:
    """1/2 [BCE(pos, 1) + BCE(neg, 0)], each the mean over its own samples (so a single
    positive, ADD's zero vector, weighs as much as all the negatives)."""
    pos = F.binary_cross_entropy_with_logits(pos_logits, torch.ones_like(pos_logits))
    neg = F.binary_cross_entropy_with_logits(neg_logits, torch.zeros_like(neg_logits))
    return 0.5 * (pos + neg)


def gradient_penalty(outputs: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """Mean over samples of |d output_i / d input_i|^2 (``inputs`` must require grad; the
    graph is kept so the penalty itself can be minimized). Samples are independent rows,
    so the gradient of the sum gives each row its own gradient."""
    (grad,) = torch.autograd.grad(outputs.sum(), inputs, create_graph=True)
    return grad.square().sum(-1).mean()


def logit_reg(head: nn.Linear) -> torch.Tensor:
    """|W_logit|^2: the logit layer's squared weights (bias excluded)."""
    return head.weight.square().sum()


def disc_accuracy(
    pos_logits: torch.Tensor, neg_logits: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(fraction of positives with D > 0, fraction of negatives with D < 0)."""
    return (pos_logits > 0).float().mean(), (neg_logits < 0).float().mean()
