"""ADDAgent: the discriminator judges delta = demo - sim (DiffNormalizer-normalized) against
the single zero vector; on a fake task whose sim state is off the reference by a known
offset: the sign, the normalizer, learning zero vs non-zero, replayed pairs, state."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from mimickit_agent_files import load_agent_file, mimickit_humanoid_agent_yaml

from mjmimic.agents.add import ADDAgent
from mjmimic.agents.adversarial_config import ADDConfig, AMPModelConfig, DiscOptimizerConfig
from mjmimic.agents.amp import AMPAgent
from mjmimic.agents.config import OptimizerConfig
from mjmimic.agents.diff_normalizer import DiffNormalizer
from mjmimic.agents.discriminator import disc_reward
from mjmimic.envs.base import InfoSpec
from mjmimic.envs.done import DoneFlag
from mjmimic.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

DISC_DIM = 3
OFFSET = torch.tensor([0.5, -1.0, 0.25])  # demo - sim, up to a little noise


class TrackingEnv:
    """Each step: sim disc obs random, the reference's = sim + OFFSET + 0.05 noise. No demo
    sampler (ADD needs none); the env reward is 0."""

    obs_dim = 3
    action_dim = 2
    info_spec = InfoSpec(extras={"disc_obs": (DISC_DIM,), "disc_obs_demo": (DISC_DIM,)})

    def __init__(self, num_envs: int):
        self.num_envs = num_envs
        self.gen = torch.Generator().manual_seed(2)
        self.t = torch.zeros(num_envs, dtype=torch.long)

    def action_bounds(self):
        return -torch.ones(2), torch.ones(2)

    def reset(self, env_ids=None):
        self.t[slice(None) if env_ids is None else env_ids] = 0
        return torch.randn(self.num_envs, 3, generator=self.gen)

    def step(self, actions):
        self.t += 1
        sim = torch.randn(self.num_envs, DISC_DIM, generator=self.gen)
        demo = sim + OFFSET + 0.05 * torch.randn(self.num_envs, DISC_DIM, generator=self.gen)
        done = torch.where(self.t >= 8, int(DoneFlag.TIME), int(DoneFlag.NULL))
        obs = torch.randn(self.num_envs, 3, generator=self.gen)
        info = {"disc_obs": sim, "disc_obs_demo": demo}
        return obs, torch.zeros(self.num_envs), done, info


def _cfg(**changes) -> ADDConfig:
    fast = OptimizerConfig(type="Adam", learning_rate=1e-3)
    values = {
        "model": AMPModelConfig(actor_net=[16], critic_net=[16], disc_net=[32, 32]),
        "actor_optimizer": fast,
        "critic_optimizer": fast,
        "disc_optimizer": DiscOptimizerConfig(type="Adam", learning_rate=2e-3, weight_decay=0),
        "steps_per_iter": 8,
        "disc_buffer_size": 600,
        **changes,
    }
    return ADDConfig(**values)


def _make(cfg=None, num_envs=32, seed=0):
    torch.manual_seed(seed)
    env = TrackingEnv(num_envs)
    return ADDAgent.from_env(cfg or _cfg(), env), env


def _rollout(agent, env, obs):
    for _ in range(agent.cfg.steps_per_iter):
        action = agent.act(obs)
        next_obs, reward, done, info = env.step(action)
        agent.record_step(next_obs, reward, done, info)
        obs = next_obs
    return obs


def _iteration(agent, env, obs):
    obs = _rollout(agent, env, obs)
    return obs, agent.update()


ADD_HUMANOID_YAML = mimickit_humanoid_agent_yaml("ADD")


def test_mimickit_add_yamls_load_unchanged(tmp_path):
    # MimicKit's add_humanoid_agent.yaml and add_g1_agent.yaml are this same file.
    path = tmp_path / "add_humanoid_agent.yaml"
    path.write_text(ADD_HUMANOID_YAML)
    cfg = load_agent_file(path)
    assert type(cfg) is ADDConfig and cfg.disc_grad_penalty == 2
    assert cfg == ADDConfig()  # the defaults are MimicKit's file
    assert ADDConfig().disc_grad_penalty == 2 and ADDConfig().disc_replay_samples == 1000


@pytest.mark.parametrize(
    "name", ["add_humanoid.yaml", "add_g1.yaml", "add_k1.yaml", "add_cpu.yaml"]
)
def test_repo_add_configs_load(name):
    cfg = load_agent_file(REPO / "configs" / "agents" / name)
    assert type(cfg) is ADDConfig and cfg.disc_grad_penalty == 2


def test_from_env_needs_both_disc_observations_and_no_demo_sampler():
    agent, _ = _make()
    assert isinstance(agent.disc_obs_norm, DiffNormalizer)
    assert agent.disc_obs_dim == DISC_DIM and agent.demos is None

    class SimOnly(TrackingEnv):
        info_spec = InfoSpec(extras={"disc_obs": (DISC_DIM,)})

    with pytest.raises(ConfigError, match=r"agent_name: ADD .*info\['disc_obs_demo'\]"):
        ADDAgent.from_env(_cfg(), SimOnly(4))

    class Mismatched(TrackingEnv):
        info_spec = InfoSpec(extras={"disc_obs": (3,), "disc_obs_demo": (4,)})

    with pytest.raises(ConfigError, match="one size"):
        ADDAgent.from_env(_cfg(), Mismatched(4))
    with pytest.raises(ConfigError, match="DiscriminatorDemos"):
        AMPAgent.from_env(_cfg(agent_name="ADD"), TrackingEnv(4))  # AMP would need one


def test_the_difference_is_demo_minus_sim_and_iteration_0_uses_scale_1():
    agent, env = _make()
    _rollout(agent, env, env.reset())
    sim = agent.buffer["disc_obs"].reshape(-1, DISC_DIM).clone()
    demo = agent.buffer["disc_obs_demo"].reshape(-1, DISC_DIM).clone()
    before = copy.deepcopy(agent.disc)
    stats = agent.update()
    with torch.no_grad():
        expected = disc_reward(before(demo - sim), agent.cfg.disc_reward_scale)  # scale 1
        flipped = disc_reward(before(sim - demo), agent.cfg.disc_reward_scale)
    assert stats["disc_reward_mean"] == pytest.approx(float(expected.mean()), rel=1e-5)
    assert abs(float(flipped.mean()) - stats["disc_reward_mean"]) > 1e-3
    sim_in, demo_in = agent.adversarial_inputs()  # raw, of the last disc minibatch
    assert sim_in.shape == demo_in.shape == (64, DISC_DIM)
    assert torch.allclose((demo_in - sim_in).mean(0), OFFSET, atol=0.05)
    assert sim_in.std(0).min() > 0.5  # the sim obs themselves, not a difference
    # The normalizer merged |demo - sim| of the rollout at the end of the iteration.
    assert int(agent.disc_obs_norm.count) == 256
    assert torch.allclose(agent.disc_obs_norm.mean_abs, (demo - sim).abs().mean(0), atol=1e-5)


def test_replay_holds_raw_pairs_and_their_delta_is_recomputed():
    agent, env = _make()
    _iteration(agent, env, env.reset())
    replay = agent.replay
    assert replay.pushed == 256
    pairs = replay["disc_obs_demo"][:256] - replay["disc_obs"][:256]
    assert torch.allclose(pairs.mean(0), OFFSET, atol=0.05)
    # The negatives of a disc step are normalized with the normalizer of now.
    agent.disc_obs_norm.mean_abs.fill_(2.0)
    _rollout(agent, env, env.reset())
    agent._prepare_disc_data()
    pos, neg = agent._disc_batch(torch.arange(10))
    assert torch.equal(pos, torch.zeros(1, DISC_DIM))  # the single unnormalized zero
    assert neg.shape == (20, DISC_DIM)  # 10 rollout rows + 10 replayed
    assert torch.allclose(neg.mean(0), OFFSET / 2.0, atol=0.1)


def test_discriminator_learns_to_tell_zero_from_nonzero_deltas():
    agent, env = _make()
    obs = env.reset()
    for _ in range(20):
        obs, stats = _iteration(agent, env, obs)
    assert stats["disc_demo_acc"] == 1.0 and stats["disc_agent_acc"] > 0.9, stats
    assert stats["disc_demo_logit"] > 0 > stats["disc_agent_logit"]
    with torch.no_grad():
        zero_logit = agent.disc(torch.zeros(1, DISC_DIM))
        deltas = agent.disc_obs_norm(OFFSET + 0.05 * torch.randn(200, DISC_DIM))
        delta_logit = agent.disc(deltas)
    assert zero_logit.item() > 0 and (delta_logit < 0).float().mean() > 0.9
    # Tracking perfectly earns more than tracking with the offset. The margin stays small
    # (logits ~ +-0.1): the gradient penalty and the logit regularizer bound D's slope.
    gap = disc_reward(zero_logit, 2.0).item() - disc_reward(delta_logit, 2.0).mean().item()
    assert gap > 0.1, gap


def test_checkpoint_round_trip_with_the_diff_normalizer():
    agent, env = _make()
    obs = env.reset()
    for _ in range(2):
        obs, _ = _iteration(agent, env, obs)
    model = copy.deepcopy(agent.model_state_dict())
    assert {"disc_obs_norm.mean_abs", "disc_obs_norm.count", "disc.logit.weight"} <= set(model)
    fresh, _ = _make(seed=3)
    fresh.load_model_state_dict(model)
    fresh.load_training_state_dict(agent.training_state_dict())
    probe = torch.randn(6, DISC_DIM)
    with torch.no_grad():
        assert torch.equal(
            fresh.disc(fresh.disc_obs_norm(probe)), agent.disc(agent.disc_obs_norm(probe))
        )
    assert fresh.replay.pushed == 0  # not checkpointed: it refills (AMPAgent)
    assert int(fresh.disc_obs_norm.count) == 512
