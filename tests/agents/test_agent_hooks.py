"""The hooks an AMP/ADD-style subclass of PPOAgent overrides instead of copying update():
named rollout records filled from the env's info, a reward hook before the returns, extra
actor loss terms, an extra optimizer with its own statistics, and checkpoint state."""

from __future__ import annotations

import pytest
import torch

from mjmimic.agents.config import ModelConfig, OptimizerConfig, PPOConfig
from mjmimic.agents.ppo import PPOAgent
from mjmimic.envs.done import DoneFlag


class HintEnv:
    """The env pays nothing; its info carries the target ("hint"). Only a learner that
    turns the hint into a reward (as AMP turns discriminator inputs into one) can learn."""

    obs_dim = 1
    action_dim = 1

    def __init__(self, num_envs: int):
        self.num_envs = num_envs
        self.gen = torch.Generator().manual_seed(0)
        self.target = torch.zeros(num_envs)
        self.t = torch.zeros(num_envs, dtype=torch.long)
        self.reset()

    def action_bounds(self):
        return torch.tensor([-2.0]), torch.tensor([2.0])

    def reset(self, env_ids=None):
        ids = torch.arange(self.num_envs) if env_ids is None else env_ids
        self.target[ids] = torch.rand(len(ids), generator=self.gen) * 2 - 1
        self.t[ids] = 0
        return self.target[:, None].clone()

    def step(self, actions):
        self.last_action = actions[:, 0].clone()
        info = {"hint": torch.stack([actions[:, 0], self.target], dim=-1)}
        self.t += 1
        done = torch.where(self.t >= 8, int(DoneFlag.TIME), int(DoneFlag.NULL))
        return self.target[:, None].clone(), torch.zeros(self.num_envs), done, info


class HintPPO(PPOAgent):
    """Stores info["hint"] per step, rewards -(action - target)^2 from it, adds a small
    L2 actor term, and fits a linear 'discriminator' with its own optimizer."""

    update_stat_order = (*PPOAgent.update_stat_order, "disc_loss")
    spike_stats = (*PPOAgent.spike_stats, "disc_loss")

    def __init__(self, *args, **kwargs):
        self.disc = torch.nn.Linear(1, 1)
        self.disc_optimizer = torch.optim.Adam(self.disc.parameters(), lr=0.05)
        super().__init__(*args, **kwargs)

    def _declare_records(self, buffer):
        super()._declare_records(buffer)
        buffer.add_record("hint", (2,))

    def _step_records(self, next_obs, reward, done, info):
        return {"hint": info["hint"]}

    def _rewards_for_returns(self, stats):
        hint = self.buffer["hint"]
        bonus = -(hint[..., 0] - hint[..., 1]).square()
        stats["bonus_mean"] = float(bonus.mean())
        return self.buffer.reward + bonus

    def _extra_actor_losses(self, idx, dist):
        return {"l2": 1e-4 * dist.mean.square().mean()}

    def _extra_updates(self):
        hint = self.buffer["hint"].reshape(-1, 2)
        losses = []
        for _ in range(5):
            loss = (self.disc(hint[:, 1:]) - 2.0 * hint[:, 1:]).square().mean()
            self.disc_optimizer.zero_grad()
            loss.backward()
            self.disc_optimizer.step()
            losses.append(float(loss.detach()))
        return {"disc_loss": losses[-1], "disc_loss_first": losses[0]}

    def _extra_training_state(self):
        return {"disc": self.disc.state_dict(), "disc_optimizer": self.disc_optimizer.state_dict()}

    def _load_extra_training_state(self, state):
        self.disc.load_state_dict(state["disc"])
        self.disc_optimizer.load_state_dict(state["disc_optimizer"])


def _cfg() -> PPOConfig:
    return PPOConfig(
        model=ModelConfig(actor_net=[32, 32], critic_net=[32, 32], action_std=0.2),
        actor_optimizer=OptimizerConfig(type="Adam", learning_rate=3e-3),
        critic_optimizer=OptimizerConfig(type="Adam", learning_rate=3e-3),
        steps_per_iter=8,
    )


def _make(cls, cfg=None, num_envs=64):
    torch.manual_seed(0)
    env = HintEnv(num_envs)
    low, high = env.action_bounds()
    return cls(cfg or _cfg(), env.obs_dim, low, high, num_envs), env


def _iteration(agent, env, obs):
    for _ in range(agent.cfg.steps_per_iter):
        action = agent.act(obs)
        next_obs, reward, done, info = env.step(action)
        agent.record_step(next_obs, reward, done, info)
        obs = next_obs
        ended = (done != DoneFlag.NULL).nonzero().squeeze(-1)
        if len(ended):
            obs = env.reset(ended)
    return obs, agent.update()


def _tracking_error(agent, env) -> float:
    agent.eval_mode()
    obs = env.reset()
    action = agent.act(obs)
    agent.train_mode()
    return float((action[:, 0] - env.target).abs().mean())


def test_reward_hook_and_records_make_an_unrewarded_task_learnable():
    agent, env = _make(HintPPO)
    before = _tracking_error(agent, env)
    obs = env.reset()
    for _ in range(60):
        obs, stats = _iteration(agent, env, obs)
    after = _tracking_error(agent, env)
    assert after < 0.5 * before, (before, after)
    # The hook's statistics, the extra actor term and the extra optimizer are all logged.
    assert stats["bonus_mean"] < 0
    assert "l2_loss" in stats and stats["l2_loss"] > 0
    assert stats["disc_loss"] < stats["disc_loss_first"]
    # Plain PPO on the same env has nothing to learn from: its returns are only the critic's
    # bootstrap noise, the hooked agent's are the bonus.
    plain, plain_env = _make(PPOAgent)
    hooked, hooked_env = _make(HintPPO)
    _, plain_stats = _iteration(plain, plain_env, plain_env.reset())
    _, hooked_stats = _iteration(hooked, hooked_env, hooked_env.reset())
    assert "bonus_mean" not in plain_stats
    assert abs(plain_stats["return_mean"]) < 0.05 < abs(hooked_stats["return_mean"])


def test_extra_state_round_trips_through_the_checkpoint():
    agent, env = _make(HintPPO)
    obs = env.reset()
    _iteration(agent, env, obs)
    state = agent.training_state_dict()
    fresh, _ = _make(HintPPO)
    assert not torch.equal(fresh.disc.weight, agent.disc.weight)
    fresh.load_training_state_dict(state)
    assert torch.equal(fresh.disc.weight, agent.disc.weight)
    assert fresh.disc_optimizer.state_dict()["state"]  # Adam moments came along


def test_a_declared_record_that_is_not_written_fails_at_once():
    class Forgetful(HintPPO):
        def _step_records(self, next_obs, reward, done, info):
            return {}

    agent, env = _make(Forgetful)
    obs = env.reset()
    action = agent.act(obs)
    next_obs, reward, done, info = env.step(action)
    with pytest.raises(RuntimeError, match=r"missing records \['hint'\]"):
        agent.record_step(next_obs, reward, done, info)
