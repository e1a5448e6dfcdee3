"""PPOConfig: MimicKit defaults, validation, network names, help metadata."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from mjmimic.agents.config import ModelConfig, OptimizerConfig, PPOConfig, resolve_layer_sizes
from mjmimic.agents.networks import Actor, Critic
from mjmimic.errors import ConfigError


def _linear_sizes(module: torch.nn.Module) -> list[int]:
    return [m.out_features for m in module.modules() if isinstance(m, torch.nn.Linear)]


def test_defaults_are_mimickit_and_valid():
    cfg = PPOConfig()
    cfg.validate()
    assert (cfg.discount, cfg.td_lambda, cfg.steps_per_iter) == (0.99, 0.95, 32)
    assert (cfg.actor_epochs, cfg.actor_batch_size) == (5, 4)
    assert (cfg.critic_epochs, cfg.critic_batch_size) == (2, 2)
    assert cfg.normalizer_samples == 100_000_000
    assert cfg.model.actor_std_type == "FIXED" and cfg.model.action_std == 0.05
    assert cfg.actor_optimizer.type == "SGD" and cfg.actor_optimizer.momentum == 0.9
    assert cfg.desired_kl is None and cfg.value_clip is None and cfg.grad_clip == 0


def _all_fields(cls):
    for f in dataclasses.fields(cls):
        yield cls, f
        if f.name in ("model",):
            yield from _all_fields(ModelConfig)
        if f.name in ("actor_optimizer", "critic_optimizer"):
            yield from _all_fields(OptimizerConfig)


def test_every_field_has_help():
    missing = [
        f"{cls.__name__}.{f.name}"
        for cls, f in _all_fields(PPOConfig)
        if not f.metadata.get("help")
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("name", "sizes"),
    [
        ("fc_2layers_128units", [128, 64]),
        ("fc_2layers_256units", [256, 128]),
        ("fc_2layers_512units", [512, 256]),
        ("fc_2layers_1024units", [1024, 512]),
        ("fc_3layers_1024units", [1024, 1024, 512]),
        ([48, 24, 12], [48, 24, 12]),
    ],
)
def test_network_names_build_those_layers(name, sizes):
    assert resolve_layer_sizes(name) == sizes
    cfg = ModelConfig(actor_net=name, critic_net=name)
    # hidden layers, then the head: 3 actions for the actor, 1 value for the critic
    assert _linear_sizes(Actor(7, 3, cfg)) == [*sizes, 3]
    assert _linear_sizes(Critic(7, cfg)) == [*sizes, 1]


def test_unknown_network_name_is_a_config_error():
    with pytest.raises(ConfigError, match="fc_2layers_999units"):
        resolve_layer_sizes("fc_2layers_999units")
    cfg = PPOConfig(model=ModelConfig(critic_net="fc_2layers_999units"))
    with pytest.raises(ConfigError, match="critic_net"):
        cfg.validate()
    with pytest.raises(ConfigError):
        resolve_layer_sizes([128, 0])


@pytest.mark.parametrize(
    "change",
    [
        {"discount": 0.0},
        {"discount": 1.5},
        {"td_lambda": -0.1},
        {"actor_batch_size": 0},
        {"critic_batch_size": -2},
        {"steps_per_iter": 0},
        {"actor_epochs": 0},
        {"ppo_clip_ratio": 0.0},
        {"norm_adv_clip": 0.0},
        {"grad_clip": -1.0},
        {"desired_kl": 0.0},
        {"value_clip": -0.2},
        {"actor_optimizer": OptimizerConfig(learning_rate=-1e-4)},
        {"critic_optimizer": OptimizerConfig(learning_rate=0.0)},
        {"critic_optimizer": OptimizerConfig(momentum=1.0)},
        {"model": ModelConfig(action_std=0.0)},
        {"model": ModelConfig(action_std=20.0)},  # beyond the std ceiling of 10
    ],
)
def test_impossible_values_are_config_errors(change):
    with pytest.raises(ConfigError):
        dataclasses.replace(PPOConfig(), **change).validate()


def test_fp16_autocast_is_refused_on_cpu_only():
    cfg = PPOConfig(actor_optimizer=OptimizerConfig(autocast_dtype="fp16"))
    with pytest.raises(ConfigError, match="fp16"):
        cfg.validate()
    cfg.validate(device="cuda")  # fine where fp16 autocast exists
    PPOConfig(actor_optimizer=OptimizerConfig(autocast_dtype="bf16")).validate()


MIMICKIT_GO2_AGENT_YAML = """\
agent_name: "PPO"

model:
  actor_net: "fc_2layers_1024units"
  actor_init_output_scale: 0.01
  actor_std_type: "FIXED"
  action_std: 0.1

  critic_net: "fc_2layers_1024units"

actor_optimizer:
    type: "SGD"
    learning_rate: 2e-4

critic_optimizer:
    type: "SGD"
    learning_rate: 1e-4

discount: 0.99
steps_per_iter: 32
iters_per_output: 100
test_episodes: 32
normalizer_samples: 100000000

actor_epochs: 5
actor_batch_size: 4
critic_epochs: 2
critic_batch_size: 2

td_lambda: 0.95
ppo_clip_ratio: 0.2
norm_adv_clip: 4.0
action_bound_weight: 10.0
action_entropy_weight: 0.0
action_reg_weight: 0.0
"""


def test_mimickit_agent_yaml_loads(tmp_path):
    from mjmimic.config import load_config, load_yaml

    path = tmp_path / "deepmimic_go2_ppo_agent.yaml"
    path.write_text(MIMICKIT_GO2_AGENT_YAML)
    data, origins = load_yaml(path)
    cfg = load_config(PPOConfig, data, str(path), origins, section="agent")
    assert cfg.actor_optimizer.learning_rate == pytest.approx(2e-4)  # "2e-4" is a str in YAML 1.1
    assert cfg.model.action_std == 0.1 and cfg.actor_batch_size == 4
    bad = dict(data, model=dict(data["model"], actor_net="fc_2layers_64units"))
    with pytest.raises(ConfigError, match="fc_2layers_64units"):
        load_config(PPOConfig, bad, str(path))
