"""PPO learner with MimicKit's semantics, readable top to bottom.

One training iteration, driven by the trainer:

    for _ in range(cfg.steps_per_iter):
        actions = agent.act(obs)                      # samples, stores obs/action/logp/value
        next_obs, reward, done, info = env.step(actions)
        agent.record_step(next_obs, reward, done, info)   # stores the outcome
        obs = next_obs, with the done envs reset
    stats = agent.update()                            # returns -> critic -> actor -> normalizer

Contract: for envs that did not end at step t, the obs passed to ``act`` at step t+1 is the
``next_obs`` recorded at step t (the env protocol guarantees it). ``update`` relies on it to
reuse V(obs[t+1]) as V(next_obs[t]) and only evaluates the critic on terminal observations
of TIME-ended episodes and on the last step.

Update (MimicKit): TD(lambda) returns, advantages normalized over the batch and clipped;
``critic_epochs`` passes of value regression, then ``actor_epochs`` passes of the clipped
surrogate plus the action-bound, entropy and regularization terms. Minibatch sizes are
multiples of num_envs. The observation normalizer is updated last, so the statistics the
rollout used are also the ones the update uses.

Hooks a subclass (AMP, ADD) overrides instead of copying ``update``, as in MimicKit:

* ``_declare_records(buffer)``: extra named per-step records (``buffer.add_record``);
* ``_step_records(next_obs, reward, done, info)``: their values, from the env's ``info``;
* ``_rewards_for_returns(stats)``: the (steps, N) reward the returns are computed from
  (the env reward by default; AMP mixes in its discriminator reward);
* ``_extra_actor_losses(idx, dist)``: named loss terms added to the actor loss and logged;
* ``_extra_updates()``: further optimizers (a discriminator) after the actor, with their
  statistics; their names go into ``update_stat_order``/``spike_stats`` for the guards;
* ``_extra_training_state()`` / ``_load_extra_training_state``: their checkpoint part.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from mjmimic.agents.base import Agent
from mjmimic.agents.config import OptimizerConfig, PPOConfig
from mjmimic.agents.distributions import DiagGaussian
from mjmimic.agents.networks import NormalizedPolicy, PolicyModel
from mjmimic.agents.returns import normalize_advantages, td_lambda_returns
from mjmimic.agents.rollout_buffer import RolloutBuffer
from mjmimic.envs.done import DoneFlag

ADAPTIVE_LR_BOUNDS = (1e-6, 1e-2)
_AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class PPOAgent(Agent):
    update_stat_order = (
        "adv_mean",
        "adv_std",
        "return_mean",
        "value_mean",
        "critic_loss",
        "grad_norm_critic",
        "imp_ratio",
        "approx_kl",
        "actor_loss",
        "grad_norm_actor",
    )
    spike_stats = ("critic_loss", "grad_norm_critic", "grad_norm_actor")

    def __init__(
        self,
        cfg: PPOConfig,
        obs_dim: int,
        action_low: torch.Tensor,
        action_high: torch.Tensor,
        num_envs: int,
        device: torch.device | str = "cpu",
        actor_obs_dim: int | None = None,
    ):
        """``actor_obs_dim``: how much of the observation the actor reads (the env's
        ``policy_obs_dim``; all of it when None); the critic reads it all."""
        self.device = torch.device(device)
        cfg.validate(self.device.type)
        self.cfg = cfg
        self.num_envs = num_envs
        self.obs_dim = obs_dim

        self.model = PolicyModel(
            obs_dim, action_low, action_high, cfg.model, cfg.normalizer_samples, actor_obs_dim
        ).to(self.device)
        self.obs_norm = self.model.obs_norm
        self.action_norm = self.model.action_norm
        self.actor = self.model.actor
        self.critic = self.model.critic
        self.action_dim = int(self.action_norm.mean.shape[0])
        self._normalized_policy = NormalizedPolicy(self.model)

        self.actor_params = [p for p in self.actor.parameters() if p.requires_grad]
        self.critic_params = list(self.critic.parameters())
        self.actor_optimizer = build_optimizer(self.actor_params, cfg.actor_optimizer)
        self.critic_optimizer = build_optimizer(self.critic_params, cfg.critic_optimizer)
        self.actor_lr = cfg.actor_optimizer.learning_rate
        self.actor_scaler = _grad_scaler(cfg.actor_optimizer, self.device)
        self.critic_scaler = _grad_scaler(cfg.critic_optimizer, self.device)

        self.buffer = RolloutBuffer(cfg.steps_per_iter, num_envs, self.device)
        self._declare_records(self.buffer)
        num_samples = self.buffer.num_samples
        self.actor_batch = min(math.ceil(cfg.actor_batch_size * num_envs), num_samples)
        self.critic_batch = min(math.ceil(cfg.critic_batch_size * num_envs), num_samples)

        self.training = True
        self.iteration = 0  # completed updates
        self.total_samples = 0  # env steps recorded for training

    # ------------------------------------------------------------------ rollout

    @torch.inference_mode()
    def act(self, obs: torch.Tensor, deterministic: bool | None = None) -> torch.Tensor:
        """Env-unit actions for a batch of raw observations (num_envs, obs_dim).

        Training mode: samples from the policy and stores obs/action/logp/value for this step
        (``deterministic=True`` is refused: switch to ``eval_mode()``). Eval mode: the mean
        action unless ``deterministic=False``; nothing is stored.
        """
        norm_obs = self.obs_norm(obs)
        mean, log_std = self.actor(norm_obs)
        if not self.training:
            if deterministic is False:
                mean = DiagGaussian(mean, log_std).sample()
            return self.action_norm.to_env(mean)
        if deterministic:
            raise ValueError("act(deterministic=True) while training; call eval_mode() first")

        dist = DiagGaussian(mean, log_std)
        action = dist.sample()
        self.buffer.add_action(
            norm_obs=norm_obs,
            action=action,
            logp=dist.log_prob(action),
            value=self.critic(norm_obs),
        )
        self.obs_norm.record(obs)
        return self.action_norm.to_env(action)

    def record_step(
        self,
        next_obs: torch.Tensor,
        reward: torch.Tensor,
        done: torch.Tensor,
        info: dict[str, Any] | None = None,
    ) -> None:
        """Store the env's answer to the last ``act`` (ignored in eval mode).

        ``next_obs`` rows of done envs must be the terminal observation (before the reset);
        ``done`` holds DoneFlag values; ``info`` is the env's step info (read by subclasses'
        ``_step_records``). The observation this step acted on was recorded into the obs
        normalizer by ``act``.
        """
        if not self.training:
            return
        extras = self._step_records(next_obs, reward, done, info or {})
        self.buffer.add_outcome(next_obs=next_obs, reward=reward, done=done, **extras)
        self.total_samples += self.num_envs

    # ------------------------------------------------------------------ hooks

    def _declare_records(self, buffer: RolloutBuffer) -> None:
        """The rollout's named records; a subclass calls super() and adds its own."""
        buffer.add_record("norm_obs", (self.obs_dim,), half="action")
        buffer.add_record("action", (self.action_dim,), half="action")
        buffer.add_record("logp", half="action")
        buffer.add_record("value", half="action")
        buffer.add_record("next_obs", (self.obs_dim,))
        buffer.add_record("reward")
        buffer.add_record("done", dtype=torch.long)

    def _step_records(
        self, next_obs: torch.Tensor, reward: torch.Tensor, done: torch.Tensor, info: dict
    ) -> dict[str, torch.Tensor]:
        """Values of the records a subclass declared, for this step (none for PPO)."""
        return {}

    def _rewards_for_returns(self, stats: dict[str, float]) -> torch.Tensor:
        """(steps, N) rewards the returns are computed from; may add to ``stats``."""
        return self.buffer.reward

    def _extra_actor_losses(self, idx: torch.Tensor, dist: DiagGaussian) -> dict[str, torch.Tensor]:
        """Named loss terms added to the actor loss of minibatch ``idx`` (logged as
        ``<name>_loss``)."""
        return {}

    def _extra_updates(self) -> dict[str, float]:
        """Further optimizer steps after the actor's (a discriminator's), with statistics."""
        return {}

    def _extra_training_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_training_state(self, state: dict[str, Any]) -> None:
        """Restore what ``_extra_training_state`` returned."""

    # ------------------------------------------------------------------ update

    def update(self) -> dict[str, float]:
        """One PPO update on the full rollout buffer; returns mean statistics."""
        buf = self.buffer
        if not buf.full:
            raise RuntimeError(f"update() after {buf.step} of {buf.steps} rollout steps")
        cfg = self.cfg

        with torch.no_grad():
            next_value = self._next_values()
            stats: dict[str, float] = {}
            rewards = self._rewards_for_returns(stats)
            returns = td_lambda_returns(rewards, buf.done, next_value, cfg.discount, cfg.td_lambda)
            adv, adv_mean, adv_std = normalize_advantages(returns - buf.value, cfg.norm_adv_clip)

        obs = buf.norm_obs.view(-1, self.obs_dim)
        stats |= {
            "adv_mean": adv_mean,
            "adv_std": adv_std,
            "return_mean": float(returns.mean()),
            "value_mean": float(buf.value.mean()),
        }
        action = buf.action.view(-1, self.action_dim)
        stats |= self._update_critic(obs, returns.view(-1), buf.value.view(-1))
        stats |= self._update_actor(obs, action, buf.logp.view(-1), adv.view(-1))
        stats |= self._extra_updates()

        self.obs_norm.update()
        buf.reset()
        self.iteration += 1
        return stats

    def discard_rollout(self) -> None:
        """Throw the current rollout away, unused: buffer emptied, observations recorded for
        the normalizer forgotten (the health guards' skip_update and rollback)."""
        self.buffer.reset()
        self.obs_norm.discard()

    def _next_values(self) -> torch.Tensor:
        """V(next_obs[t]) for every step (FAIL/SUCC rows are zeroed later by the returns)."""
        buf = self.buffer
        next_value = torch.empty_like(buf.value)
        next_value[:-1] = buf.value[1:]  # the episode continued: next_obs[t] is obs[t + 1]
        needs_critic = buf.done == DoneFlag.TIME  # bootstrap from the terminal observation
        needs_critic[-1] = True  # after the last step there is no stored value
        next_obs = buf.next_obs[needs_critic]
        next_value[needs_critic] = self.critic(self.obs_norm(next_obs))
        return next_value

    def _update_critic(
        self, obs: torch.Tensor, returns: torch.Tensor, old_value: torch.Tensor
    ) -> dict[str, float]:
        cfg = self.cfg
        losses, grad_norms = [], []
        for idx in _minibatches(obs.shape[0], self.critic_batch, cfg.critic_epochs, self.device):
            with _autocast(cfg.critic_optimizer, self.device):
                value = self.critic(obs[idx])
            loss = value_loss(value.float(), returns[idx], old_value[idx], cfg.value_clip)
            grad_norms.append(self._critic_step(loss))
            losses.append(loss.detach())
        return {
            "critic_loss": _mean(losses),
            "grad_norm_critic": _mean(grad_norms),
        }

    def _update_actor(
        self, obs: torch.Tensor, action: torch.Tensor, old_logp: torch.Tensor, adv: torch.Tensor
    ) -> dict[str, float]:
        cfg = self.cfg
        clip = cfg.ppo_clip_ratio
        log: dict[str, list[torch.Tensor]] = defaultdict(list)
        for idx in _minibatches(obs.shape[0], self.actor_batch, cfg.actor_epochs, self.device):
            with _autocast(cfg.actor_optimizer, self.device):
                mean, log_std = self.actor(obs[idx])
            dist = DiagGaussian(mean.float(), log_std.float())
            log_ratio = dist.log_prob(action[idx]) - old_logp[idx]
            ratio = log_ratio.exp()

            bound_loss = action_bound_loss(dist.mean)
            entropy = dist.entropy().mean()
            loss = clipped_surrogate_loss(ratio, adv[idx], clip)
            loss = loss + cfg.action_bound_weight * bound_loss
            if cfg.action_entropy_weight > 0:
                loss = loss - cfg.action_entropy_weight * entropy
            if cfg.action_reg_weight > 0:
                loss = loss + cfg.action_reg_weight * dist.mean.square().sum(-1).mean()
            for name, extra in self._extra_actor_losses(idx, dist).items():
                loss = loss + extra
                log[f"{name}_loss"].append(extra.detach())

            with torch.no_grad():
                # KL(old || new) estimated from the rollout's own samples: E[(r - 1) - log r].
                approx_kl = ((ratio - 1.0) - log_ratio).mean()
                if cfg.desired_kl is not None:
                    self._set_actor_lr(adaptive_lr(self.actor_lr, float(approx_kl), cfg.desired_kl))
                log["clip_frac"].append(((ratio - 1.0).abs() > clip).float().mean())
                log["imp_ratio"].append(ratio.mean())
                log["approx_kl"].append(approx_kl)
                log["action_bound_loss"].append(bound_loss.detach())
                log["entropy"].append(entropy.detach())
                log["action_std_mean"].append(dist.std.mean())
                log["actor_loss"].append(loss.detach())

            log["grad_norm_actor"].append(self._actor_step(loss))
        stats = {k: _mean(v) for k, v in log.items()}
        stats["actor_lr"] = self.actor_lr
        return stats

    def _actor_step(self, loss: torch.Tensor) -> torch.Tensor:
        return self._optimizer_step(
            loss, self.actor_optimizer, self.actor_scaler, self.actor_params
        )

    def _critic_step(self, loss: torch.Tensor) -> torch.Tensor:
        return self._optimizer_step(
            loss, self.critic_optimizer, self.critic_scaler, self.critic_params
        )

    def _optimizer_step(
        self,
        loss: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        params: list[nn.Parameter],
    ) -> torch.Tensor:
        """Backward, optional global-norm clipping, step. Returns the pre-clip grad norm.

        The backward stops at ``params``: nothing else is stepped, and a loss whose inputs
        require grad (the discriminator's gradient penalty) would otherwise also get
        d loss / d input, a wasted pass through its widest layer."""
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward(inputs=params)
        scaler.unscale_(optimizer)
        grad_norm = torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None])
        if self.cfg.grad_clip > 0:
            torch.nn.utils.clip_grads_with_norm_(params, self.cfg.grad_clip, grad_norm)
        scaler.step(optimizer)
        scaler.update()
        return grad_norm.detach()

    def _set_actor_lr(self, lr: float) -> None:
        self.actor_lr = lr
        for group in self.actor_optimizer.param_groups:
            group["lr"] = lr

    # ------------------------------------------------------------------ modes, state

    def eval_mode(self) -> None:
        """Deterministic actions, nothing stored (test episodes)."""
        self._check_between_rollouts("eval_mode")
        self.training = False
        self.model.eval()

    def train_mode(self) -> None:
        self._check_between_rollouts("train_mode")
        self.training = True
        self.model.train()

    def _check_between_rollouts(self, name: str) -> None:
        if not self.buffer.empty:
            raise RuntimeError(
                f"{name}() in the middle of a rollout ({self.buffer.step}/{self.buffer.steps} "
                "steps); switch modes only right after update()"
            )

    @property
    def normalized_policy(self) -> nn.Module:
        """Deterministic actor, raw obs -> env-unit action mean (normalizers inside).

        Shares weights with the agent (no copy); call ``.eval()`` / deepcopy it for export.
        """
        return self._normalized_policy

    def model_state_dict(self) -> dict[str, torch.Tensor]:
        """Weights and normalizers: what ``model.pt`` holds."""
        return self.model.state_dict()

    def load_model_state_dict(self, state_dict: dict[str, torch.Tensor]) -> None:
        self.model.load_state_dict(state_dict)

    def training_state_dict(self) -> dict:
        """Optimizers, learning rate and counters (with the model: a resumable checkpoint)."""
        return {
            "actor_optimizer": self.actor_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "actor_scaler": self.actor_scaler.state_dict(),
            "critic_scaler": self.critic_scaler.state_dict(),
            "actor_lr": self.actor_lr,
            "iteration": self.iteration,
            "total_samples": self.total_samples,
            "extra": self._extra_training_state(),
        }

    def load_training_state_dict(self, state_dict: dict) -> None:
        self.actor_optimizer.load_state_dict(state_dict["actor_optimizer"])
        self.critic_optimizer.load_state_dict(state_dict["critic_optimizer"])
        if state_dict.get("actor_scaler"):
            self.actor_scaler.load_state_dict(state_dict["actor_scaler"])
        if state_dict.get("critic_scaler"):
            self.critic_scaler.load_state_dict(state_dict["critic_scaler"])
        self._set_actor_lr(float(state_dict["actor_lr"]))
        self.iteration = int(state_dict["iteration"])
        self.total_samples = int(state_dict["total_samples"])
        self._load_extra_training_state(state_dict.get("extra", {}))

    # ------------------------------------------------------------------ for the guards

    def named_tensors(self) -> dict[str, torch.Tensor]:
        return {**dict(self.model.named_parameters()), **dict(self.model.named_buffers())}

    def normalize_obs(self, obs: torch.Tensor) -> torch.Tensor:
        return self.obs_norm(obs)

    def obs_norm_stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.obs_norm.mean, self.obs_norm.var

    def step_value(self) -> torch.Tensor:
        # act() has written this step's value; record_step() has not advanced the buffer yet.
        return self.buffer.value[self.buffer.step]

    def policy_std(self) -> torch.Tensor:
        with torch.no_grad():
            mean, log_std = self.actor(self.buffer.norm_obs[-1])
            return DiagGaussian(mean, log_std).std.expand_as(mean)

    def rollout_log_ratio(self) -> torch.Tensor:
        buf = self.buffer
        with torch.no_grad():
            mean, log_std = self.actor(buf.norm_obs[-1])
            return DiagGaussian(mean, log_std).log_prob(buf.action[-1]) - buf.logp[-1]

    def rollout_observations(self) -> torch.Tensor:
        return self.buffer.next_obs.reshape(-1, self.obs_dim)


