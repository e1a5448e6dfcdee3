"""The ``health:`` section of an agent YAML: which guards run and what they do on a hit.

Three families of findings, each with its own response:

* non-finite values (NaN/inf in observations, rewards, actions, values, losses, gradients,
  parameters, normalizer, physics state) and a non-positive action std: ``on_nonfinite``;
* physics blow-ups (huge joint velocities, MuJoCo resetting an unstable env): ``on_physics``;
* learner anomalies (importance ratio, KL, clip fraction, advantage spread, loss and
  gradient spikes, near-constant observation dims, collapsing action std) and, for an
  adversarial learner (AMP, ADD), its discriminator (gradient penalty exploding, accuracy
  pinned at 1, demo and agent inputs on different scales): ``on_learner``.

``preflight_motions`` is not a guard but the check ``mjmimic train`` runs before anything
trains: the reference clips must fit the robot (``health/preflight.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mjmimic.config.bounds import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, Bounds, check_field_bounds

# A share of values (clipped ratios, accuracies) above which something is wrong: 0 would
# flag every iteration.
_SHARE = Bounds(0, 1, low_open=True)

Response = Literal["warn", "skip_update", "rollback", "stop"]

_RESPONSE_HELP = (
    "warn: log it and go on; skip_update: drop this iteration's rollout/update; rollback: "
    "reload the last checkpoint.pt (weights, optimizer, counters) and go on; stop: write "
    "diagnosis.md/json and stop with an error"
)


@dataclass
class HealthConfig:
    enabled: bool = field(
        default=True,
        metadata={"help": "run the training guards (cost: a few reductions per tensor per step)"},
    )
    on_nonfinite: Response = field(
        default="stop", metadata={"help": "response to NaN/inf anywhere. " + _RESPONSE_HELP}
    )
    on_physics: Response = field(
        default="warn",
        metadata={"help": "response to huge velocities or MuJoCo resetting an unstable env"},
    )
    on_learner: Response = field(
        default="warn",
        metadata={"help": "response to PPO anomalies (ratio, KL, clip fraction, spikes, ...)"},
    )
    max_dof_vel: float = field(
        default=1000.0,
        metadata={
            "help": "|qvel| above this (rad/s or m/s) is a physics blow-up",
            "range": "200-2000",
            "bounds": POSITIVE,
        },
    )
    max_importance_ratio: float = field(
        default=10.0,
        metadata={
            "help": "mean PPO importance ratio above this is an explosion",
            "range": "3-100",
            "bounds": POSITIVE,
        },
    )
    max_kl: float = field(
        default=1.0,
        metadata={
            "help": "approximate KL(old || new) above this is an explosion",
            "range": "0.1-5",
            "bounds": POSITIVE,
        },
    )
    max_clip_fraction: float = field(
        default=0.9,
        metadata={
            "help": "fraction of clipped ratios above this: the policy left the trust region",
            "bounds": _SHARE,
        },
    )
    min_adv_std: float = field(
        default=1e-6,
        metadata={
            "help": "advantage std below this: no learning signal",
            "range": "1e-8-1e-4",
            "bounds": NON_NEGATIVE,
        },
    )
    spike_factor: float = field(
        default=100.0,
        metadata={
            "help": "critic loss or grad norm above this times its running median is a spike",
            "range": "20-1000",
            "bounds": POSITIVE,
        },
    )
    spike_warmup: int = field(
        default=5,
        metadata={"help": "iterations of history before spikes are judged", "bounds": NON_NEGATIVE},
    )
    min_obs_std: float = field(
        default=1e-6,
        metadata={
            "help": "observation dims whose running std is below this (but not exactly "
            "constant) are reported: float noise, divided by the normalizer's 1e-4 std "
            "floor, is all the policy sees of them",
            "range": "1e-7-1e-5",
            "bounds": NON_NEGATIVE,
        },
    )
    min_action_std: float = field(
        default=2e-4,
        metadata={
            "help": "policy std below this has collapsed (the floor is 1e-4)",
            "bounds": NON_NEGATIVE,
        },
    )
    physics_history: int = field(
        default=8,
        metadata={
            "help": "control steps of physics state kept in memory, saved for the offending "
            "envs when something breaks (physics_history.npz); 0 = off",
            "range": "0-64",
            "bounds": NON_NEGATIVE,
        },
    )
    max_disc_grad_penalty: float = field(
        default=1000.0,
        metadata={
            "help": "discriminator gradient penalty (update statistic disc_grad_penalty) above "
            "this is an explosion, whatever its history: D is sharpening into a step between "
            "agent and demo; 0 = off",
            "range": "100-10000",
            "bounds": NON_NEGATIVE,
        },
    )
    disc_acc_threshold: float = field(
        default=0.99,
        metadata={
            "help": "discriminator accuracies (the agent's accuracy_stats) all at or above this "
            "count as pinned at 1: D separates agent from demo perfectly",
            "range": "0.95-0.999",
            "bounds": _SHARE,
        },
    )
    disc_acc_iterations: int = field(
        default=20,
        metadata={
            "help": "iterations in a row with the accuracies pinned before the style reward "
            "counts as collapsed (a warning); 0 = off",
            "range": "10-100",
            "bounds": NON_NEGATIVE,
        },
    )
    disc_obs_mean_gap: float = field(
        default=6.0,
        metadata={
            "help": "discriminator input dims whose agent and demo means differ by more than "
            "this many pooled standard deviations are reported (a demo joint in a range the "
            "robot is never in: the motion does not fit the robot); 0 = off",
            "range": "2-10",
            "bounds": NON_NEGATIVE,
        },
    )
    disc_obs_std_ratio: float = field(
        default=0.0,
        metadata={
            "help": "discriminator input dims whose demo standard deviation is more than this "
            "factor times the agent's are reported (the demo moves where the agent never "
            "does); 0 = off, the default: an untrained policy holds still where the demos "
            "swing, so the ratio is large for any clip until the policy moves",
            "range": "5-100",
            "bounds": NON_NEGATIVE,
        },
    )
    disc_obs_check_every: int = field(
        default=100,
        metadata={
            "help": "compare agent and demo discriminator inputs every this many iterations "
            "(not at the first update: an untrained policy is far from any clip) and when the "
            "accuracies are found pinned (new dims only); 0 = only when pinned",
            "range": "0-1000",
            "bounds": NON_NEGATIVE,
        },
    )
    preflight_motions: bool = field(
        default=True,
        metadata={
            "help": "before training, refuse reference clips that do not fit the robot (DoF "
            "count or names, a DoF order that puts many joints far outside their limits)"
        },
    )
    max_recoveries: int = field(
        default=3,
        metadata={
            "help": "skip_update/rollback recoveries in a row before the run stops",
            "bounds": NON_NEGATIVE,
        },
    )
    warn_every: int = field(
        default=50,
        metadata={
            "help": "print a repeated warning at most once per this many iterations",
            "bounds": AT_LEAST_ONE,
        },
    )

    def validate(self) -> None:
        # The loader checks the bounds of what it reads; this covers a config built in code.
        check_field_bounds(self, "health.")
