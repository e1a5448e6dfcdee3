"""The guards the trainer runs: ``after_step`` while collecting, ``after_update`` after PPO.

Healthy path cost: per control step one fused ``isfinite().all()`` over obs, action,
value, reward and next obs, plus torch reductions over the engine's physics state on its
device (max |qpos| and |qvel|, which are also its finiteness check, and
``engine.physics_resets()``) and a device copy into the physics ring buffer; per
iteration a check of the parameters and normalizer, one actor forward on one step of
observations (the policy std) and a min/max over the rollout's observations. Only after a
check fails does the monitor look for *which* env, dim, term or parameter is to blame.
An adversarial learner (AMP, ADD) adds its discriminator's checks (``adversarial.py``):
a few comparisons of its update statistics per iteration, and a per-dim comparison of the
agent's and the demos' discriminator inputs at the first update and now and then.

A finding becomes a ``HealthEvent``; its family's response (``HealthConfig.on_*``) decides
what happens: warn, skip the update, roll back to checkpoint.pt, or stop with a diagnosis.
"""

from __future__ import annotations

import copy
import json
import math
import sys
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mjmimic.agents.base import Agent
from mjmimic.envs.base import Env
from mjmimic.envs.capabilities import ReferenceDiagnostics, capability
from mjmimic.health import diagnosis
from mjmimic.health.adversarial import AdversarialGuards, disc_context, is_disc_stat
from mjmimic.health.checks import (
    RunningMedian,
    all_finite,
    bad_rows_and_dims,
    group_dims,
    near_constant_dims,
)
from mjmimic.health.config import HealthConfig
from mjmimic.health.events import HealthEvent, TrainingHealthError
from mjmimic.health.physics_history import PhysicsHistory

EVENTS_FILE = "health_events.jsonl"
HISTORY_FILE = "physics_history.npz"

_SEVERITY = {"warn": 0, "skip_update": 1, "rollback": 2, "stop": 3}
_MAX_IDS = 8
# float32 log-densities of the same numbers agree to ~1e-5; real mismatches are O(1).
_LOGP_TOLERANCE = 1e-3


class Verdict(Enum):
    """What the trainer should do with this iteration."""

    OK = "ok"
    SKIP = "skip_update"
    ROLLBACK = "rollback"