# ---------------------------------------------------------------------- loss terms


def clipped_surrogate_loss(ratio: torch.Tensor, adv: torch.Tensor, clip: float) -> torch.Tensor:
    """PPO: -mean(min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A))."""
    surrogate = ratio * adv
    clipped = ratio.clamp(1.0 - clip, 1.0 + clip) * adv
    return -torch.minimum(surrogate, clipped).mean()


def value_loss(
    value: torch.Tensor, returns: torch.Tensor, old_value: torch.Tensor, clip: float | None
) -> torch.Tensor:
    """mean((V - R)^2); with ``clip`` (rsl_rl): mean(max((V - R)^2, (V_clipped - R)^2)),
    V_clipped = V_old + clip(V - V_old, +-clip)."""
    loss = (value - returns).square()
    if clip is not None:
        clipped = old_value + (value - old_value).clamp(-clip, clip)
        loss = torch.maximum(loss, (clipped - returns).square())
    return loss.mean()


def action_bound_loss(mean: torch.Tensor) -> torch.Tensor:
    """Penalty on a normalized action mean outside [-1, 1]:
    mean over rows of sum over dims of min(mu + 1, 0)^2 + max(mu - 1, 0)^2."""
    below = (mean + 1.0).clamp(max=0.0)
    above = (mean - 1.0).clamp(min=0.0)
    return (below.square() + above.square()).sum(-1).mean()


