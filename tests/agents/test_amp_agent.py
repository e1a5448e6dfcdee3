"""AMPAgent on PPO's hooks, on a tiny fake task whose discriminator observations come from
one distribution and whose demos from another: config loading, the reward (pre-update D),
the disc update schedule and replay schedule, the disc normalizer, learning, state."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch
from mimickit_agent_files import load_agent_file, mimickit_humanoid_agent_yaml

from mjmimic.agents.adversarial_config import (
    AMPConfig,
    AMPModelConfig,
    DiscOptimizerConfig,
)
from mjmimic.agents.amp import AMPAgent
from mjmimic.agents.config import OptimizerConfig
from mjmimic.agents.discriminator import disc_accuracy, disc_reward
from mjmimic.agents.ppo import PPOAgent
from mjmimic.config import config_to_dict, load_config
from mjmimic.envs.base import InfoSpec
from mjmimic.envs.done import DoneFlag
from mjmimic.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
DISC_DIM = 4
DEMO_MEAN, DEMO_STD = 1.5, 0.5


class DemoEnv:
    """Pays ``env_reward`` per step; the agent's disc obs are N(0, 1) (plus a little of the
    action), the demos N(1.5, 0.5^2): a discriminator can learn to tell them apart."""

    obs_dim = 3
    action_dim = 2
    info_spec = InfoSpec(extras={"disc_obs": (DISC_DIM,)})

    def __init__(self, num_envs: int, env_reward: float = 0.0):
        self.num_envs = num_envs
        self.env_reward = env_reward
        self.gen = torch.Generator().manual_seed(1)
        self.t = torch.zeros(num_envs, dtype=torch.long)
        self.demo_calls: list[torch.Tensor] = []

    def action_bounds(self):
        return -torch.ones(2), torch.ones(2)

    def reset(self, env_ids=None):
        self.t[slice(None) if env_ids is None else env_ids] = 0
        return torch.randn(self.num_envs, 3, generator=self.gen)

    def step(self, actions):
        self.t += 1
        disc_obs = torch.randn(self.num_envs, DISC_DIM, generator=self.gen)
        disc_obs[:, 0] += 0.1 * actions[:, 0]
        done = torch.where(self.t >= 8, int(DoneFlag.TIME), int(DoneFlag.NULL))
        reward = torch.full((self.num_envs,), self.env_reward)
        obs = torch.randn(self.num_envs, 3, generator=self.gen)
        return obs, reward, done, {"disc_obs": disc_obs}

    def sample_demo_disc_obs(self, n):
        demo = DEMO_MEAN + DEMO_STD * torch.randn(n, DISC_DIM, generator=self.gen)
        self.demo_calls.append(demo)
        return demo


def _cfg(**changes) -> AMPConfig:
    fast = OptimizerConfig(type="Adam", learning_rate=1e-3)
    values = {
        "model": AMPModelConfig(actor_net=[16], critic_net=[16], disc_net=[32, 32], action_std=0.2),
        "actor_optimizer": fast,
        "critic_optimizer": fast,
        "disc_optimizer": DiscOptimizerConfig(type="Adam", learning_rate=1e-3, weight_decay=0),
        "steps_per_iter": 8,
        "disc_buffer_size": 600,
        "disc_replay_samples": 50,
        **changes,
    }
    return AMPConfig(**values)


def _make(cfg=None, num_envs=32, env_reward=0.0, seed=0):
    torch.manual_seed(seed)
    env = DemoEnv(num_envs, env_reward)
    return AMPAgent.from_env(cfg or _cfg(), env), env


def _rollout(agent, env, obs, steps=None):
    for _ in range(steps or agent.cfg.steps_per_iter):
        action = agent.act(obs)
        next_obs, reward, done, info = env.step(action)
        agent.record_step(next_obs, reward, done, info)
        obs = next_obs
        ended = (done != DoneFlag.NULL).nonzero().squeeze(-1)
        if len(ended):
            obs[ended] = env.reset(ended)[ended]
    return obs


def _iteration(agent, env, obs):
    obs = _rollout(agent, env, obs)
    return obs, agent.update()


@torch.no_grad()
def _held_out_accuracy(agent, env, n=512):
    demo = DEMO_MEAN + DEMO_STD * torch.randn(n, DISC_DIM)
    agent_like = torch.randn(n, DISC_DIM)
    pos = agent.disc(agent.disc_obs_norm(demo))
    neg = agent.disc(agent.disc_obs_norm(agent_like))
    pos_acc, neg_acc = disc_accuracy(pos, neg)
    reward_gap = disc_reward(pos, 2.0).mean() - disc_reward(neg, 2.0).mean()
    return 0.5 * float(pos_acc + neg_acc), float(reward_gap)


# ---------------------------------------------------------------------- config


AMP_HUMANOID_YAML = mimickit_humanoid_agent_yaml("AMP")


def test_mimickit_amp_yaml_loads_unchanged(tmp_path):
    path = tmp_path / "amp_humanoid_agent.yaml"
    path.write_text(AMP_HUMANOID_YAML)
    cfg = load_agent_file(path)
    assert type(cfg) is AMPConfig
    assert cfg.model.disc_net == "fc_2layers_1024units"
    opt = cfg.disc_optimizer
    assert (opt.type, opt.learning_rate, opt.weight_decay) == ("SGD", 2.5e-4, 1e-4)
    assert (cfg.disc_epochs, cfg.disc_batch_size, cfg.disc_buffer_size) == (2, 2, 200000)
    assert (cfg.disc_replay_samples, cfg.disc_logit_reg, cfg.disc_grad_penalty) == (1000, 0.01, 5)
    assert (cfg.disc_reward_scale, cfg.task_reward_weight, cfg.disc_reward_weight) == (2, 0, 1)
    assert cfg.disc_eval_batch_size == 0 and cfg.model.disc_init_output_scale == 1.0
    # The defaults are the same file, and the saved run config (model.pt) loads back.
    assert cfg == AMPConfig()
    assert load_config(AMPConfig, config_to_dict(cfg), "saved") == cfg


def test_a_misspelled_disc_key_is_a_config_error(tmp_path):
    path = tmp_path / "amp.yaml"
    path.write_text(AMP_HUMANOID_YAML.replace("disc_grad_penalty:", "disc_grad_penalti:"))
    with pytest.raises(ConfigError, match="did you mean 'disc_grad_penalty'"):
        load_agent_file(path)
    path.write_text(AMP_HUMANOID_YAML.replace('disc_net: "fc', 'disc_net: "fx'))
    with pytest.raises(ConfigError, match=r"amp\.yaml.*model\.disc_net"):
        load_agent_file(path)


@pytest.mark.parametrize("name", ["amp_humanoid.yaml", "amp_humanoid_cpu.yaml"])
def test_repo_amp_configs_load(name):
    cfg = load_agent_file(REPO / "configs" / "agents" / name)
    assert type(cfg) is AMPConfig and cfg.disc_grad_penalty == 5


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"disc_epochs": 0}, "disc_epochs"),
        ({"disc_batch_size": 0}, "disc_batch_size"),
        ({"disc_buffer_size": 0}, "disc_buffer_size"),
        ({"disc_replay_samples": -1}, "disc_replay_samples"),
        ({"disc_grad_penalty": -1.0}, "disc_grad_penalty"),
        ({"disc_logit_reg": float("nan")}, "disc_logit_reg"),
        ({"disc_reward_scale": -2.0}, "disc_reward_scale"),
        ({"disc_eval_batch_size": -1}, "disc_eval_batch_size"),
        ({"task_reward_weight": 0.0, "disc_reward_weight": 0.0}, "disc_reward_weight"),
        ({"model": AMPModelConfig(disc_net=[0])}, "disc_net"),
        ({"model": AMPModelConfig(disc_init_output_scale=-1.0)}, "disc_init_output_scale"),
        ({"disc_optimizer": DiscOptimizerConfig(learning_rate=0.0)}, "disc_optimizer"),
        ({"disc_optimizer": DiscOptimizerConfig(autocast_dtype="bf16")}, "autocast_dtype"),
    ],
)
def test_impossible_values_are_rejected_naming_the_key(change, key):
    with pytest.raises(ConfigError, match=key) as err:
        AMPConfig(**change).validate()
    assert "\n" not in str(err.value)


def test_every_new_field_has_help():
    import dataclasses

    missing = [
        f"{cls.__name__}.{f.name}"
        for cls in (AMPConfig, AMPModelConfig, DiscOptimizerConfig)
        for f in dataclasses.fields(cls)
        if not f.metadata.get("help")
    ]
    assert missing == []


# ---------------------------------------------------------------------- building


def test_from_env_reads_the_disc_size_and_needs_a_demo_source():
    agent, _ = _make()
    assert agent.disc_obs_dim == DISC_DIM
    assert agent.disc.trunk[0].in_features == DISC_DIM

    class NoDemos(DemoEnv):
        sample_demo_disc_obs = None

    with pytest.raises(ConfigError, match="agent_name: AMP needs a task with DiscriminatorDemos"):
        AMPAgent.from_env(_cfg(), NoDemos(4))

    class NoDiscObs(DemoEnv):
        info_spec = InfoSpec(extras={"hint": (2,)})

    with pytest.raises(ConfigError, match=r"info\['disc_obs'\].*NoDiscObs task declares .*hint"):
        AMPAgent.from_env(_cfg(), NoDiscObs(4))

    class Image(DemoEnv):
        info_spec = InfoSpec(extras={"disc_obs": (2, 2)})

    with pytest.raises(ConfigError, match=r"flat .*\(2, 2\)"):
        AMPAgent.from_env(_cfg(), Image(4))


def test_the_deployed_policy_and_model_file_contents():
    agent, _ = _make()
    policy_keys = set(agent.normalized_policy.state_dict())
    assert policy_keys and not any(k.startswith("disc") for k in policy_keys)
    model_keys = set(agent.model_state_dict())
    assert {"disc.logit.weight", "disc_obs_norm.mean", "disc_obs_norm.var"} <= model_keys
    tensors = agent.named_tensors()
    assert {
        "disc.logit.weight",
        "disc.trunk.0.weight",
        "disc_obs_norm.mean",
        "obs_norm.mean",
    } <= set(tensors)
    assert agent.adversarial_inputs() is None


# ---------------------------------------------------------------------- the update


def test_reward_is_the_pre_update_discriminator_on_the_pre_update_normalizer():
    agent, env = _make(_cfg(task_reward_weight=0.5, disc_reward_weight=2.0), env_reward=1.0)
    obs = env.reset()
    obs, _ = _iteration(agent, env, obs)  # the normalizer now has statistics
    obs = _rollout(agent, env, obs)
    before = copy.deepcopy(agent.model)
    disc_obs = agent.buffer["disc_obs"].clone()
    with torch.no_grad():
        logits = before.disc(before.disc_obs_norm(disc_obs.view(-1, DISC_DIM)))
    expected = disc_reward(logits, 2.0)
    # The hook itself: r = 0.5 * r_env + 2 * r_disc, (steps, N).
    rewards = agent._rewards_for_returns({})
    assert torch.allclose(rewards, 0.5 * 1.0 + 2.0 * expected.view(8, -1), atol=1e-5)

    stats = agent.update()
    assert stats["disc_reward_mean"] == pytest.approx(float(expected.mean()), rel=1e-5)
    assert stats["disc_reward_std"] == pytest.approx(float(expected.std()), rel=1e-4)
    # The update changed both D and the normalizer: evaluating after it would differ.
    with torch.no_grad():
        after = disc_reward(agent.disc(agent.disc_obs_norm(disc_obs.view(-1, DISC_DIM))), 2.0)
    assert abs(float(after.mean()) - stats["disc_reward_mean"]) > 1e-3
    assert not torch.equal(before.disc_obs_norm.mean, agent.disc_obs_norm.mean)


def test_disc_eval_batch_size_only_chunks_the_evaluation():
    agent, env = _make()
    _rollout(agent, env, env.reset())
    whole = agent._rewards_for_returns({})
    agent.cfg.disc_eval_batch_size = 7
    assert torch.allclose(agent._rewards_for_returns({}), whole, atol=1e-6)


@pytest.mark.parametrize(("batch_size", "steps"), [(2, 4 * 2), (1.5, 6 * 2), (100, 1 * 2)])
def test_disc_steps_per_update_are_mimickits(batch_size, steps):
    # ceil(samples / ceil(disc_batch_size * num_envs)) * disc_epochs; 256 samples here.
    agent, env = _make(_cfg(disc_batch_size=batch_size))
    calls = []
    step = agent.disc_optimizer.step
    agent.disc_optimizer.step = lambda *a, **k: (calls.append(1), step(*a, **k))[1]
    _iteration(agent, env, env.reset())
    assert len(calls) == steps
    assert agent.disc_batch == min(math.ceil(batch_size * 32), 256)


def test_replay_gets_every_sample_until_full_then_disc_replay_samples():
    agent, env = _make()  # capacity 600, rollouts of 256
    obs = env.reset()
    obs = _rollout(agent, env, obs)
    rollout = agent.buffer["disc_obs"].reshape(-1, DISC_DIM).clone()
    agent.update()
    replay = agent.replay
    assert replay.pushed == 256
    # Every row of the rollout, in some order.
    stored = replay["disc_obs"][:256]
    assert torch.equal(stored[stored[:, 0].argsort()], rollout[rollout[:, 0].argsort()])
    pushed = []
    for _ in range(3):
        obs, _ = _iteration(agent, env, obs)
        pushed.append(replay.pushed)
    # 512; then 768 (not full before the push, so all of it, wrapping); then +50 per iteration.
    assert pushed == [512, 768, 818]
    assert replay.full and replay.head == 818 % 600


def test_disc_normalizer_records_agent_and_demo_samples_until_normalizer_samples():
    agent, env = _make(_cfg(normalizer_samples=300))
    obs = env.reset()
    obs = _rollout(agent, env, obs)
    rollout = agent.buffer["disc_obs"].reshape(-1, DISC_DIM).clone()
    assert int(agent.disc_obs_norm.count) == 0  # recorded, merged only at the end
    agent.update()
    both = torch.cat([rollout, env.demo_calls[-1]])
    assert int(agent.disc_obs_norm.count) == 512
    assert torch.allclose(agent.disc_obs_norm.mean, both.mean(0), atol=1e-5)
    assert torch.allclose(agent.disc_obs_norm.var, both.var(0, unbiased=False), atol=1e-4)
    obs, _ = _iteration(agent, env, obs)  # 256 < 300 steps before it: recorded
    assert int(agent.disc_obs_norm.count) == 1024
    mean = agent.disc_obs_norm.mean.clone()
    _iteration(agent, env, obs)  # 512 >= 300: frozen
    assert int(agent.disc_obs_norm.count) == 1024
    assert torch.equal(agent.disc_obs_norm.mean, mean)


def test_discard_rollout_forgets_the_disc_normalizers_records():
    agent, env = _make()
    obs = _rollout(agent, env, env.reset(), steps=3)
    agent.discard_rollout()
    _iteration(agent, env, obs)
    assert int(agent.disc_obs_norm.count) == 512  # one full rollout and its demos only


def test_discriminator_learns_and_rewards_demo_like_samples_more():
    agent, env = _make()
    acc_before, gap_before = _held_out_accuracy(agent, env)
    obs = env.reset()
    first = None
    for _ in range(12):
        obs, stats = _iteration(agent, env, obs)
        first = first or stats
    acc_after, gap_after = _held_out_accuracy(agent, env)
    assert acc_after > 0.95 > acc_before, (acc_before, acc_after)
    assert gap_after > 0.2 > gap_before, (gap_before, gap_after)
    # The logged statistics say the same.
    assert stats["disc_agent_acc"] > 0.8 and stats["disc_demo_acc"] > 0.8
    assert stats["disc_demo_logit"] > 0 > stats["disc_agent_logit"]
    assert stats["disc_loss"] < first["disc_loss"]


def test_stats_guard_attributes_and_adversarial_inputs():
    agent, env = _make()
    _, stats = _iteration(agent, env, env.reset())
    names = (
        "disc_loss",
        "disc_grad_penalty",
        "disc_logit_loss",
        "disc_agent_acc",
        "disc_demo_acc",
        "disc_agent_logit",
        "disc_demo_logit",
        "grad_norm_disc",
        "disc_reward_mean",
        "disc_reward_std",
    )
    assert all(math.isfinite(stats[n]) for n in names), stats
    assert stats["disc_grad_penalty"] > 0 and stats["disc_logit_loss"] > 0
    order = AMPAgent.update_stat_order
    assert order[:2] == ("disc_reward_mean", "disc_reward_std")
    assert order[2 : 2 + len(PPOAgent.update_stat_order)] == PPOAgent.update_stat_order
    assert set(order) <= set(stats)
    assert {"disc_grad_penalty", "grad_norm_disc"} <= set(AMPAgent.spike_stats)
    assert set(PPOAgent.spike_stats) <= set(AMPAgent.spike_stats)
    assert AMPAgent.accuracy_stats == ("disc_agent_acc", "disc_demo_acc")
    agent_in, demo_in = agent.adversarial_inputs()
    assert agent_in.shape == demo_in.shape == (64, DISC_DIM)  # the last minibatch's rollout rows
    # Raw, not normalized: the demo rows keep the demo distribution's mean.
    assert demo_in.mean().item() == pytest.approx(DEMO_MEAN, abs=0.2)
    assert agent_in.mean().item() == pytest.approx(0.0, abs=0.2)


def test_checkpoint_round_trip_reproduces_the_discriminator():
    agent, env = _make()
    obs = env.reset()
    for _ in range(2):
        obs, _ = _iteration(agent, env, obs)
    model, training = copy.deepcopy(agent.model_state_dict()), agent.training_state_dict()
    fresh, _ = _make(seed=5)
    probe = torch.randn(10, DISC_DIM)
    with torch.no_grad():
        assert not torch.allclose(
            fresh.disc(fresh.disc_obs_norm(probe)), agent.disc(agent.disc_obs_norm(probe))
        )
        fresh.load_model_state_dict(model)
        fresh.load_training_state_dict(training)
        assert torch.equal(
            fresh.disc(fresh.disc_obs_norm(probe)), agent.disc(agent.disc_obs_norm(probe))
        )
    assert torch.equal(fresh.disc_obs_norm.var, agent.disc_obs_norm.var)
    # The replay is not checkpointed (MimicKit's size makes it ~1 GB): it refills.
    assert "replay" not in training["extra"] and fresh.replay.pushed == 0
    moments = fresh.disc_optimizer.state_dict()["state"]
    assert moments and torch.equal(
        moments[0]["exp_avg"], agent.disc_optimizer.state_dict()["state"][0]["exp_avg"]
    )
    # And it trains on from there.
    _iteration(fresh, env, env.reset())
    assert fresh.iteration == 3
