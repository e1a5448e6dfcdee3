"""MimicKit's humanoid AMP/ADD agent files, as our tests write them (the two differ only
in ``agent_name`` and ``disc_grad_penalty``), and the loader the run builder uses."""

from __future__ import annotations

from mjmimic.config import load_config, load_yaml
from mjmimic.training.setup import _agent_config_cls

_TEMPLATE = """\
agent_name: "{name}"

model:
  actor_net: "fc_2layers_1024units"
  actor_init_output_scale: 0.01
  actor_std_type: "FIXED"
  action_std: 0.05

  critic_net: "fc_2layers_1024units"

  disc_net: "fc_2layers_1024units"

actor_optimizer:
    type: "SGD"
    learning_rate: 1e-4

critic_optimizer:
    type: "SGD"
    learning_rate: 1e-4

disc_optimizer:
    type: "SGD"
    learning_rate: 2.5e-4
    weight_decay: 0.0001

discount: 0.99
steps_per_iter: 32
iters_per_output: 100
test_episodes: 32
normalizer_samples: 100000000

actor_epochs: 5
actor_batch_size: 4
critic_epochs: 2
critic_batch_size: 2
disc_epochs: 2
disc_batch_size: 2

td_lambda: 0.95
ppo_clip_ratio: 0.2
norm_adv_clip: 4.0
action_bound_weight: 10.0
action_entropy_weight: 0.0
action_reg_weight: 0.0

disc_buffer_size: 200000
disc_replay_samples: 1000
disc_logit_reg: 0.01
disc_grad_penalty: {grad_penalty}
disc_reward_scale: 2

task_reward_weight: 0.0
disc_reward_weight: 1.0
"""


def mimickit_humanoid_agent_yaml(name: str) -> str:
    """MimicKit's ``data/agents/{amp,add}_humanoid_agent.yaml`` text for ``name``."""
    return _TEMPLATE.format(name=name, grad_penalty={"AMP": 5, "ADD": 2}[name])


def load_agent_file(path):
    """An agent YAML as the run builder loads it (agent_name picks the config class)."""
    data, origins = load_yaml(path)
    cls = _agent_config_cls(data, origins, str(path))
    return load_config(cls, data, str(path), origins, section="agent")
