"""Actor and critic MLPs (separate trunks, as in MimicKit) and the policy model container.

All networks take *normalized* observations. ``PolicyModel`` bundles what ``model.pt``
holds: observation normalizer, action normalizer, actor and critic. ``NormalizedPolicy`` is
the deterministic, self-contained policy (raw obs -> env-unit action) for export.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mjmimic.agents.config import ModelConfig, resolve_layer_sizes
from mjmimic.agents.distributions import DiagGaussian, bound_log_std
from mjmimic.agents.normalizer import ActionNormalizer, RunningNormalizer

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "elu": nn.ELU, "tanh": nn.Tanh}


def build_mlp(in_dim: int, layer_sizes: list[int], activation: str) -> nn.Sequential:
    """Linear + activation per hidden layer; PyTorch default weights, zero biases."""
    layers: list[nn.Module] = []
    for size in layer_sizes:
        linear = nn.Linear(in_dim, size)
        nn.init.zeros_(linear.bias)
        layers += [linear, ACTIVATIONS[activation]()]
        in_dim = size
    return nn.Sequential(*layers)


class Actor(nn.Module):
    """Trunk -> action mean (normalized units) and log std (FIXED, CONSTANT or VARIABLE).

    It reads the first ``obs_dim`` numbers of the observation it is given: an env with a
    privileged critic puts the critic-only terms after the policy's (``Env.policy_obs_dim``).
    """

    def __init__(self, obs_dim: int, action_dim: int, cfg: ModelConfig):
        super().__init__()
        self.obs_dim = obs_dim
        sizes = resolve_layer_sizes(cfg.actor_net, "actor_net")
        self.trunk = build_mlp(obs_dim, sizes, cfg.activation)
        self.mean_head = nn.Linear(sizes[-1], action_dim)
        _init_head(self.mean_head, cfg.actor_init_output_scale, bias=0.0)
        self.std_type = cfg.actor_std_type
        init_log_std = torch.full((action_dim,), math.log(cfg.action_std))
        if self.std_type == "FIXED":
            self.register_buffer("log_std", init_log_std)
        elif self.std_type == "CONSTANT":
            self.log_std = nn.Parameter(init_log_std)
        else:  # VARIABLE
            self.log_std_head = nn.Linear(sizes[-1], action_dim)
            _init_head(
                self.log_std_head, cfg.actor_init_output_scale, bias=math.log(cfg.action_std)
            )

    def forward(self, norm_obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean (B, A), log_std (A,) or (B, A)), log_std already bounded."""
        features = self.trunk(norm_obs[..., : self.obs_dim])
        mean = self.mean_head(features)
        raw = self.log_std_head(features) if self.std_type == "VARIABLE" else self.log_std
        return mean, bound_log_std(raw)

    def distribution(self, norm_obs: torch.Tensor) -> DiagGaussian:
        mean, log_std = self(norm_obs)
        return DiagGaussian(mean, log_std)

    def action_mean(self, norm_obs: torch.Tensor) -> torch.Tensor:
        return self.mean_head(self.trunk(norm_obs[..., : self.obs_dim]))


class Critic(nn.Module):
    """Trunk -> scalar value, zero output bias."""

    def __init__(self, obs_dim: int, cfg: ModelConfig):
        super().__init__()
        sizes = resolve_layer_sizes(cfg.critic_net, "critic_net")
        self.trunk = build_mlp(obs_dim, sizes, cfg.activation)
        self.head = nn.Linear(sizes[-1], 1)
        nn.init.zeros_(self.head.bias)

    def forward(self, norm_obs: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(norm_obs)).squeeze(-1)


class PolicyModel(nn.Module):
    """Everything a trained policy is: normalizers + actor + critic (the model.pt content)."""

    def __init__(
        self,
        obs_dim: int,
        action_low: torch.Tensor,
        action_high: torch.Tensor,
        cfg: ModelConfig,
        normalizer_samples: int | None = None,
        actor_obs_dim: int | None = None,
    ):
        """``actor_obs_dim``: the leading part of the observation the actor reads (all of
        it when None); the critic reads everything."""
        super().__init__()
        self.obs_norm = RunningNormalizer(
            obs_dim, min_std=1e-4, clip=10.0, max_samples=normalizer_samples
        )
        self.action_norm = ActionNormalizer(action_low, action_high)
        action_dim = self.action_norm.mean.shape[0]
        self.actor = Actor(obs_dim if actor_obs_dim is None else actor_obs_dim, action_dim, cfg)
        self.critic = Critic(obs_dim, cfg)


class NormalizedPolicy(nn.Module):
    """Deterministic policy on raw inputs: the actor's raw obs -> env-unit action mean.

    Its input is the policy part of the observation alone (``Actor.obs_dim`` numbers),
    normalized with the leading statistics of the observation normalizer: what a
    deployed policy is given.

    Shares its modules with the ``PolicyModel`` it was built from (no copy), so it always
    reflects the current weights and normalizer statistics.
    """

    def __init__(self, model: PolicyModel):
        super().__init__()
        self.obs_norm = model.obs_norm
        self.actor = model.actor
        self.action_norm = model.action_norm

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.action_norm.to_env(self.actor.action_mean(self.obs_norm.leading(obs)))


def _init_head(linear: nn.Linear, scale: float, bias: float) -> None:
    nn.init.uniform_(linear.weight, -scale, scale)
    nn.init.constant_(linear.bias, bias)
