"""PPOAgent end to end on tiny pure-torch vector envs."""

from __future__ import annotations

import dataclasses
import time

import pytest
import torch

from mjmimic.agents.config import ModelConfig, OptimizerConfig, PPOConfig
from mjmimic.agents.ppo import PPOAgent
from mjmimic.envs.done import DoneFlag


class TargetEnv:
    """obs = a target in [-1, 1] per episode; reward = -(action - target)^2; 8 steps, then TIME.

    The best action is the target itself (normalized action target/2 with bounds +-2).
    """

    episode_steps = 8
    obs_dim = 1
    action_dim = 1

    def __init__(self, num_envs: int, seed: int = 0):
        self.num_envs = num_envs
        self.gen = torch.Generator().manual_seed(seed)
        self.target = torch.zeros(num_envs)
        self.t = torch.zeros(num_envs, dtype=torch.long)
        self.reset()

    def action_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.tensor([-2.0]), torch.tensor([2.0])

    def reset(self, env_ids: torch.Tensor | None = None) -> torch.Tensor:
        ids = torch.arange(self.num_envs) if env_ids is None else env_ids
        self.target[ids] = torch.rand(len(ids), generator=self.gen) * 2 - 1
        self.t[ids] = 0
        return self.target[:, None].clone()

    def step(self, actions: torch.Tensor):
        reward = -(actions[:, 0] - self.target).square()
        self.t += 1
        done = torch.where(self.t >= self.episode_steps, int(DoneFlag.TIME), int(DoneFlag.NULL))
        return self.target[:, None].clone(), reward, done, {}


def _small_cfg(**changes) -> PPOConfig:
    cfg = PPOConfig(
        model=ModelConfig(actor_net=[32, 32], critic_net=[32, 32], action_std=0.2),
        actor_optimizer=OptimizerConfig(type="Adam", learning_rate=3e-3),
        critic_optimizer=OptimizerConfig(type="Adam", learning_rate=3e-3),
        steps_per_iter=8,
    )
    return dataclasses.replace(cfg, **changes)


def _collect(agent: PPOAgent, env, obs: torch.Tensor) -> tuple[torch.Tensor, float]:
    """One rollout as the trainer runs it; returns the obs to continue from and the mean
    reward per step."""
    reward_sum = 0.0
    for _ in range(agent.cfg.steps_per_iter):
        actions = agent.act(obs)
        next_obs, reward, done, _ = env.step(actions)
        agent.record_step(next_obs, reward, done)
        reward_sum += float(reward.mean())
        obs = next_obs
        ended = (done != DoneFlag.NULL).nonzero().squeeze(-1)
        if len(ended):
            obs = env.reset(ended)
    return obs, reward_sum / agent.cfg.steps_per_iter


def _make(cfg: PPOConfig, num_envs=64, seed=0, env_cls=TargetEnv):
    torch.manual_seed(seed)
    env = env_cls(num_envs, seed)
    low, high = env.action_bounds()
    return PPOAgent(cfg, env.obs_dim, low, high, num_envs), env


def _test_error(agent: PPOAgent) -> float:
    """Mean squared error of the deterministic policy over a grid of targets."""
    target = torch.linspace(-1, 1, 41)[:, None]
    with torch.no_grad():
        return float((agent.normalized_policy(target) - target).square().mean())


def _train(cfg: PPOConfig, iters: int) -> tuple[list[float], list[float]]:
    """Train; returns (test error before/after, mean training reward first/last iteration)."""
    agent, env = _make(cfg)
    errors, rewards = [_test_error(agent)], []
    obs = env.reset()
    for _ in range(iters):
        obs, mean_reward = _collect(agent, env, obs)
        rewards.append(mean_reward)
        stats = agent.update()
        assert all(torch.isfinite(torch.tensor(v)) for v in stats.values()), stats
    errors.append(_test_error(agent))
    return errors, [rewards[0], rewards[-1]]


def test_ppo_learns_the_target_task():
    start = time.perf_counter()
    errors, rewards = _train(_small_cfg(), iters=40)
    # untrained policy acts ~0: error ~ E[target^2] = 1/3, training reward ~ -(1/3 + 0.4^2)
    assert errors[0] == pytest.approx(1 / 3, abs=0.05)
    assert errors[1] < 0.02, errors
    # with exploration noise (std 0.2 normalized = 0.4 env units) the best reward is -0.16
    assert rewards[0] < -0.4 and rewards[1] > -0.25, rewards
    assert time.perf_counter() - start < 10


