"""What a logged metric *is* (its role), whatever the tool called it.

A role has a meaning the rules can reason about (``value_loss`` regresses returns,
``ratio`` is exp(log pi - log pi_old)...) and a normal range with the reason for it,
which the report quotes next to the value it found. ``ALIASES`` maps each tool's names
to roles; a user's ``--columns role=name`` mapping overrides them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mjmimic.errors import ConfigError


@dataclass(frozen=True)
class Role:
    name: str
    meaning: str
    normal: str  # the normal range and why, quoted in the report


# In the order an update computes them (rewards, advantages, the critic's update, as
# MimicKit runs it before the actor's, then the ratio and the policy loss): where several
# metrics go wrong at the same step, the earliest in this order is the likely source.
ROLES = (
    Role("reward_mean", "mean reward of the batch", "finite, on the scale the reward defines"),
    Role("reward_std", "reward spread of the batch", "> 0 (no spread: nothing to rank)"),
    Role("disc_reward", "adversarial (discriminator) reward", "finite, <= 18.4 at scale 2"),
    Role(
        "advantage_mean",
        "mean advantage",
        "near 0; exactly 0 for group- or batch-normalized advantages (by construction)",
    ),
    Role("advantage_std", "spread of the advantages", "> 0; exactly 1 when normalized"),
    Role(
        "value_loss",
        "critic (value function) loss",
        "below ~20 at the first update for per-step rewards of order 1 and normalized "
        "observations; then falling or flat",
    ),
    Role(
        "log_prob_current",
        "log-probability of the samples under the current policy",
        "any magnitude (a sum over action dimensions); only its difference to the "
        "reference matters",
    ),
    Role(
        "log_prob_ref",
        "log-probability of the samples under the reference/old policy",
        "any magnitude; |current - reference| below ~1 per sample for a PPO-style ratio",
    ),
    Role(
        "ratio",
        "importance ratio pi/pi_old (or pi/pi_ref)",
        "within ~[0.5, 2]: PPO clips it at 1 +- 0.2, so a mean far outside says the "
        "log-probabilities being compared are far apart",
    ),
    Role(
        "kl",
        "KL divergence (or KL penalty) between the policy and its old/reference policy",
        "~0.005-0.05 per update for PPO (rsl_rl's adaptive schedule targets 0.01)",
    ),
    Role("policy_loss", "policy (surrogate/actor) loss", "of order 0.01-1, either sign"),
    Role("loss", "total loss", "finite; of the order of its terms"),
    Role("entropy", "policy entropy", "finite; slowly falling"),
    Role(
        "action_std",
        "policy action standard deviation",
        "> 0 (a Gaussian needs std > 0); shrinking slowly as the policy commits",
    ),
    Role("learning_rate", "learning rate", "> 0; constant or moving by small factors"),
    Role("grad_norm", "gradient norm before clipping", "finite, no sudden 100x jumps"),
)
ROLE_NAMES = tuple(r.name for r in ROLES)
BY_NAME = {r.name: r for r in ROLES}


def _key(name: str) -> str:
    """Names compare lower-cased with separators dropped: Critic_Loss ~ critic-loss."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