class HealthMonitor:
    def __init__(
        self,
        cfg: HealthConfig,
        env: Env,
        agent: Agent,
        out_dir: Path,
        run_config: dict[str, Any],
    ):
        self.cfg = cfg
        self.env = env
        self.agent = agent
        self.out_dir = out_dir
        self.run_config = run_config
        self.labels = env.obs_labels()
        self.action_labels = env.action_labels()
        self.engine = env.engine
        self.iteration = 0
        self.step = 0
        self.events: list[HealthEvent] = []
        self.last_stats: dict[str, float] = {}
        self.last_reward_terms: dict[str, torch.Tensor] = {}
        self.recoveries = 0
        self.history_file: Path | None = None
        self._warned_at: dict[str, int] = {}
        self._reported_obs_dims: set[int] = set()
        self._scales = {k: RunningMedian() for k in agent.spike_stats}
        self.adversarial = AdversarialGuards(cfg, agent, env)
        self._snapshot: tuple[dict, dict] | None = None
        # Warnings already recorded this iteration, by kind: a blow-up that lasts many
        # steps is one finding per iteration (the count goes into its numbers).
        self._seen: dict[str, HealthEvent] = {}
        self._low, self._high = env.action_bounds()
        self._model_tensors = [t for t in agent.named_tensors().values() if t.is_floating_point()]
        self.history = None
        if cfg.enabled and cfg.physics_history > 0:
            state = self.engine.save_state()
            self.history = PhysicsHistory(
                cfg.physics_history,
                env.num_envs,
                state.shape[1],
                env.action_dim,
                state.device,
                state.dtype,
            )

    # ------------------------------------------------------------------ trainer hooks

    def start_iteration(self, iteration: int) -> None:
        self.iteration = iteration
        self.step = 0
        self._seen = {}
        if self.cfg.enabled and "skip_update" in (self.cfg.on_nonfinite, self.cfg.on_learner):
            # Undoing an update needs the state before it; only paid for when asked for.
            self._snapshot = (
                copy.deepcopy(self.agent.model_state_dict()),
                copy.deepcopy(self.agent.training_state_dict()),
            )

    def after_act(self, obs: torch.Tensor, action: torch.Tensor) -> Verdict:
        """Before the env sees the action: the observation, the action and the value."""
        if not self.cfg.enabled:
            return Verdict.OK
        value = self.agent.step_value()
        if bool(all_finite(obs, action, value)):
            return Verdict.OK
        return self._respond([self._locate_act(obs, action, value)], "collect")

    def after_step(
        self,
        action: torch.Tensor,
        next_obs: torch.Tensor,
        reward: torch.Tensor,
        info: dict[str, Any],
    ) -> Verdict:
        """After ``env.step``: the physics state, the reward and the next observation."""
        if not self.cfg.enabled:
            return Verdict.OK
        step = self.step
        self.step += 1
        self.last_reward_terms = info.get("reward_terms", {})
        qpos, qvel = self.engine.physics_state()
        if self.history is not None:
            command = torch.clamp(action, self._low, self._high)
            self.history.push(self.engine.save_state(), command)
        # Largest |qpos|, |qvel| per env: NaN and inf propagate, so they are the physics'
        # finiteness check too (cheaper than isfinite on every element). _locate_step looks
        # at the physics first, so one check covers physics, reward and observation.
        speed = qvel.abs().amax(dim=1)
        if bool(all_finite(reward, next_obs, qpos.abs().amax(dim=1), speed)):
            return self._respond(self._physics_anomalies(step, speed), "collect")
        return self._respond([self._locate_step(step, action, next_obs, reward)], "collect")

    def before_update(self) -> Verdict:
        """The stored log-probabilities must be the policy's own: the weights have not
        changed since the rollout, so on one step of it the log ratio is exactly 0. If it
        is not, every importance ratio of the update is wrong from the start."""
        if not self.cfg.enabled:
            return Verdict.OK
        worst = float(self.agent.rollout_log_ratio().abs().nan_to_num(0.0).max())
        if worst <= _LOGP_TOLERANCE:
            return Verdict.OK
        event = HealthEvent(
            kind="logp_mismatch",
            family="learner",
            message=f"stored log-probabilities disagree with the policy that sampled them: "
            f"max |log ratio| {worst:.3g} before any update step",
            iteration=self.iteration,
            tensor="logp",
            numbers={"max_abs_log_ratio": worst},
        )
        return self._respond([event], "collect")

    def after_update(self, stats: dict[str, float]) -> Verdict:
        """After ``agent.update``: losses, gradients, parameters, normalizer, policy std."""
        if not self.cfg.enabled:
            return Verdict.OK
        self.last_stats = dict(stats)
        order = self.agent.update_stat_order
        bad_stats = [k for k in order if k in stats and not math.isfinite(stats[k])]
        model_ok = bool(all_finite(*self._model_tensors)) and bool(
            (self.agent.obs_norm_stats()[1] >= 0).all()
        )
        if bad_stats or not model_ok:
            return self._respond([self._nonfinite_update_event(bad_stats)], "update")
        events = self._std_events()
        if not any(e.family == "nonfinite" for e in events):
            events += self._learner_events(stats)
        return self._respond(events, "update")

    def on_crash(self, exc: BaseException) -> Path | None:
        """An exception escaped the loop: write the diagnosis (a guard's stop already did)."""
        if not self.cfg.enabled or isinstance(exc, TrainingHealthError):
            return None
        event = HealthEvent(
            kind="crash",
            family="crash",
            message=f"training crashed: {type(exc).__name__}: {exc}".splitlines()[0],
            iteration=self.iteration,
            step=self.step,
            numbers={"exception": type(exc).__name__, "text": str(exc)[:2000]},
            upstream=self._scan_model(),
        )
        self._record(event, print_it=False)
        return self.write_diagnosis(event)

    def write_diagnosis(self, trigger: HealthEvent) -> Path:
        context = {
            "last_stats": self.last_stats,
            "reward_terms": _term_stats(self.last_reward_terms),
            "physics_history": str(self.history_file) if self.history_file else None,
            "obs_dim": len(self.labels),
        }
        report = diagnosis.build(self.out_dir, self.run_config, self.events, trigger, context)
        return diagnosis.write(self.out_dir, report)

    # ------------------------------------------------------------------ locating

    def _locate_act(self, obs, action, value) -> HealthEvent:
        """Which of obs -> normalized obs -> action/value went bad first."""
        where = {"iteration": self.iteration, "step": self.step}
        if not torch.isfinite(obs).all():
            return self._obs_event(obs, "the observation the policy acted on", where)
        norm_obs = self.agent.normalize_obs(obs)
        if not torch.isfinite(norm_obs).all():
            envs, dims = bad_rows_and_dims(norm_obs)
            return HealthEvent(
                kind="nonfinite_normalizer",
                family="nonfinite",
                message=f"normalized observation is non-finite though the raw one is finite: "
                f"dims {', '.join(group_dims(dims, self.labels))}",
                tensor="obs_norm",
                env_ids=envs[:_MAX_IDS],
                dims=dims,
                labels=[self.labels[d] for d in dims[:_MAX_IDS]],
                numbers=self._normalizer_numbers(dims),
                upstream=self._scan_model(),
                **where,
            )
        for name, tensor in (("action", action), ("value", value)):
            if not torch.isfinite(tensor).all():
                envs, dims = bad_rows_and_dims(tensor)
                labels = [self.action_labels[d] for d in dims[:_MAX_IDS]]
                return HealthEvent(
                    kind=f"nonfinite_{name}",
                    family="nonfinite",
                    message=f"non-finite {name} from finite observations in envs "
                    f"{envs[:_MAX_IDS]}" + (f" ({', '.join(labels)})" if labels else ""),
                    tensor=name,
                    env_ids=envs[:_MAX_IDS],
                    dims=dims,
                    labels=labels,
                    upstream=self._scan_model(),
                    **where,
                )
        raise AssertionError("after_act found a non-finite value that _locate_act did not")

    def _locate_step(self, step, action, next_obs, reward) -> HealthEvent:
        """Which of physics -> reward -> next observation went bad first."""
        where = {"iteration": self.iteration, "step": step}
        qpos, qvel = self._host_physics_state()
        bad_envs = np.nonzero(~(np.isfinite(qpos).all(1) & np.isfinite(qvel).all(1)))[0].tolist()
        if bad_envs:
            self._save_history(bad_envs)
            return HealthEvent(
                kind="nonfinite_physics",
                family="nonfinite",
                message=f"non-finite physics state (qpos/qvel) in envs {bad_envs[:_MAX_IDS]}",
                tensor="qpos/qvel",
                env_ids=bad_envs[:_MAX_IDS],
                labels=self._physics_labels(qpos, qvel, bad_envs[0]),
                numbers=self._command_numbers(action, bad_envs),
                **where,
            )
        if not torch.isfinite(reward).all():
            envs, _ = bad_rows_and_dims(reward)
            terms = {k: v for k, v in self.last_reward_terms.items() if not torch.isfinite(v).all()}
            return HealthEvent(
                kind="nonfinite_reward",
                family="nonfinite",
                message=f"non-finite reward in envs {envs[:_MAX_IDS]}"
                + (f" from term(s) {', '.join(terms)}" if terms else ""),
                tensor="reward",
                env_ids=envs[:_MAX_IDS],
                labels=list(terms),
                numbers={"reward_terms": _term_stats(self.last_reward_terms)},
                upstream=self._scan_reference(envs),
                **where,
            )
        return self._obs_event(next_obs, "the observation after the step", where)

    def _obs_event(self, obs: torch.Tensor, which: str, where: dict) -> HealthEvent:
        envs, dims = bad_rows_and_dims(obs)
        first = self.labels[dims[0]]
        upstream = []
        if any(self.labels[d].startswith("tar") for d in dims):
            upstream += self._scan_reference(envs)
        if any(not self.labels[d].startswith("tar") for d in dims):
            qpos, qvel = self._host_physics_state()
            upstream += [
                f"env {e}: {s}" for e in envs[:3] for s in self._physics_labels(qpos, qvel, e)
            ]
            self._save_history(envs)
        return HealthEvent(
            kind="nonfinite_obs",
            family="nonfinite",
            message=f"non-finite observation ({which}) at {first} = "
            f"{float(obs[envs[0], dims[0]])} in envs {envs[:_MAX_IDS]}; dims "
            f"{', '.join(group_dims(dims, self.labels))}",
            tensor="obs",
            env_ids=envs[:_MAX_IDS],
            dims=dims,
            labels=[self.labels[d] for d in dims[:_MAX_IDS]],
            upstream=upstream,
            **where,
        )

    def _nonfinite_update_event(self, bad_stats: list[str]) -> HealthEvent:
        bad_model = self._scan_model()
        first = bad_stats[0] if bad_stats else (bad_model[0].split(":")[0] if bad_model else "?")
        return HealthEvent(
            kind="nonfinite_update" if bad_stats else "nonfinite_param",
            family="nonfinite",
            message=f"non-finite {first} in the update of iteration {self.iteration}"
            + (f"; parameters hit: {bad_model[0]}" if bad_model and bad_stats else ""),
            iteration=self.iteration,
            tensor=first,
            numbers={
                k: self.last_stats.get(k)
                for k in self.agent.update_stat_order
                if k in self.last_stats
            },
            upstream=bad_model,
        )

    def _scan_model(self) -> list[str]:
        """Every parameter or normalizer tensor holding a non-finite (or negative variance)."""
        found = []
        for name, t in self.agent.named_tensors().items():
            if not t.is_floating_point():
                continue
            bad = ~torch.isfinite(t)
            if bad.any():
                found.append(f"{name}: {int(bad.sum())} of {t.numel()} values non-finite")
        var = self.agent.obs_norm_stats()[1]
        neg = torch.nonzero(var < 0).flatten().tolist()
        if neg:
            found.append(
                f"obs_norm.var: {len(neg)} negative entries, dims "
                f"{', '.join(group_dims(neg, self.labels))}"
            )
        return found

    def _scan_reference(self, envs: list[int]) -> list[str]:
        """Is the reference of these envs finite? The task names the clip if not."""
        reference = capability(self.env, ReferenceDiagnostics)
        return [] if reference is None else reference.describe_reference(envs[:_MAX_IDS])

    def _host_physics_state(self) -> tuple[np.ndarray, np.ndarray]:
        """The engine's (qpos, qvel) as NumPy: for naming the offender (slow path only)."""
        qpos, qvel = self.engine.physics_state()
        return qpos.cpu().numpy(), qvel.cpu().numpy()

    def _physics_labels(self, qpos: np.ndarray, qvel: np.ndarray, env_id: int) -> list[str]:
        names = ["root_vel.x", "root_vel.y", "root_vel.z", "root_ang_vel.x", "root_ang_vel.y"]
        names += ["root_ang_vel.z", *(f"qvel[{d}]" for d in self.action_labels)]
        out = [
            f"qpos[{i}] = {qpos[env_id, i]}" for i in np.nonzero(~np.isfinite(qpos[env_id]))[0][:3]
        ]
        bad = np.nonzero(~np.isfinite(qvel[env_id]))[0][:3]
        out += [f"{names[i] if i < len(names) else i} = {qvel[env_id, i]}" for i in bad]
        finite = np.where(np.isfinite(qvel[env_id]), np.abs(qvel[env_id]), 0.0)
        i = int(finite.argmax())
        out.append(f"max finite |qvel| = {finite[i]:.3g} at {names[i] if i < len(names) else i}")
        return out

    def _command_numbers(self, action: torch.Tensor, envs: list[int]) -> dict[str, Any]:
        a = action[envs[:_MAX_IDS]]
        return {
            "action_finite": bool(torch.isfinite(a).all()),
            "max_abs_action": float(a.nan_to_num(0.0).abs().max()),
        }

    def _normalizer_numbers(self, dims: list[int]) -> dict[str, Any]:
        mean, var = self.agent.obs_norm_stats()
        return {
            self.labels[d]: {"mean": float(mean[d]), "var": float(var[d])} for d in dims[:_MAX_IDS]
        }

    def _save_history(self, envs: list[int]) -> None:
        if self.history is None or self.history.count == 0:
            return
        self.history_file = self.history.save(
            self.out_dir / HISTORY_FILE,
            envs[:_MAX_IDS],
            iteration=self.iteration,
            step=self.step,
            control_dt=self.engine.control_dt,
            num_substeps=self.engine.num_substeps,
        )

    # ------------------------------------------------------------------ anomalies

    def _physics_anomalies(self, step: int, speed: torch.Tensor) -> list[HealthEvent]:
        """``speed``: max |qvel| per env (finite)."""
        events = []
        # MuJoCo resets an env whose accelerations go NaN/huge; the engine reports it.
        flagged = torch.stack([self.engine.physics_resets(), speed > self.cfg.max_dof_vel])
        if not bool(flagged.any()):  # the healthy path
            return events
        reset, fast = (torch.nonzero(f).flatten().tolist() for f in flagged)
        where = {"iteration": self.iteration, "step": step}
        if reset:
            self._save_history(reset)
            events.append(
                HealthEvent(
                    kind="physics_reset",
                    family="physics",
                    message=f"MuJoCo reset {len(reset)} unstable env(s) {reset[:_MAX_IDS]} "
                    "(NaN/huge state, acceleration or command): their physics jumped to the "
                    "model's rest pose or skipped the rest of the step",
                    tensor="qacc",
                    env_ids=reset[:_MAX_IDS],
                    numbers={"envs_reset": len(reset)},
                    **where,
                )
            )
        if fast:
            qpos_np, qvel_np = self._host_physics_state()
            top = float(speed[fast].max())
            self._save_history(fast)
            events.append(
                HealthEvent(
                    kind="physics_blowup",
                    family="physics",
                    message=f"physics blow-up: |qvel| up to {top:.3g} "
                    f"(> {self.cfg.max_dof_vel:g}) in envs {fast[:_MAX_IDS]}",
                    tensor="qvel",
                    env_ids=fast[:_MAX_IDS],
                    labels=self._physics_labels(qpos_np, qvel_np, fast[0]),
                    numbers={"max_abs_qvel": top},
                    **where,
                )
            )
        return events

    def _std_events(self) -> list[HealthEvent]:
        std = self.agent.policy_std()
        std_min = float(std.min())
        if math.isfinite(std_min) and std_min >= self.cfg.min_action_std:
            return []
        bad = ~torch.isfinite(std) | (std <= 0)
        if bad.any():
            dims = torch.nonzero(bad.any(0)).flatten().tolist()
            kind, family = "nonpositive_std", "nonfinite"
            what = "non-positive or non-finite"
        else:
            dims = torch.nonzero((std < self.cfg.min_action_std).any(0)).flatten().tolist()
            kind, family = "action_std_collapse", "learner"
            what = f"collapsed (< {self.cfg.min_action_std:g})"
        labels = [self.action_labels[d] for d in dims]
        return [
            HealthEvent(
                kind=kind,
                family=family,
                message=f"policy action std {what}: min {std_min:.3g} in action dims "
                f"{', '.join(labels[:_MAX_IDS])}",
                iteration=self.iteration,
                tensor="action_std",
                dims=dims,
                labels=labels,
                numbers={"std_min": std_min, "std_mean": float(std.nan_to_num(0.0).mean())},
                upstream=self._scan_model(),
            )
        ]

    def _learner_events(self, stats: dict[str, float]) -> list[HealthEvent]:
        cfg = self.cfg
        events = []

        def add(kind: str, message: str, **numbers: float) -> None:
            ctx = {
                k: stats.get(k)
                for k in ("imp_ratio", "approx_kl", "clip_frac", "adv_mean", "adv_std", "actor_lr")
            }
            ctx |= disc_context(stats)
            events.append(
                HealthEvent(
                    kind=kind,
                    family="learner",
                    message=message,
                    iteration=self.iteration,
                    numbers={**ctx, **numbers},
                )
            )

        ratio, kl, clip = (
            stats.get("imp_ratio", 1.0),
            stats.get("approx_kl", 0.0),
            stats.get("clip_frac", 0.0),
        )
        if ratio > cfg.max_importance_ratio:
            add(
                "ratio_explosion",
                f"importance ratio exploded: mean {ratio:.3g} "
                f"(> {cfg.max_importance_ratio:g}), KL {kl:.3g}, clip fraction {clip:.2f}",
            )
        elif kl > cfg.max_kl:
            add("kl_explosion", f"KL(old || new) exploded: {kl:.3g} (> {cfg.max_kl:g})")
        elif clip > cfg.max_clip_fraction:
            add(
                "clip_fraction",
                f"clip fraction {clip:.2f} (> {cfg.max_clip_fraction:g}): "
                "almost every sample left the trust region",
            )
        adv_std = stats.get("adv_std", 1.0)
        if adv_std < cfg.min_adv_std:
            add(
                "adv_zero_spread",
                f"advantages have no spread: std {adv_std:.3g} "
                f"(< {cfg.min_adv_std:g}), mean {stats.get('adv_mean', 0.0):.3g}; "
                "the policy gets no learning signal",
                return_mean=stats.get("return_mean"),
                value_mean=stats.get("value_mean"),
            )
        for key, scale in self._scales.items():
            value = stats.get(key)
            if value is None:
                continue
            if len(scale) >= cfg.spike_warmup and value > cfg.spike_factor * max(
                scale.median(), 1e-12
            ):
                # A discriminator's spikes have their own kinds (and causes); the actor's
                # and critic's gradient norms share one.
                generic = key.startswith("grad_norm") and not is_disc_stat(key)
                kind = "grad_norm_spike" if generic else f"{key}_spike"
                add(
                    kind,
                    f"{key} spiked to {value:.3g}, {value / max(scale.median(), 1e-12):.0f}x "
                    f"its running median {scale.median():.3g}",
                    **{key: value, "median": scale.median()},
                )
            scale.add(value)
        events += self.adversarial.events(stats, self.iteration)
        events += self._obs_variance_events()
        return events

    def _obs_variance_events(self) -> list[HealthEvent]:
        """Simulated-state dims that barely move in this rollout. The spread is measured on
        the rollout itself (two-pass, float32): the normalizer's running variance is
        E[x^2] - E[x]^2, whose rounding alone reads ~1e-4 * |mean| and would hide them.
        Target-frame dims come from the motion clip, not the simulation; ``mjmimic doctor
        --arg_file`` reports those."""
        raw = self.agent.rollout_observations()
        std = raw.std(dim=0)
        value_range = raw.amax(dim=0) - raw.amin(dim=0)
        dims = near_constant_dims(std, value_range, self.cfg.min_obs_std)
        new = [
            d
            for d in dims
            if d not in self._reported_obs_dims and not self.labels[d].startswith("tar")
        ]
        if not new:
            return []
        self._reported_obs_dims.update(new)
        groups = group_dims(new, self.labels)
        norm_mean = self.agent.obs_norm_stats()[0]
        return [
            HealthEvent(
                kind="obs_zero_variance",
                family="learner",
                message=f"observation dims {'; '.join(groups)} have std < "
                f"{self.cfg.min_obs_std:g} (max {float(std[new].max()):.3g}) but are not "
                "constant: the normalizer blows their noise up",
                iteration=self.iteration,
                tensor="obs",
                dims=new,
                labels=[self.labels[d] for d in new],
                numbers={
                    self.labels[d]: {
                        "std": float(std[d]),
                        "mean": float(norm_mean[d]),
                        "range": float(value_range[d]),
                    }
                    for d in new[:_MAX_IDS]
                },
            )
        ]

    # ------------------------------------------------------------------ responses

    def _respond(self, events: list[HealthEvent], phase: str) -> Verdict:
        if not events:
            if phase == "update":
                self.recoveries = 0
            return Verdict.OK
        fresh = []
        for event in events:
            seen = self._seen.get(event.kind)
            if seen is not None and self._response(event) == "warn":
                seen.numbers["repeats_this_iteration"] = (
                    seen.numbers.get("repeats_this_iteration", 0) + 1
                )
                continue
            self._seen[event.kind] = event
            fresh.append(event)
            # A stop is reported once, by the error that ends the run.
            self._record(event, print_it=self._response(event) != "stop")
        if not fresh:
            return Verdict.OK
        events = fresh
        worst = max(events, key=lambda e: _SEVERITY[self._response(e)])
        response = self._response(worst)
        if response == "warn":
            return Verdict.OK
        if response != "stop":
            blocked = self._recovery_blocked(response)
            if blocked is None:
                self.recoveries += 1
                self._print(f"{response} after: {worst.message}")
                if response == "skip_update" and phase == "update" and self._snapshot:
                    self.agent.load_model_state_dict(self._snapshot[0])
                    self.agent.load_training_state_dict(self._snapshot[1])
                return Verdict(response)
            worst.upstream.append(blocked)
        path = self.write_diagnosis(worst)
        raise TrainingHealthError(
            f"training stopped at iteration {worst.iteration}"
            + (f", step {worst.step}" if worst.step is not None else "")
            + f": {worst.message}; diagnosis: {path}"
        )

    def _recovery_blocked(self, response: str) -> str | None:
        if self.recoveries >= self.cfg.max_recoveries:
            return f"stopped: {self.recoveries} {response} recoveries in a row did not help"
        if response == "rollback" and not (self.out_dir / "checkpoint.pt").is_file():
            return "stopped: rollback asked for, but there is no checkpoint.pt yet"
        return None

    def _response(self, event: HealthEvent) -> str:
        return {
            "nonfinite": self.cfg.on_nonfinite,
            "physics": self.cfg.on_physics,
            "learner": self.cfg.on_learner,
        }.get(event.family, "stop")

    def _record(self, event: HealthEvent, print_it: bool = True) -> None:
        self.events.append(event)
        with (self.out_dir / EVENTS_FILE).open("a") as f:
            f.write(json.dumps(event.to_dict(), default=str) + "\n")
        last = self._warned_at.get(event.kind)
        if print_it and (last is None or self.iteration - last >= self.cfg.warn_every):
            self._warned_at[event.kind] = self.iteration
            self._print(f"iteration {event.iteration}: {event.message}")

    @staticmethod
    def _print(text: str) -> None:
        print(f"mjmimic: health: {text}", file=sys.stderr)


def _term_stats(terms: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    """Mean/min/max and count of non-finite values of each reward term over the envs."""
    out = {}
    for name, v in terms.items():
        finite = v[torch.isfinite(v)]
        out[name] = {
            "mean": float(finite.mean()) if finite.numel() else math.nan,
            "min": float(finite.min()) if finite.numel() else math.nan,
            "max": float(finite.max()) if finite.numel() else math.nan,
            "nonfinite": int((~torch.isfinite(v)).sum()),
        }
    return out