def test_ppo_with_flipped_advantage_gets_worse(monkeypatch):
    # sabotage: the learner must depend on the sign of the advantage
    import mjmimic.agents.ppo as ppo_module

    orig = ppo_module.normalize_advantages

    def flipped(adv, clip, min_std=1e-5):
        n, m, s = orig(adv, clip, min_std)
        return -n, m, s

    monkeypatch.setattr(ppo_module, "normalize_advantages", flipped)
    errors, rewards = _train(_small_cfg(), iters=20)
    assert errors[1] > errors[0] + 0.2, errors
    assert rewards[1] < rewards[0], rewards


def test_update_stats_and_counters():
    agent, env = _make(_small_cfg(steps_per_iter=4), num_envs=16)
    _collect(agent, env, env.reset())
    stats = agent.update()
    expected = {
        "critic_loss", "actor_loss", "clip_frac", "imp_ratio", "approx_kl", "action_bound_loss",
        "entropy", "adv_mean", "adv_std", "return_mean", "value_mean", "actor_lr",
        "action_std_mean", "grad_norm_actor", "grad_norm_critic",
    }  # fmt: skip
    assert set(stats) == expected
    assert all(isinstance(v, float) for v in stats.values())
    assert stats["action_std_mean"] == pytest.approx(0.2)
    assert agent.iteration == 1 and agent.total_samples == 64
    assert agent.buffer.step == 0
    # minibatch sizes are multiples of num_envs
    assert (agent.actor_batch, agent.critic_batch) == (4 * 16, 2 * 16)


def test_obs_normalizer_updates_only_after_the_update():
    agent, env = _make(_small_cfg(steps_per_iter=4), num_envs=16)
    obs, _ = _collect(agent, env, env.reset())
    assert float(agent.obs_norm.mean) == 0.0 and int(agent.obs_norm.count) == 0
    recorded = agent.buffer.norm_obs.clone()  # iteration 0 acted on raw obs (mean 0 / std 1)
    agent.update()
    assert int(agent.obs_norm.count) == 64
    torch.testing.assert_close(agent.obs_norm.mean, recorded.reshape(-1, 1).mean(0))
    _collect(agent, env, obs)


def test_next_values_reuse_equals_evaluating_every_next_obs():
    class MixedDoneEnv(TargetEnv):
        """Ends with FAIL, SUCC or TIME at random, observations change every step."""

        obs_dim = 3

        def reset(self, env_ids=None):
            super().reset(env_ids)
            return self._obs()

        def _obs(self):
            t = self.t.float()
            return torch.stack([self.target, t, torch.sin(t + self.target)], -1)

        def step(self, actions):
            _, reward, _, _ = super().step(actions)
            u = torch.rand(self.num_envs, generator=self.gen)
            done = torch.full((self.num_envs,), int(DoneFlag.NULL))
            done[u < 0.3] = int(DoneFlag.TIME)
            done[u < 0.2] = int(DoneFlag.SUCC)
            done[u < 0.1] = int(DoneFlag.FAIL)
            return self._obs(), reward, done, {}

    agent, env = _make(_small_cfg(), num_envs=8, env_cls=MixedDoneEnv)
    _collect(agent, env, env.reset())
    buf = agent.buffer
    with torch.no_grad():
        full = agent.critic(agent.obs_norm(buf.next_obs))
        reused = agent._next_values()
    live = (buf.done != DoneFlag.FAIL) & (buf.done != DoneFlag.SUCC)  # the others are zeroed anyway
    assert (buf.done == DoneFlag.TIME).any() and (~live).any()
    torch.testing.assert_close(reused[live], full[live])


def test_act_modes_and_normalized_policy():
    agent, env = _make(_small_cfg(), num_envs=4)
    obs = env.reset()
    with pytest.raises(ValueError):
        agent.act(obs, deterministic=True)
    agent.eval_mode()
    a1, a2 = agent.act(obs), agent.act(obs)
    assert torch.equal(a1, a2) and agent.buffer.step == 0
    torch.testing.assert_close(agent.normalized_policy(obs), a1)
    assert not torch.equal(agent.act(obs, deterministic=False), a1)
    agent.record_step(obs, torch.zeros(4), torch.zeros(4, dtype=torch.long))  # ignored in eval
    assert agent.buffer.step == 0
    agent.train_mode()
    agent.act(obs)
    with pytest.raises(RuntimeError):
        agent.eval_mode()  # in the middle of a rollout
    with pytest.raises(RuntimeError):
        agent.update()  # buffer not full


