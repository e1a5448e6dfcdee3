"""Likely causes of a finding, ranked, with the reasoning and concrete changes to try.

Each rule reads the event (what broke, where, the numbers) and the run's resolved config
(``config.yaml``) so its advice names this run's values: "actor learning rate 1e-3 with
action_std 0.05" rather than "lower the learning rate".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from mjmimic.health.adversarial import is_disc_stat
from mjmimic.health.events import HealthEvent

Cause = dict[str, Any]  # {"cause", "why", "try": [...], "score"}


def rank(event: HealthEvent, config: dict[str, Any], events: list[HealthEvent]) -> list[Cause]:
    """Causes for ``event``, most likely first; ``events`` (the run's earlier findings) can
    raise or lower a cause's score."""
    rule = _RULES.get(event.kind, _generic)
    causes = rule(event, _Config(config), events)
    return sorted(causes, key=lambda c: -c["score"])


FLOAT32_MAX = 3.4028235e38


class _Config:
    """Dotted lookups into the saved run config that never raise."""

    def __init__(self, data: dict[str, Any]):
        self.data = data or {}

    def __call__(self, path: str, default: Any = None) -> Any:
        value: Any = self.data
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                return default
            value = value[part]
        return value


def _cause(cause: str, why: str, tries: list[str], score: float) -> Cause:
    return {"cause": cause, "why": why, "try": tries, "score": round(score, 2)}


def _earlier(events: list[HealthEvent], event: HealthEvent, *kinds: str) -> list[HealthEvent]:
    return [e for e in events if e.kind in kinds and e is not event]


# --------------------------------------------------------------------------- rules


def _nonfinite_obs(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    labels = e.labels or ["?"]
    target = all(lb.startswith("tar") for lb in labels)
    reference_bad = [u for u in e.upstream if u.startswith("reference")]
    physics_bad = [u for u in e.upstream if re.search(r"= -?(nan|inf)\b", u)]
    blowups = _earlier(events, e, "physics_blowup", "physics_reset")
    out = []
    if reference_bad or target:
        out.append(
            _cause(
                f"the motion reference is broken ({labels[0]} is a target-frame term)",
                "target terms are computed from the motion library only; "
                + (reference_bad[0] if reference_bad else "the reference lookup produced it"),
                [
                    f"check the clip in env.motion_file ({c('env.motion_file')}) at that time",
                    "check that motion and robot agree (DoF count and order, fps)",
                ],
                0.9 if reference_bad else 0.6,
            )
        )
    if not target:
        physics_to_blame = bool(physics_bad or blowups)
        out.append(
            _cause(
                f"the simulation blew up before {labels[0]} was observed",
                "character terms come from the physics state"
                + (f"; {physics_bad[0]}" if physics_bad else "")
                + (f"; {len(blowups)} physics warning(s) came first" if blowups else ""),
                _physics_tries(c),
                0.8 if physics_to_blame else 0.3,
            )
        )
        if not physics_to_blame:
            term = labels[0].split(".")[0].split("[")[0]
            out.append(
                _cause(
                    f"the observation code produced {labels[0]} from a finite state",
                    "the physics state of the env was finite at that step and no physics "
                    "warning came before, so the NaN appeared while computing the "
                    f"'{term}' term",
                    [
                        f"check the '{term}' term in envs/deepmimic/observations.py (or your "
                        "own observation code) for a division by a zero length or a "
                        "normalization of a zero vector",
                    ],
                    0.7,
                )
            )
    return out


def _physics_tries(c: _Config) -> list[str]:
    sim, ctrl = c("engine.sim_freq"), c("engine.control_freq")
    return [
        f"raise engine.sim_freq (now {sim} Hz at control {ctrl} Hz) to 240-500",
        f"keep engine.integrator implicitfast (now {c('engine.integrator')}); Euler blows up "
        "with stiff PD damping",
        "lower the PD gains of light links or add armature in engine.joint_gains",
        "replay physics_history.npz (mjmimic.health.physics_history.replay) to watch it",
    ]


def _nonfinite_normalizer(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    bad = [u for u in e.upstream if u.startswith("obs_norm")]
    return [
        _cause(
            "the observation normalizer holds NaN or a negative variance",
            "raw observations are finite but (obs - mean) / sqrt(var) is not"
            + (f"; {bad[0]}" if bad else f"; first dim {e.labels[:1]}"),
            [
                "if you started from --model_file, that file's obs_norm is corrupt: retrain "
                "or load a model saved before the problem",
                "look for a NaN observation recorded in an earlier rollout (it poisons the "
                "running mean/var for good)",
            ],
            0.9,
        )
    ]


def _nonfinite_policy(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    params = [u for u in e.upstream if not u.startswith("obs_norm")]
    norm = [u for u in e.upstream if u.startswith("obs_norm")]
    net = "actor" if e.kind in ("nonfinite_action", "nonpositive_std") else "critic"
    lr_key = f"agent.{net}_optimizer.learning_rate"
    out = []
    if params and e.iteration == 0:
        out.append(
            _cause(
                f"{net} parameters are non-finite: {params[0]}",
                f"finite observations went into the {net} and came out non-finite before any "
                "update ran: the weights came in broken",
                [
                    "the --model_file this run started from is corrupt: use an earlier one "
                    "(int_models/) or start from scratch",
                    "without --model_file: check custom initialization (action_std, "
                    "actor_init_output_scale)",
                ],
                0.95,
            )
        )
    elif params:
        out.append(
            _cause(
                f"{net} parameters are non-finite: {params[0]}",
                f"finite observations went into the {net} and came out non-finite; an "
                f"update at iteration {e.iteration - 1} or earlier wrote them",
                [
                    f"lower {lr_key} (now {c(lr_key)}) by 3-10x",
                    f"set agent.grad_clip (now {c('agent.grad_clip')}) to 0.5-1",
                    "set health.on_nonfinite: rollback to continue from the last checkpoint",
                ],
                0.9,
            )
        )
    if norm:
        out.append(_cause("the obs normalizer is corrupt", norm[0], ["see above"], 0.7))
    if not out:
        out.append(
            _cause(
                f"the {net} network overflowed on extreme inputs",
                "no parameter is non-finite; normalized inputs are clipped to +-10, so look "
                "at huge weights",
                [f"lower {lr_key}", "set agent.grad_clip to 1"],
                0.4,
            )
        )
    return out


def _nonfinite_physics(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    command_ok = e.numbers.get("action_finite", True)
    out = [
        _cause(
            "the physics integration diverged",
            f"qpos/qvel went non-finite ({'; '.join(e.labels[:2])}) with a finite command "
            f"(max |action| {e.numbers.get('max_abs_action', float('nan')):.3g})",
            _physics_tries(c),
            0.8 if command_ok else 0.3,
        )
    ]
    if not command_ok:
        out.append(
            _cause(
                "a non-finite command was sent",
                "the policy produced NaN actions",
                ["see the nonfinite_action advice"],
                0.9,
            )
        )
    return out


def _nonfinite_reward(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    terms = e.labels
    reference_bad = [u for u in e.upstream if u.startswith("reference")]
    out = [
        _cause(
            f"reward term(s) {', '.join(terms) or '?'} are non-finite",
            "the reward is computed from the character and the reference; "
            + (reference_bad[0] if reference_bad else "the reference is finite there"),
            [
                "check env.reward_*_scale values (a huge scale times a huge error overflows)",
                "check the motion clip if the reference is named above",
            ],
            0.8,
        )
    ]
    if not reference_bad:
        out.append(
            _cause(
                "the character state is extreme (physics blow-up)",
                "with a finite reference, a reward overflows only for extreme errors",
                _physics_tries(c),
                0.5,
            )
        )
    return out


def _nonfinite_update(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    if e.tensor and is_disc_stat(e.tensor):
        return _nonfinite_disc(e, c, events)
    ratio = _earlier(events, e, "ratio_explosion", "kl_explosion", "grad_norm_spike")
    net = "critic" if "critic" in (e.tensor or "") else "actor"
    lr = c(f"agent.{net}_optimizer.learning_rate")
    return [
        _cause(
            f"the {net} update diverged ({e.tensor} non-finite)",
            f"inputs to the update were finite (checked every step); {e.tensor} went "
            "non-finite inside it"
            + (f"; {len(ratio)} ratio/KL/gradient warning(s) came first" if ratio else ""),
            [
                f"lower agent.{net}_optimizer.learning_rate (now {lr}) by 3-10x",
                f"set agent.grad_clip (now {c('agent.grad_clip')}) to 0.5-1",
                "set agent.desired_kl: 0.01 for an adaptive actor learning rate",
            ],
            0.8,
        ),
        _cause(
            "the return scale is large (value targets in the hundreds)",
            f"critic loss {e.numbers.get('critic_loss')} with returns "
            f"{e.numbers.get('return_mean')}",
            ["check the env reward weights sum to ~1 and agent.discount"],
            0.4,
        ),
    ]


# --------------------------------------------------------------------------- adversarial

_DISC_WARNINGS = (
    "disc_grad_penalty_explosion",
    "disc_grad_penalty_spike",
    "grad_norm_disc_spike",
    "disc_accuracy_saturated",
    "disc_obs_mismatch",
)


# MimicKit's disc_grad_penalty values (data/agents/{amp,add}_*_agent.yaml).
_MIMICKIT_GP = "MimicKit uses 5 for AMP (10 for G1 and SMPL) and 2 for ADD (10 for Pi+)"


def _now(c: _Config, key: str) -> str:
    value = c(key)
    return "" if value is None else f" (now {value})"


def _motion_tries(c: _Config) -> list[str]:
    return [
        "run mjmimic doctor --arg_file <this run's arg file>: it checks every clip of "
        f"env.motion_file ({c('env.motion_file')}) against the robot (DoF count, names, "
        "order, joint limits, floor)",
        "a MimicKit .pkl names no joints: its DoF columns must be in the robot's order; "
        "re-export it from its source in that order, or retarget the source motion to "
        "this robot (mjmimic motion retarget SRC --robot NAME)",
    ]


def _mismatch_cause(mismatch: list[HealthEvent], score: float) -> Cause:
    first = mismatch[0]
    return _cause(
        "the demos hold values the agent never produces: the motion may not fit the robot",
        f"at iteration {first.iteration} the discriminator inputs {', '.join(first.labels[:4])} "
        "of the demos were far from the agent's; D can separate them by those dims alone",
        ["see the disc_obs_mismatch advice: mjmimic doctor --arg_file checks the clip"],
        score,
    )


def _nonfinite_disc(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    stat = e.tensor or "?"
    warned = _earlier(events, e, *_DISC_WARNINGS)
    mismatch = _earlier(events, e, "disc_obs_mismatch")
    lr = "agent.disc_optimizer.learning_rate"
    scale = c("agent.disc_reward_scale")
    max_reward = -math.log(1e-4) * scale if isinstance(scale, (int, float)) else 0.0
    if stat.startswith("disc_reward") and max_reward > FLOAT32_MAX:
        out = [
            _cause(
                f"agent.disc_reward_scale ({scale:g}) overflows float32",
                f"the largest disc reward, -log(1e-4) x {scale:g} = {max_reward:.3g}, is beyond "
                f"float32's {FLOAT32_MAX:.3g}: rewards are inf, and every return and loss "
                "after them is NaN",
                [f"set agent.disc_reward_scale to MimicKit's 2 (now {scale:g})"],
                0.95,
            )
        ]
    elif stat.startswith("disc_reward"):
        out = [
            _cause(
                f"the discriminator reward is non-finite ({stat})",
                "r = -log(max(1 - sigmoid(D(x)), 1e-4)) x disc_reward_scale is finite for "
                "every finite logit, so D's logits or its inputs were non-finite already: "
                "the reward is computed before the returns, and every loss after it is NaN "
                "because of it"
                + (f"; {e.upstream[0]}" if e.upstream else "")
                + (f"; {len(warned)} discriminator warning(s) came first" if warned else ""),
                [
                    "if discriminator parameters are named above, an earlier disc update "
                    f"diverged: lower {lr}{_now(c, lr)} by 3-10x",
                    "look for a NaN in the disc observations (disc_obs / demo samples of the "
                    "motion) and a disc normalizer std of 0",
                    f"check agent.disc_reward_scale{_now(c, 'agent.disc_reward_scale')}",
                ],
                0.85,
            )
        ]
    else:
        out = [
            _cause(
                f"the discriminator update diverged ({stat} non-finite)",
                "the policy's statistics of this update were finite; the discriminator's "
                "optimizer steps made its loss or weights non-finite"
                + (f"; {e.upstream[0]}" if e.upstream else "")
                + (f"; {len(warned)} discriminator warning(s) came first" if warned else ""),
                [
                    f"lower {lr}{_now(c, lr)} by 3-10x",
                    "raise agent.disc_grad_penalty"
                    f"{_now(c, 'agent.disc_grad_penalty')}: {_MIMICKIT_GP}",
                    f"set agent.grad_clip{_now(c, 'agent.grad_clip')} to 1",
                ],
                0.8,
            )
        ]
    if mismatch:
        out.append(_mismatch_cause(mismatch, 0.75))
    return out


def _disc_grad_penalty(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    n = e.numbers
    mismatch = _earlier(events, e, "disc_obs_mismatch")
    key = "grad_norm_disc" if e.kind.startswith("grad_norm_disc") else "disc_grad_penalty"
    value = n.get(key)
    out = [
        _cause(
            "the discriminator is sharpening into a step between agent and demo",
            f"{e.message}. The gradient penalty (the mean squared gradient of D with respect "
            "to its inputs) keeps D smooth; when it grows D's output jumps between nearby "
            f"inputs ({key} {_num(value)}, median {_num(n.get('median'))})",
            [
                "raise agent.disc_grad_penalty"
                f"{_now(c, 'agent.disc_grad_penalty')} by 2-5x ({_MIMICKIT_GP})",
                "lower agent.disc_optimizer.learning_rate"
                f"{_now(c, 'agent.disc_optimizer.learning_rate')}",
                "more agent.disc_replay_samples"
                f"{_now(c, 'agent.disc_replay_samples')}: old agent samples keep D from "
                "overfitting the current policy",
            ],
            0.7,
        ),
        _cause(
            "the discriminator inputs are badly scaled",
            "a dim that is huge or never moves on one side gives D a steep direction"
            + (
                f"; at iteration {mismatch[0].iteration} dims "
                f"{', '.join(mismatch[0].labels[:4])} differed between agent and demo"
                if mismatch
                else "; no disc_obs_mismatch warning was recorded"
            ),
            [
                "compare demo and agent disc observations (the disc_obs_mismatch warning "
                "names the dims); check the motion against the robot",
                *_motion_tries(c)[:1],
            ],
            0.75 if mismatch else 0.4,
        ),
    ]
    return out


def _disc_accuracy_saturated(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    n = e.numbers
    mismatch = _earlier(events, e, "disc_obs_mismatch")
    penalty = _earlier(
        events, e, "disc_grad_penalty_explosion", "disc_grad_penalty_spike", "grad_norm_disc_spike"
    )
    out = [
        _cause(
            "the discriminator separates agent from demo perfectly: the style reward has collapsed",
            f"accuracies {', '.join(f'{k} {_num(n.get(k))}' for k in e.labels)} for "
            f"{n.get('iterations_in_a_row')} iterations in a row"
            + (
                f" (logits agent {_num(n['disc_agent_logit'])}, demo "
                f"{_num(n.get('disc_demo_logit'))})"
                if "disc_agent_logit" in n
                else ""
            )
            + ": every agent sample gets the same near-minimal reward -log(1 - sigmoid(D)), so "
            "the policy has no direction toward the demos"
            + (f"; {len(penalty)} gradient-penalty warning(s) came first" if penalty else ""),
            [
                f"raise agent.disc_grad_penalty{_now(c, 'agent.disc_grad_penalty')} by 2-5x",
                "lower agent.disc_optimizer.learning_rate"
                f"{_now(c, 'agent.disc_optimizer.learning_rate')} or agent.disc_epochs"
                f"{_now(c, 'agent.disc_epochs')}",
                "more agent.disc_replay_samples"
                f"{_now(c, 'agent.disc_replay_samples')} (and a large disc_buffer_size)",
                "check the motion matches the robot: mjmimic doctor --arg_file <arg file>",
            ],
            0.7,
        ),
        _cause(
            "the demos contain poses or speeds the robot cannot produce",
            "a clip that does not fit the robot (DoF order, limits, scale) gives D a tell no "
            "policy can remove"
            + (
                f"; at iteration {mismatch[0].iteration} the inputs "
                f"{', '.join(mismatch[0].labels[:4])} differed between agent and demo"
                if mismatch
                else ""
            ),
            _motion_tries(c),
            0.85 if mismatch else 0.45,
        ),
    ]
    return out


def _disc_obs_mismatch(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    labels = e.labels
    joints = [lb for lb in labels if re.search(r"dof|joint", lb)]
    early = e.iteration <= 1
    return [
        _cause(
            "the reference motion does not fit the robot",
            f"{e.numbers.get('dims_flagged')} of {e.numbers.get('dims_total')} discriminator "
            f"inputs differ between agent and demo, worst {', '.join(labels[:4])}"
            + (f"; joint terms among them: {', '.join(joints[:4])}" if joints else "")
            + ": demo values in a range the simulated robot is never in (a DoF column read as "
            "the wrong joint, a joint beyond its limits, another robot's root height)",
            _motion_tries(c),
            0.8 if joints else 0.55,
        ),
        _cause(
            "the discriminator observation is scaled differently for agent and demo",
            "the two sides are built by different code (rollout vs. reference sampling); a "
            "term in other units, frame or order on one side differs on every sample",
            [
                "compare the env's disc observation of a reference state with the demo "
                "sample of the same clip time: they must be equal",
            ],
            0.4,
        ),
        _cause(
            "the untrained policy is simply elsewhere",
            "at the first update the policy falls or stands while the demos move; root "
            "height, velocity and contact-related dims differ for that reason alone"
            + ("" if early else f" (but this is iteration {e.iteration})"),
            ["if only root/velocity dims are named and training improves, ignore it"],
            0.3 if early else 0.15,
        ),
    ]


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "?" if value is None else str(value)


def _nonpositive_std(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    return [
        _cause(
            "the policy's standard deviation is not positive and finite",
            f"min std {e.numbers.get('std_min')} in {', '.join(e.labels[:4])}; torch.normal "
            "then fails with 'normal expects all elements of std >= 0.0'",
            [
                "parametrize std as exp(clamped log_std) (mjmimic's DiagGaussian does)",
                "if actor parameters are non-finite, see the nonfinite_action advice",
                f"check agent.model.action_std (now {c('agent.model.action_std')})",
            ],
            0.9,
        )
    ]


def _physics_reset(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    return [
        _cause(
            "MuJoCo found NaN/huge accelerations and reset the env",
            "the physics clock of the env restarted while the episode went on; usually "
            "stiff PD gains on light links, too large a timestep or a NaN command",
            _physics_tries(c),
            0.8,
        )
    ]


def _physics_blowup(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    return [
        _cause(
            "the simulation is unstable (velocities far beyond what a body can do)",
            f"max |qvel| {e.numbers.get('max_abs_qvel', 0):.3g}; {'; '.join(e.labels[:2])}",
            _physics_tries(c),
            0.8,
        )
    ]


def _ratio_explosion(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    n = e.numbers
    lr = c("agent.actor_optimizer.learning_rate")
    std = c("agent.model.action_std")
    mismatch = [m for m in events if m.kind == "logp_mismatch" and m.iteration == e.iteration]
    out = [
        _cause(
            "actor steps are far too large for the policy's std",
            f"ratio {n.get('imp_ratio', 0):.3g}, KL {n.get('approx_kl', 0):.3g}: the new "
            f"policy gives the old actions vastly different probabilities. With action_std "
            f"{std} a mean shift of one std changes log-probabilities by ~0.5 per DoF, so "
            f"small weight changes at learning rate {lr} move a lot of probability",
            [
                f"lower agent.actor_optimizer.learning_rate from {lr} to {_tenth(lr)}",
                "set agent.desired_kl: 0.01 (adaptive learning rate)",
                f"set agent.grad_clip to 0.5-1 (now {c('agent.grad_clip')})",
                f"fewer agent.actor_epochs (now {c('agent.actor_epochs')})",
            ],
            0.8,
        ),
        *(_logp_mismatch(mismatch[0], c, events) if mismatch else []),
    ]
    if n.get("adv_mean") == 0.0:
        out.append(
            _cause(
                "an advantage mean of exactly 0 is expected, not a cause",
                "advantages are normalized over the batch, so their mean is 0 by "
                f"construction; the spread (Adv_Std {n.get('adv_std')}) is what matters",
                ["nothing to change for the mean"],
                0.1,
            )
        )
    return out


def _logp_mismatch(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    return [
        _cause(
            "the old log-probabilities do not match the stored actions",
            f"{e.message}: every importance ratio of the update is wrong before the first "
            "step, so ratio and KL explode whatever the learning rate",
            [
                "store the log-probability of the action actually sent (after any change to "
                "it), computed from the same normalized observation",
                "do not change the observation normalizer between rollout and update",
            ],
            0.95,
        )
    ]


def _clip_fraction(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    return _ratio_explosion(e, c, events)[:1]


def _adv_zero_spread(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    n = e.numbers
    return [
        _cause(
            "rewards carry no information (constant or zero)",
            f"advantage std {n.get('adv_std')}, return mean {n.get('return_mean')}, value "
            f"mean {n.get('value_mean')}: every sample looks equally good",
            [
                "look at the Env_Reward_* columns: a term stuck at 0 (scale too large) or 1 "
                "(scale too small)",
                "check env.reward_*_scale for a term whose error is always huge",
                "check that episodes do not end after one step (Train_Episode_Length)",
            ],
            0.8,
        )
    ]


def _critic_loss_spike(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    lr = c("agent.critic_optimizer.learning_rate")
    return [
        _cause(
            "value targets jumped (returns changed scale) or the critic step was too large",
            f"critic loss {e.numbers.get('critic_loss'):.3g} vs running median "
            f"{e.numbers.get('median'):.3g}",
            [
                f"lower agent.critic_optimizer.learning_rate (now {lr})",
                "set agent.value_clip: 0.2 (rsl_rl clipped value loss)",
                "check for physics warnings just before (falls give huge velocities)",
            ],
            0.6,
        )
    ]


def _grad_norm_spike(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    return [
        _cause(
            "a minibatch produced an outsized gradient",
            f"{e.message}",
            [f"set agent.grad_clip to 0.5-1 (now {c('agent.grad_clip')})"],
            0.6,
        )
    ]


def _obs_zero_variance(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    terms = sorted({re.sub(r"\.[xyz]$", "", lb) for lb in e.labels})
    key_pos = [t for t in terms if "key_pos[" in t]
    tries = ["drop the term from the observation or fix the model so it moves"]
    if key_pos:
        body = key_pos[0].split("[")[1].rstrip("]")
        tries.insert(
            0,
            f"remove '{body}' from env.key_bodies (now {c('env.key_bodies')}) or fix the MJCF: "
            "it never moves relative to the root",
        )
    return [
        _cause(
            f"{', '.join(terms[:4])} barely change during training",
            f"std below {c('agent.health.min_obs_std', 1e-4)}: the normalizer divides by its "
            "1e-4 floor, so float noise and rare excursions reach the clip value (+-10)",
            tries,
            0.7,
        )
    ]


def _std_collapse(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    return [
        _cause(
            "the learned std shrank to its floor",
            f"min std {e.numbers.get('std_min')}: exploration stopped and log-probabilities "
            "become very sensitive (ratio explosions follow)",
            [
                "use agent.model.actor_std_type: FIXED with action_std 0.05-0.2",
                "add agent.action_entropy_weight 1e-3",
            ],
            0.7,
        )
    ]


_CRASH_PATTERNS = [
    (r"std >= 0", _nonpositive_std),
    (r"\b(nan|inf)\b", _nonfinite_update),
]


def _crash(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    text = str(e.numbers.get("text", ""))
    out = []
    for pattern, rule in _CRASH_PATTERNS:
        if re.search(pattern, text, re.IGNORECASE):
            out += rule(e, c, events)
            break
    if e.upstream:
        out.append(
            _cause(
                "non-finite parameters or normalizer at the time of the crash",
                "; ".join(e.upstream[:3]),
                ["see the nonfinite_action advice"],
                0.85,
            )
        )
    out.append(
        _cause(
            f"a bug or environment problem: {e.numbers.get('exception')}",
            text[:300],
            ["run with the same seed and a debugger; report it with diagnosis.json"],
            0.2,
        )
    )
    return out


def _generic(e: HealthEvent, c: _Config, events: list[HealthEvent]) -> list[Cause]:
    return [_cause(e.message, "no specific rule for this finding", [], 0.1)]


def _tenth(value: Any) -> str:
    try:
        return f"{float(value) / 10:g}"
    except (TypeError, ValueError):
        return "a tenth of it"


_RULES: dict[str, Callable[[HealthEvent, _Config, list[HealthEvent]], list[Cause]]] = {
    "nonfinite_obs": _nonfinite_obs,
    "nonfinite_normalizer": _nonfinite_normalizer,
    "nonfinite_action": _nonfinite_policy,
    "nonfinite_value": _nonfinite_policy,
    "nonfinite_param": _nonfinite_policy,
    "nonfinite_physics": _nonfinite_physics,
    "nonfinite_reward": _nonfinite_reward,
    "nonfinite_update": _nonfinite_update,
    "nonpositive_std": _nonpositive_std,
    "physics_reset": _physics_reset,
    "physics_blowup": _physics_blowup,
    "ratio_explosion": _ratio_explosion,
    "logp_mismatch": _logp_mismatch,
    "kl_explosion": _ratio_explosion,
    "clip_fraction": _clip_fraction,
    "adv_zero_spread": _adv_zero_spread,
    "critic_loss_spike": _critic_loss_spike,
    "grad_norm_spike": _grad_norm_spike,
    "grad_norm_disc_spike": _disc_grad_penalty,
    "disc_grad_penalty_spike": _disc_grad_penalty,
    "disc_grad_penalty_explosion": _disc_grad_penalty,
    "disc_accuracy_saturated": _disc_accuracy_saturated,
    "disc_obs_mismatch": _disc_obs_mismatch,
    "obs_zero_variance": _obs_zero_variance,
    "action_std_collapse": _std_collapse,
    "crash": _crash,
}