def adaptive_lr(lr: float, kl: float, desired_kl: float) -> float:
    """rsl_rl's KL-adaptive schedule: /1.5 if KL > 2x target, x1.5 if KL < target/2."""
    if kl > 2.0 * desired_kl:
        lr /= 1.5
    elif kl < 0.5 * desired_kl:
        lr *= 1.5
    return min(max(lr, ADAPTIVE_LR_BOUNDS[0]), ADAPTIVE_LR_BOUNDS[1])


# ---------------------------------------------------------------------- helpers


def build_optimizer(params: Iterable[nn.Parameter], cfg: OptimizerConfig) -> torch.optim.Optimizer:
    """SGD (with momentum), Adam or AdamW. MimicKit's 'Adam' is AdamW; here Adam is Adam."""
    params = list(params)
    if cfg.type == "SGD":
        return torch.optim.SGD(
            params, lr=cfg.learning_rate, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    if cfg.type == "Adam":
        return torch.optim.Adam(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)


def _minibatches(
    num_samples: int, batch_size: int, epochs: int, device: torch.device
) -> Iterable[torch.Tensor]:
    """Index tensors: per epoch a fresh random permutation, cut into consecutive batches."""
    for _ in range(epochs):
        yield from torch.randperm(num_samples, device=device).split(batch_size)


def _autocast(cfg: OptimizerConfig, device: torch.device) -> torch.autocast:
    """Mixed precision in ``cfg.autocast_dtype``; off (a no-op context) when it is None."""
    dtype = _AMP_DTYPES[cfg.autocast_dtype] if cfg.autocast_dtype else None
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def _grad_scaler(cfg: OptimizerConfig, device: torch.device) -> torch.amp.GradScaler:
    """Loss scaling is only needed (and only enabled) for fp16 autocast."""
    return torch.amp.GradScaler(device.type, enabled=cfg.autocast_dtype == "fp16")


def _mean(values: list[torch.Tensor]) -> float:
    return float(torch.stack(values).mean()) if values else 0.0