def test_state_dicts_round_trip():
    cfg = _small_cfg(desired_kl=0.01)
    agent, env = _make(cfg, num_envs=16)
    _collect(agent, env, env.reset())
    agent.update()
    other, _ = _make(cfg, num_envs=16, seed=1)
    obs = torch.randn(5, 1)
    assert not torch.equal(other.normalized_policy(obs), agent.normalized_policy(obs))
    other.load_model_state_dict(agent.model_state_dict())
    other.load_training_state_dict(agent.training_state_dict())
    with torch.no_grad():
        torch.testing.assert_close(other.normalized_policy(obs), agent.normalized_policy(obs))
    assert torch.equal(other.obs_norm.count, agent.obs_norm.count)
    assert (other.iteration, other.total_samples, other.actor_lr) == (1, 128, agent.actor_lr)
    assert other.actor_optimizer.param_groups[0]["lr"] == agent.actor_lr
    momentum = other.actor_optimizer.state_dict()["state"]
    assert momentum.keys() == agent.actor_optimizer.state_dict()["state"].keys()


def test_adaptive_lr_in_the_agent():
    # any real update has KL >> 1e-9: lr must fall; KL << 1.0: lr must rise
    for desired_kl, falls in ((1e-9, True), (1.0, False)):
        agent, env = _make(_small_cfg(desired_kl=desired_kl), num_envs=16)
        _collect(agent, env, env.reset())
        lr0 = agent.actor_lr
        stats = agent.update()
        assert (stats["actor_lr"] < lr0) if falls else (stats["actor_lr"] > lr0)
        assert agent.actor_optimizer.param_groups[0]["lr"] == stats["actor_lr"]


def test_grad_clip_limits_the_step():
    # one critic step (whole buffer, 1 epoch) of plain SGD with lr 1: the parameters move by
    # exactly lr * grad_clip when the gradient norm is larger than grad_clip
    sgd = OptimizerConfig(type="SGD", learning_rate=1.0, momentum=0.0)
    cfg = _small_cfg(
        grad_clip=1e-3, critic_optimizer=sgd, critic_epochs=1, critic_batch_size=8, actor_epochs=1
    )
    agent, env = _make(cfg, num_envs=16)
    _collect(agent, env, env.reset())
    before = torch.cat([p.detach().flatten().clone() for p in agent.critic.parameters()])
    stats = agent.update()
    after = torch.cat([p.detach().flatten() for p in agent.critic.parameters()])
    assert stats["grad_norm_critic"] > 1e-2  # reported: the norm before clipping
    assert float((after - before).norm()) == pytest.approx(1e-3, rel=1e-3)


@pytest.mark.parametrize("std_type", ["FIXED", "CONSTANT", "VARIABLE"])
def test_every_std_type_and_loss_term_updates(std_type):
    model = ModelConfig(actor_net=[16], critic_net=[16], actor_std_type=std_type, action_std=0.2)
    cfg = _small_cfg(model=model, action_entropy_weight=0.01, action_reg_weight=0.1, value_clip=0.2)
    agent, env = _make(cfg, num_envs=16)
    _collect(agent, env, env.reset())
    stats = agent.update()
    assert all(torch.isfinite(torch.tensor(v)) for v in stats.values()), stats
    changed = stats["action_std_mean"] != pytest.approx(0.2, abs=1e-6)
    assert changed == (std_type != "FIXED")


def test_bf16_autocast_update_is_finite():
    amp = OptimizerConfig(type="SGD", learning_rate=1e-3, autocast_dtype="bf16")
    cfg = _small_cfg(actor_optimizer=amp, critic_optimizer=amp)
    agent, env = _make(cfg, num_envs=16)
    _collect(agent, env, env.reset())
    stats = agent.update()
    assert all(torch.isfinite(torch.tensor(v)) for v in stats.values()), stats
    assert stats["critic_loss"] > 0
