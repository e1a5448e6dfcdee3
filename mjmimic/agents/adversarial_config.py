"""AMP and ADD configuration: PPO's keys plus MimicKit's discriminator keys.

MimicKit's ``amp_*_agent.yaml`` and ``add_*_agent.yaml`` load unchanged: ``agent_name``
("AMP" / "ADD") picks the class, ``model.disc_net`` the discriminator trunk, and the
``disc_*`` / ``*_reward_weight`` keys below. Defaults are MimicKit's humanoid values
(AMP ``disc_grad_penalty`` 5, ADD 2; G1/SMPL AMP files set 10, Pi+ ADD sets 10).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mjmimic.agents.config import ModelConfig, OptimizerConfig, PPOConfig, resolve_layer_sizes
from mjmimic.config.bounds import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE
from mjmimic.errors import ConfigError


@dataclass
class AMPModelConfig(ModelConfig):
    """Actor, critic and the discriminator (its own trunk, no sharing, as in MimicKit)."""

    disc_net: list[int] | str = field(
        default="fc_2layers_1024units",
        metadata={
            "help": "discriminator hidden layers, same forms as actor_net",
            "bounds": AT_LEAST_ONE,
        },
    )
    disc_init_output_scale: float = field(
        default=1.0,
        metadata={
            "help": "discriminator logit-layer weights start as U(-scale, scale), bias 0 "
            "(MimicKit: 1.0)",
            "range": "0.1-1",
            "bounds": NON_NEGATIVE,
        },
    )


@dataclass
class DiscOptimizerConfig(OptimizerConfig):
    """The discriminator's optimizer; its defaults are MimicKit's disc_optimizer, so a
    section that only names ``type`` keeps MimicKit's rate and weight decay."""

    learning_rate: float = field(
        default=2.5e-4,
        metadata={
            "help": "learning rate",
            "range": "1e-5-1e-3 (MimicKit SGD: 2.5e-4)",
            "bounds": POSITIVE,
        },
    )
    weight_decay: float = field(
        default=1e-4,
        metadata={
            "help": "weight decay (L2 for SGD/Adam, decoupled for AdamW); MimicKit 1e-4 "
            "regularises the discriminator's whole trunk",
            "bounds": NON_NEGATIVE,
        },
    )


@dataclass
class AMPConfig(PPOConfig):
    """Adversarial Motion Priors (MimicKit's AMPAgent): PPO whose reward comes from a
    discriminator that tells the policy's motion from the dataset's."""

    agent_name: Literal["AMP"] = field(  # type: ignore[assignment]
        default="AMP", metadata={"help": "learner: AMP"}
    )
    model: AMPModelConfig = field(  # type: ignore[assignment]
        default_factory=AMPModelConfig,
        metadata={"help": "networks (actor, critic, discriminator) and action distribution"},
    )
    disc_optimizer: DiscOptimizerConfig = field(
        default_factory=DiscOptimizerConfig,
        metadata={"help": "optimizer of the discriminator (MimicKit: SGD, lr 2.5e-4, wd 1e-4)"},
    )
    disc_epochs: int = field(
        default=2,
        metadata={
            "help": "passes over the rollout for the discriminator",
            "range": "1-5",
            "bounds": AT_LEAST_ONE,
        },
    )
    disc_batch_size: float = field(
        default=2,
        metadata={
            "help": "discriminator minibatch (rollout samples; as many replayed ones are "
            "added) as a MULTIPLE OF num_envs",
            "range": "1-8",
            "bounds": POSITIVE,
        },
    )
    disc_buffer_size: int = field(
        default=200_000,
        metadata={
            "help": "capacity of the replay of past policy samples (the discriminator's "
            "negatives beside the current rollout); FIFO",
            "range": "1e5-1e6",
            "bounds": AT_LEAST_ONE,
        },
    )
    disc_replay_samples: int = field(
        default=1000,
        metadata={
            "help": "rollout samples pushed into the replay each iteration once it is full "
            "(until then every sample is pushed)",
            "bounds": NON_NEGATIVE,
        },
    )
    disc_logit_reg: float = field(
        default=0.01,
        metadata={
            "help": "weight of |W_logit|^2, the logit layer's squared weights",
            "bounds": NON_NEGATIVE,
        },
    )
    disc_grad_penalty: float = field(
        default=5.0,
        metadata={
            "help": "weight of the gradient penalty 1/2 (E|dD/dx_demo|^2 + E|dD/dx_agent|^2) "
            "(MimicKit AMP: 5 humanoid/Go2/Pi+, 10 G1/SMPL)",
            "range": "1-10",
            "bounds": NON_NEGATIVE,
        },
    )
    disc_reward_scale: float = field(
        default=2.0,
        metadata={
            "help": "r_disc = -log(max(1 - sigmoid(D), 1e-4)) * scale (at most 9.21 * scale)",
            # At 0 the style reward is 0 whatever D says; disc_reward_weight: 0 is how to
            # turn it off.
            "bounds": POSITIVE,
        },
    )
    task_reward_weight: float = field(
        default=0.0,
        metadata={
            "help": "weight of the env's reward in r = w_task * r_env + w_disc * r_disc "
            "(MimicKit: 0; 0.5 for task envs)",
            "bounds": NON_NEGATIVE,
        },
    )
    disc_reward_weight: float = field(
        default=1.0,
        metadata={
            "help": "weight of the discriminator reward (MimicKit: 1; 0.5 for task envs)",
            "bounds": NON_NEGATIVE,
        },
    )
    disc_eval_batch_size: int = field(
        default=0,
        metadata={
            "help": "evaluate the discriminator reward in chunks of this many samples "
            "(bounds the memory of large rollouts); 0 = all at once",
            "bounds": NON_NEGATIVE,
        },
    )

    def validate(self, device: str = "cpu") -> None:
        super().validate(device)
        resolve_layer_sizes(self.model.disc_net, "disc_net")
        self.disc_optimizer.validate("disc_optimizer", device)
        if self.disc_optimizer.autocast_dtype is not None:
            raise ConfigError(
                "disc_optimizer.autocast_dtype must be null: the gradient penalty "
                "differentiates the discriminator twice, which mixed precision does not support"
            )
        if self.task_reward_weight == 0 and self.disc_reward_weight == 0:
            raise ConfigError(
                "task_reward_weight and disc_reward_weight are both 0: the policy would "
                "get no reward; set disc_reward_weight: 1"
            )


@dataclass
class ADDConfig(AMPConfig):
    """Adversarial Differential Discriminator (MimicKit's ADDAgent): the discriminator
    judges the difference between the reference and the simulated state."""

    agent_name: Literal["ADD"] = field(  # type: ignore[assignment]
        default="ADD", metadata={"help": "learner: ADD"}
    )
    disc_grad_penalty: float = field(
        default=2.0,
        metadata={
            "help": "weight of the gradient penalty 1/2 (E|dD/d delta|^2 + |dD/dx at 0|^2); "
            "it keeps D from collapsing to a spike at delta = 0 (MimicKit ADD: 2; Pi+ 10)",
            "range": "1-10",
            "bounds": NON_NEGATIVE,
        },
    )
