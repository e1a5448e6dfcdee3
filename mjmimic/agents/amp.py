"""AMP (Adversarial Motion Priors) as MimicKit's AMPAgent: PPO on PPO's hooks, rewarded by
a discriminator that tells the policy's motion from the dataset's.

Per iteration, inside ``PPOAgent.update``:

1. ``_rewards_for_returns``: D, *before* its update, on the normalized rollout disc obs;
   r = task_reward_weight * r_env + disc_reward_weight * (-log(max(1 - sigmoid(D), 1e-4))
   * disc_reward_scale); returns and advantages are computed from r;
2. critic, then actor (PPO, unchanged);
3. ``_extra_updates``: one demo sample per rollout sample from the env
   (``sample_demo_disc_obs``), the replay push (every sample until the replay is full, then
   ``disc_replay_samples``; before the disc steps, as in MimicKit, so the replay is never
   empty), then ``disc_epochs`` passes of ``disc_batch_size * num_envs`` minibatches:
   negatives = rollout minibatch + as many replayed samples, positives = demo minibatch,
   loss = BCE + w_gp * 1/2 (GP(demo) + GP(agent)) + w_logit * |W_logit|^2
   (``discriminator.py``); last, the disc obs normalizer merges this iteration's records.

The disc obs normalizer (running mean/std, clip 10, std >= 1e-4) records the agent's disc
obs every step and the demo obs every iteration while fewer than ``normalizer_samples``
env steps were trained on (MimicKit's rule). The discriminator and this normalizer live on
``self.model``, so ``model.pt``, the guards' tensor scan and ``.to()`` include them; the
deployed policy (``normalized_policy``) is the actor alone, as for PPO.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import torch
from torch import nn

from mjmimic.agents.adversarial_config import AMPConfig
from mjmimic.agents.discriminator import (
    Discriminator,
    bce_disc_loss,
    disc_accuracy,
    disc_reward,
    gradient_penalty,
    logit_reg,
)
from mjmimic.agents.normalizer import RunningNormalizer
from mjmimic.agents.ppo import PPOAgent, _grad_scaler, _mean, _minibatches, build_optimizer
from mjmimic.agents.replay_buffer import ReplayBuffer
from mjmimic.agents.rollout_buffer import RolloutBuffer
from mjmimic.envs.capabilities import DiscriminatorDemos, require
from mjmimic.errors import ConfigError


class AMPAgent(PPOAgent):
    # The disc reward is computed first (a NaN there poisons the returns), the
    # discriminator's own update last.
    update_stat_order = (
        "disc_reward_mean",
        "disc_reward_std",
        *PPOAgent.update_stat_order,
        "disc_loss",
        "disc_grad_penalty",
        "grad_norm_disc",
        "disc_agent_logit",
        "disc_demo_logit",
        "disc_agent_acc",
        "disc_demo_acc",
    )
    spike_stats = (*PPOAgent.spike_stats, "disc_grad_penalty", "grad_norm_disc")
    # Pinned at 1.0, these say the discriminator has won: its reward no longer guides.
    accuracy_stats = ("disc_agent_acc", "disc_demo_acc")

    for_what = "agent_name: AMP"
    needs_demos = True  # ADD compares against the reference in the rollout itself
    # The env's info keys stored per step (and in the replay), each (D,).
    disc_record_names: tuple[str, ...] = ("disc_obs",)

    def __init__(
        self,
        cfg: AMPConfig,
        obs_dim: int,
        action_low: torch.Tensor,
        action_high: torch.Tensor,
        num_envs: int,
        disc_obs_dim: int,
        demos: DiscriminatorDemos | None,
        device: torch.device | str = "cpu",
    ):
        if self.needs_demos and demos is None:
            raise ValueError(f"{type(self).__name__} needs a demo source (sample_demo_disc_obs)")
        self.disc_obs_dim = disc_obs_dim  # read by _declare_records inside super().__init__
        self.demos = demos
        super().__init__(cfg, obs_dim, action_low, action_high, num_envs, device=device)
        self.cfg: AMPConfig = cfg

        # Registered on the policy model: model.pt, named_tensors, .to() and train()/eval()
        # all see them; NormalizedPolicy still takes only obs_norm, actor and action_norm.
        self.model.disc = Discriminator(disc_obs_dim, cfg.model).to(self.device)
        self.model.disc_obs_norm = self._build_disc_obs_norm().to(self.device)
        self.disc: Discriminator = self.model.disc
        self.disc_obs_norm = self.model.disc_obs_norm

        self.disc_params = list(self.disc.parameters())
        self.disc_optimizer = build_optimizer(self.disc_params, cfg.disc_optimizer)
        self.disc_scaler = _grad_scaler(cfg.disc_optimizer, self.device)  # off: no autocast
        self.disc_batch = min(math.ceil(cfg.disc_batch_size * num_envs), self.buffer.num_samples)
        shapes = {name: (disc_obs_dim,) for name in self.disc_record_names}
        self.replay = ReplayBuffer(cfg.disc_buffer_size, shapes, self.device)

        self._demo_obs: torch.Tensor | None = None  # this iteration's, during the update only
        self._adversarial: tuple[torch.Tensor, torch.Tensor] | None = None

    @classmethod
    def from_env(cls, cfg: AMPConfig, env: Any, device: torch.device | str = "cpu") -> AMPAgent:
        """Sizes from the env; the disc obs size from ``info_spec.extras["disc_obs"]`` and
        the demo source from the ``DiscriminatorDemos`` capability (``env_name: amp``)."""
        low, high = env.action_bounds()
        disc_dim = disc_obs_size(env, cls.disc_record_names, cls.for_what)
        demos = require(env, DiscriminatorDemos, cls.for_what)
        return cls(cfg, env.obs_dim, low, high, env.num_envs, disc_dim, demos, device=device)

    # ------------------------------------------------------------------ what a subclass changes

    def _disc_input(self, records: dict[str, torch.Tensor]) -> torch.Tensor:
        """The raw discriminator input from records of ``disc_record_names`` (AMP: the
        disc obs itself)."""
        return records["disc_obs"]

    def _build_disc_obs_norm(self) -> nn.Module:
        # Never frozen by its own count (it sees agent and demo samples, two per env step);
        # the learner decides when it records (_recording_disc_norm).
        return RunningNormalizer(self.disc_obs_dim, min_std=1e-4, clip=10.0)

    def _prepare_disc_data(self) -> None:
        """Before the disc steps: this iteration's demo samples (also recorded into the
        normalizer), then the replay push."""
        n = self.buffer.num_samples
        assert self.demos is not None
        demo = torch.as_tensor(self.demos.sample_demo_disc_obs(n))
        if demo.shape != (n, self.disc_obs_dim):
            raise RuntimeError(
                f"sample_demo_disc_obs({n}) returned shape {tuple(demo.shape)}, expected "
                f"({n}, {self.disc_obs_dim})"
            )
        self._demo_obs = demo.to(self.device, torch.float32)
        if self._recording_disc_norm():
            self.disc_obs_norm.record(self._demo_obs)
        self._push_replay(self._disc_records())

    def _disc_batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(positives, negatives) of minibatch ``idx``: normalized, requiring grad (for the
        gradient penalty). AMP: demo rows; rollout rows + as many replayed rows."""
        agent = self._disc_input(self._disc_records(idx))
        assert self._demo_obs is not None
        demo = self._demo_obs[idx]
        replayed = self._disc_input(self.replay.sample(len(idx)))
        self._adversarial = (agent, demo)
        pos = self.disc_obs_norm(demo).requires_grad_(True)
        neg = self.disc_obs_norm(torch.cat([agent, replayed])).requires_grad_(True)
        return pos, neg

    # ------------------------------------------------------------------ shared plumbing

    def _disc_records(self, idx: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The rollout's discriminator records, flat (samples, D), or their rows ``idx``."""
        flat = {n: self.buffer[n].view(-1, self.disc_obs_dim) for n in self.disc_record_names}
        return flat if idx is None else {n: v[idx] for n, v in flat.items()}

    def style_reward(self, disc_input: torch.Tensor) -> torch.Tensor:
        """The discriminator's reward for raw inputs (samples, D): normalized, D, then
        -log(max(1 - sigmoid(D), 1e-4)) * disc_reward_scale."""
        logits = self._eval_disc(self.disc_obs_norm(disc_input))
        return disc_reward(logits, self.cfg.disc_reward_scale)

    # ------------------------------------------------------------------ PPO's hooks

    def _declare_records(self, buffer: RolloutBuffer) -> None:
        super()._declare_records(buffer)
        for name in self.disc_record_names:
            buffer.add_record(name, (self.disc_obs_dim,))

    def _step_records(
        self, next_obs: torch.Tensor, reward: torch.Tensor, done: torch.Tensor, info: dict
    ) -> dict[str, torch.Tensor]:
        records = {name: self._info_tensor(info, name) for name in self.disc_record_names}
        if self._recording_disc_norm():
            self.disc_obs_norm.record(self._disc_input(records))
        return {**super()._step_records(next_obs, reward, done, info), **records}

    def _rewards_for_returns(self, stats: dict[str, float]) -> torch.Tensor:
        cfg = self.cfg
        env_reward = super()._rewards_for_returns(stats)
        disc_r = self.style_reward(self._disc_input(self._disc_records()))
        stats["disc_reward_mean"] = float(disc_r.mean())
        stats["disc_reward_std"] = float(disc_r.std()) if disc_r.numel() > 1 else 0.0
        return cfg.task_reward_weight * env_reward + cfg.disc_reward_weight * disc_r.view_as(
            env_reward
        )

    def _extra_updates(self) -> dict[str, float]:
        stats = super()._extra_updates()
        self._prepare_disc_data()
        log: dict[str, list[torch.Tensor]] = defaultdict(list)
        n = self.buffer.num_samples
        for idx in _minibatches(n, self.disc_batch, self.cfg.disc_epochs, self.device):
            for name, value in self._disc_step(idx).items():
                log[name].append(value)
        stats |= {name: _mean(values) for name, values in log.items()}
        self.disc_obs_norm.update()  # the end of the iteration: after every use of it
        self._demo_obs = None
        return stats

    def _extra_training_state(self) -> dict[str, Any]:
        # The replay is left out, as MimicKit does: at its shipped size it is ~1 GB
        # (200k x 1420 floats for the AMP humanoid), and the health guards' skip_update
        # copies the training state every iteration. A resumed run refills it from its
        # first rollouts (every sample until full).
        return {
            **super()._extra_training_state(),
            "disc_optimizer": self.disc_optimizer.state_dict(),
        }

    def _load_extra_training_state(self, state: dict[str, Any]) -> None:
        super()._load_extra_training_state(state)
        self.disc_optimizer.load_state_dict(state["disc_optimizer"])

    def discard_rollout(self) -> None:
        super().discard_rollout()
        self.disc_obs_norm.discard()

    # ------------------------------------------------------------------ the discriminator

    def _disc_step(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        pos, neg = self._disc_batch(idx)
        pos_logit, neg_logit = self.disc(pos), self.disc(neg)
        bce = bce_disc_loss(pos_logit, neg_logit)
        gp = 0.5 * (gradient_penalty(pos_logit, pos) + gradient_penalty(neg_logit, neg))
        logit_loss = logit_reg(self.disc.logit)
        loss = bce + cfg.disc_grad_penalty * gp + cfg.disc_logit_reg * logit_loss
        grad_norm = self._optimizer_step(
            loss, self.disc_optimizer, self.disc_scaler, self.disc_params
        )
        pos_acc, neg_acc = disc_accuracy(pos_logit.detach(), neg_logit.detach())
        return {
            "disc_loss": loss.detach(),
            "disc_grad_penalty": gp.detach(),
            "disc_logit_loss": logit_loss.detach(),
            "disc_agent_acc": neg_acc,
            "disc_demo_acc": pos_acc,
            "disc_agent_logit": neg_logit.detach().mean(),
            "disc_demo_logit": pos_logit.detach().mean(),
            "grad_norm_disc": grad_norm,
        }

    @torch.no_grad()
    def _eval_disc(self, norm_x: torch.Tensor) -> torch.Tensor:
        """D's logits on (samples, D), in chunks of ``disc_eval_batch_size`` (0 = one)."""
        size = self.cfg.disc_eval_batch_size
        if size <= 0:
            return self.disc(norm_x)
        return torch.cat([self.disc(chunk) for chunk in norm_x.split(size)])

    def _push_replay(self, records: dict[str, torch.Tensor]) -> None:
        """MimicKit's schedule: every rollout sample until the replay is full, then
        ``disc_replay_samples`` random ones per iteration."""
        n = next(iter(records.values())).shape[0]
        count = min(n, self.cfg.disc_replay_samples) if self.replay.full else n
        idx = torch.randperm(n, device=self.device)[:count]
        self.replay.push({name: value[idx] for name, value in records.items()})

    def _recording_disc_norm(self) -> bool:
        """MimicKit's rule: disc statistics are gathered while fewer than
        ``normalizer_samples`` env steps were trained on; decided from the count before
        this rollout, so a rollout's agent and demo samples are recorded together."""
        before_rollout = self.total_samples - self.buffer.step * self.num_envs
        return before_rollout < self.cfg.normalizer_samples

    def _info_tensor(self, info: dict, name: str) -> torch.Tensor:
        value = info.get(name)
        if value is None:
            raise RuntimeError(
                f"{self.for_what}: the env's step info has no {name!r} (the task must declare "
                f"it in info_spec.extras and report it every step)"
            )
        return value

    # ------------------------------------------------------------------ for the guards

    def adversarial_inputs(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(agent, demo) raw (un-normalized) discriminator inputs of the last disc
        minibatch of the last update, (n, D) each (n = the minibatch's rollout rows,
        replayed rows left out); None before the first update."""
        return self._adversarial


def disc_obs_size(env: Any, keys: tuple[str, ...], for_what: str) -> int:
    """The common size D of the (D,)-shaped ``info_spec.extras`` entries ``keys``, or a
    ConfigError naming what the task lacks."""
    extras = dict(getattr(getattr(env, "info_spec", None), "extras", None) or {})
    task = type(env).__name__
    for key in keys:
        if key not in extras:
            declared = ", ".join(sorted(extras)) or "none"
            raise ConfigError(
                f"{for_what} needs a task whose steps report info[{key!r}] (a discriminator "
                f"observation); the {task} task declares extras: {declared}"
            )
    shapes = {tuple(extras[key]) for key in keys}
    shape = next(iter(shapes)) if len(shapes) == 1 else ()
    if len(shape) != 1 or shape[0] <= 0:
        described = ", ".join(f"{k} {tuple(extras[k])}" for k in keys)
        raise ConfigError(
            f"{for_what} needs flat discriminator observations of one size (D,); the {task} "
            f"task declares {described}"
        )
    return int(shape[0])