# Each tool's metric names (compared through _key). mjmimic writes MimicKit's names;
# their Train_Return is an episode return, NaN by design when no episode ended, so it has
# no role.
_MIMICKIT = {
    "Critic_Loss": "value_loss",
    "Actor_Loss": "policy_loss",
    "Imp_Ratio": "ratio",
    "Approx_Kl": "kl",
    "Adv_Mean": "advantage_mean",
    "Adv_Std": "advantage_std",
    "Disc_Reward_Mean": "disc_reward",
    "Action_Std_Mean": "action_std",
    "Action_Entropy": "entropy",
    "Actor_Lr": "learning_rate",
    "Grad_Norm_Actor": "grad_norm",
}
_RSL_RL = {
    "Loss/value_function": "value_loss",
    "Loss/surrogate": "policy_loss",
    "Loss/entropy": "entropy",
    "Loss/learning_rate": "learning_rate",
    "Loss/kl": "kl",
    "Policy/mean_noise_std": "action_std",
    "Policy/mean_std": "action_std",
    "Train/mean_reward": "reward_mean",
}
# Names seen in PPO/GRPO scripts and trainers (TRL, hand-written loops).
_GENERIC = {
    "loss": "loss",
    "total_loss": "loss",
    "policy_loss": "policy_loss",
    "pg_loss": "policy_loss",
    "actor_loss": "policy_loss",
    "surrogate_loss": "policy_loss",
    "value_loss": "value_loss",
    "critic_loss": "value_loss",
    "vf_loss": "value_loss",
    "kl": "kl",
    "approx_kl": "kl",
    "kl_penalty": "kl",
    "kl_div": "kl",
    "mean_kl": "kl",
    "ratio": "ratio",
    "mean_ratio": "ratio",
    "importance_ratio": "ratio",
    "advantage": "advantage_mean",
    "mean_advantage": "advantage_mean",
    "advantages_mean": "advantage_mean",
    "std_advantage": "advantage_std",
    "advantage_std": "advantage_std",
    "log_prob_current": "log_prob_current",
    "mean_log_prob_current": "log_prob_current",
    "logprob": "log_prob_current",
    "log_prob_ref": "log_prob_ref",
    "mean_log_prob_ref": "log_prob_ref",
    "ref_logprob": "log_prob_ref",
    "old_log_prob": "log_prob_ref",
    "reward": "reward_mean",
    "mean_reward": "reward_mean",
    "reward_mean": "reward_mean",
    "std_reward": "reward_std",
    "reward_std": "reward_std",
    "entropy": "entropy",
    "action_std": "action_std",
    "noise_std": "action_std",
    "lr": "learning_rate",
    "learning_rate": "learning_rate",
    "grad_norm": "grad_norm",
}
ALIASES = {
    "mimickit": _MIMICKIT,
    "mjmimic": _MIMICKIT,
    "rsl_rl": {**_RSL_RL, **_GENERIC},
    "csv": _GENERIC,
    "jsonl": _GENERIC,
}


def assign_roles(
    columns: list[str], tool: str, overrides: dict[str, str] | None = None
) -> dict[str, str]:
    """role -> column name. The tool's names first (the first column claiming a role keeps
    it), then ``overrides`` (role -> column), which must name columns that exist."""
    table = {_key(name): role for name, role in ALIASES[tool].items()}
    roles: dict[str, str] = {}
    for column in columns:
        # A TensorBoard tag of MimicKit's collections: "1_Info/Critic_Loss".
        role = table.get(_key(column)) or table.get(_key(column.rpartition("/")[2]))
        if role is not None and role not in roles:
            roles[role] = column
    for role, column in (overrides or {}).items():
        if role not in BY_NAME:
            raise ConfigError(
                f"--columns: unknown role {role!r}; roles are {', '.join(ROLE_NAMES)}"
            )
        if column not in columns:
            shown = ", ".join(columns[:12]) + (" ..." if len(columns) > 12 else "")
            raise ConfigError(
                f"--columns {role}={column}: the log has no column {column!r} (it has {shown})"
            )
        roles[role] = column
    return roles


def parse_column_roles(text: str | None) -> dict[str, str]:
    """``--columns ratio=mean_ratio,kl=kl_penalty`` -> {"ratio": "mean_ratio", ...}."""
    if not text:
        return {}
    out: dict[str, str] = {}
    for item in text.split(","):
        role, sep, column = item.partition("=")
        if not sep or not role.strip() or not column.strip():
            raise ConfigError(
                f"--columns: {item!r} is not ROLE=COLUMN (e.g. --columns ratio=mean_ratio)"
            )
        out[role.strip()] = column.strip()
    return out
