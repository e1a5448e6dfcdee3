"""PPO configuration: MimicKit's agent YAML keys plus a few rsl_rl options.

A MimicKit agent file (``agent_name: "PPO"``, ``model:``, ``actor_optimizer:``, ...) loads
into ``PPOConfig`` unchanged. Options MimicKit does not have (``activation``, ``desired_kl``,
``value_clip``, ``momentum``) default to MimicKit's behaviour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from mjmimic.agents.distributions import LOG_STD_MAX, LOG_STD_MIN
from mjmimic.config.bounds import (
    AT_LEAST_ONE,
    NON_NEGATIVE,
    POSITIVE,
    PROBABILITY,
    Bounds,
    check_field_bounds,
)
from mjmimic.errors import ConfigError
from mjmimic.health.config import HealthConfig
from mjmimic.training.evaluation_config import EvaluationConfig

# MimicKit's network names -> hidden layer sizes (what its builders actually create).
NET_LAYER_SIZES: dict[str, list[int]] = {
    "fc_2layers_128units": [128, 64],
    "fc_2layers_256units": [256, 128],
    "fc_2layers_512units": [512, 256],
    "fc_2layers_1024units": [1024, 512],
    "fc_3layers_1024units": [1024, 1024, 512],
}


def resolve_layer_sizes(net: list[int] | str, key: str = "net") -> list[int]:
    """Hidden layer sizes for a MimicKit net name or an explicit list of ints."""
    if isinstance(net, str):
        if net not in NET_LAYER_SIZES:
            names = ", ".join(NET_LAYER_SIZES)
            raise ConfigError(
                f"model.{key}: unknown network '{net}'; use one of {names} or a list of "
                "layer sizes such as [512, 256, 128]"
            )
        return list(NET_LAYER_SIZES[net])
    sizes = list(net)
    if not sizes or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0 for s in sizes):
        raise ConfigError(
            f"model.{key}: layer sizes must be a non-empty list of ints > 0, got {net}"
        )
    return sizes


@dataclass
class ModelConfig:
    """Actor and critic networks and the action distribution."""

    actor_net: list[int] | str = field(
        default="fc_2layers_1024units",
        metadata={
            "help": "actor hidden layers: a MimicKit name (fc_2layers_1024units = [1024, 512], "
            "fc_2layers_512units = [512, 256], fc_3layers_1024units = [1024, 1024, 512], ...) "
            "or a list of sizes",
            "range": "[512, 256, 128] (rsl_rl) to fc_2layers_1024units (MimicKit)",
            "bounds": AT_LEAST_ONE,
        },
    )
    critic_net: list[int] | str = field(
        default="fc_2layers_1024units",
        metadata={"help": "critic hidden layers, same forms as actor_net", "bounds": AT_LEAST_ONE},
    )
    activation: Literal["relu", "elu", "tanh"] = field(
        default="relu", metadata={"help": "hidden activation of both nets (MimicKit: relu)"}
    )
    actor_init_output_scale: float = field(
        default=0.01,
        metadata={
            "help": "action-mean head weights start as U(-scale, scale), bias 0, so the first "
            "policy acts near the middle of the action range",
            "range": "0.001-0.1",
            # 0 (a zero-initialised head) is a common choice, not a mistake.
            "bounds": NON_NEGATIVE,
        },
    )
    actor_std_type: Literal["FIXED", "CONSTANT", "VARIABLE"] = field(
        default="FIXED",
        metadata={
            "help": "FIXED: std = action_std, never trained (MimicKit default); CONSTANT: one "
            "trainable log-std per action; VARIABLE: log-std from a linear head on the actor trunk"
        },
    )
    action_std: float = field(
        default=0.05,
        metadata={
            "help": "(initial) action std in normalized action units (1 = half the action range)",
            "range": "0.05-0.3",
            # The distribution clamps log-std to this range, so a std outside it never applies.
            "bounds": Bounds(math.exp(LOG_STD_MIN), math.exp(LOG_STD_MAX)),
        },
    )


@dataclass
class OptimizerConfig:
    """One optimizer (MimicKit has one for the actor and one for the critic)."""

    type: Literal["SGD", "Adam", "AdamW"] = field(
        default="SGD",
        metadata={
            "help": "SGD (with momentum, MimicKit's shipped choice), Adam (torch Adam; note "
            "MimicKit's 'Adam' is really AdamW, so use AdamW to reproduce it with weight_decay) "
            "or AdamW"
        },
    )
    learning_rate: float = field(
        default=1e-4,
        metadata={
            "help": "learning rate",
            "range": "1e-5-1e-3 (MimicKit SGD: 1e-4)",
            "bounds": POSITIVE,
        },
    )
    weight_decay: float = field(
        default=0.0,
        metadata={
            "help": "weight decay (L2 for SGD/Adam, decoupled for AdamW)",
            "bounds": NON_NEGATIVE,
        },
    )
    momentum: float = field(
        default=0.9,
        metadata={
            "help": "SGD momentum (ignored by Adam/AdamW)",
            "range": "0-0.99",
            # At 1 the velocity never decays: updates grow without bound.
            "bounds": Bounds(0, 1, high_open=True),
        },
    )
    autocast_dtype: Literal["bf16", "fp16"] | None = field(
        default=None,
        metadata={
            "help": "run this network's forward pass under torch.autocast (mixed precision) "
            "in this dtype during updates; null = off. On CPU only bf16 is supported"
        },
    )

    # Before "AMP" came to mean Adversarial Motion Priors, autocast was use_amp/amp_type.
    RENAMED_KEYS: ClassVar[dict[str, str]] = {
        "use_amp": "use autocast_dtype: bf16 (or null for off)",
        "amp_type": "use autocast_dtype: bf16 (or null for off)",
    }

    def validate(self, key: str, device: str = "cpu") -> None:
        check_field_bounds(self, f"{key}.")
        if self.autocast_dtype == "fp16" and device.startswith("cpu"):
            raise ConfigError(
                f"{key}.autocast_dtype: fp16 autocast is not supported on CPU; use "
                "autocast_dtype: bf16 or null"
            )


@dataclass
class PPOConfig:
    """PPO as MimicKit runs it: separate actor/critic, TD(lambda) returns, critic then actor."""

    agent_name: Literal["PPO"] = field(default="PPO", metadata={"help": "learner: PPO"})
    model: ModelConfig = field(
        default_factory=ModelConfig, metadata={"help": "networks and action distribution"}
    )
    actor_optimizer: OptimizerConfig = field(
        default_factory=OptimizerConfig, metadata={"help": "optimizer of the actor"}
    )
    critic_optimizer: OptimizerConfig = field(
        default_factory=OptimizerConfig, metadata={"help": "optimizer of the critic"}
    )
    discount: float = field(
        default=0.99,
        metadata={
            "help": "reward discount gamma",
            "range": "0.95-0.995",
            # 1 (undiscounted) is well defined: episodes end, and the returns never divide
            # by 1 - gamma; 0 would make the critic a one-step reward predictor.
            "bounds": Bounds(0, 1, low_open=True),
        },
    )
    steps_per_iter: int = field(
        default=32,
        metadata={
            "help": "env steps collected per env per iteration",
            "range": "16-64",
            "bounds": AT_LEAST_ONE,
        },
    )
    iters_per_output: int = field(
        default=100,
        metadata={
            "help": "iterations between test runs, log rows and model.pt saves",
            "bounds": AT_LEAST_ONE,
        },
    )
    test_episodes: int = field(
        default=32,
        metadata={"help": "episodes per test run (deterministic actions)", "bounds": AT_LEAST_ONE},
    )
    evaluation: EvaluationConfig = field(
        default_factory=EvaluationConfig,
        metadata={"help": "when a test episode is a success (per-body thresholds), report"},
    )
    normalizer_samples: int = field(
        default=100_000_000,
        metadata={
            "help": "observations recorded into the running obs normalizer; after that it is "
            "frozen (YAML 1e8 = 100000000)",
            "bounds": NON_NEGATIVE,
        },
    )
    actor_epochs: int = field(
        default=5,
        metadata={
            "help": "passes over the rollout for the actor",
            "range": "1-10",
            "bounds": AT_LEAST_ONE,
        },
    )
    actor_batch_size: float = field(
        default=4,
        metadata={
            "help": "actor minibatch size as a MULTIPLE OF num_envs (MimicKit): 4 with 4096 envs "
            "= 16384 samples",
            "range": "1-8",
            # A fraction of num_envs is a valid minibatch; the sampler takes at least one.
            "bounds": POSITIVE,
        },
    )
    critic_epochs: int = field(
        default=2,
        metadata={
            "help": "passes over the rollout for the critic",
            "range": "1-10",
            "bounds": AT_LEAST_ONE,
        },
    )
    critic_batch_size: float = field(
        default=2,
        metadata={
            "help": "critic minibatch size as a multiple of num_envs",
            "range": "1-8",
            "bounds": POSITIVE,
        },
    )
    td_lambda: float = field(
        default=0.95,
        metadata={"help": "TD(lambda) / GAE lambda", "range": "0.9-0.97", "bounds": PROBABILITY},
    )
    ppo_clip_ratio: float = field(
        default=0.2,
        metadata={
            "help": "PPO ratio clip epsilon",
            "range": "0.1-0.3",
            # 0 clips every ratio to 1 (no gradient); 1 or more lets the ratio reach 0.
            "bounds": Bounds(0, 1, low_open=True, high_open=True),
        },
    )
    norm_adv_clip: float = field(
        default=4.0,
        metadata={"help": "normalized advantages are clipped to +-this", "bounds": POSITIVE},
    )
    action_bound_weight: float = field(
        default=10.0,
        metadata={
            "help": "penalty on the normalized action mean leaving [-1, 1]: "
            "w * mean(sum(min(mu+1,0)^2 + max(mu-1,0)^2))",
            "bounds": NON_NEGATIVE,
        },
    )
    action_entropy_weight: float = field(
        default=0.0,
        metadata={
            "help": "entropy bonus weight (MimicKit: 0)",
            "range": "0-0.01",
            "bounds": NON_NEGATIVE,
        },
    )
    action_reg_weight: float = field(
        default=0.0,
        metadata={
            "help": "weight of mean |mu|^2 on the normalized action mean",
            "bounds": NON_NEGATIVE,
        },
    )
    grad_clip: float = field(
        default=0.0,
        metadata={
            "help": "clip each net's gradient to this global norm; 0 = off",
            "range": "0 or 0.5-1",
            "bounds": NON_NEGATIVE,
        },
    )
    desired_kl: float | None = field(
        default=None,
        metadata={
            "help": "rsl_rl adaptive actor learning rate: KL > 2*target -> lr/1.5, KL < target/2 "
            "-> lr*1.5, lr kept in [1e-6, 1e-2]; null = fixed lr (MimicKit)",
            "range": "0.005-0.02",
            "bounds": POSITIVE,
        },
    )
    value_clip: float | None = field(
        default=None,
        metadata={
            "help": "rsl_rl clipped value loss: max((V-R)^2, (V_old + clip(V-V_old, +-c) - R)^2); "
            "null = plain (V-R)^2 (MimicKit)",
            "range": "0.2",
            "bounds": POSITIVE,
        },
    )

    health: HealthConfig = field(
        default_factory=HealthConfig,
        metadata={"help": "training guards: NaN/blow-up checks and what to do on a hit"},
    )

    def validate(self, device: str = "cpu") -> None:
        """Raise ConfigError for values that cannot work (device: where training runs)."""
        # The loader checks each key's bounds as it reads the file; a config built or
        # changed in code gets the same check here.
        check_field_bounds(self)
        check_field_bounds(self.model, "model.")
        self.health.validate()
        self.evaluation.validate()
        resolve_layer_sizes(self.model.actor_net, "actor_net")
        resolve_layer_sizes(self.model.critic_net, "critic_net")
        self.actor_optimizer.validate("actor_optimizer", device)
        self.critic_optimizer.validate("critic_optimizer", device)
