"""Reward terms as one table: each term's name, formula, weight and scale live in one entry.

A task declares its terms once::

    TERMS = (
        RewardTerm("pose", pose_error, weight=0.5, scale=0.25, what="joint rotation"),
        ...
    )

and everything else is derived from that table: the config keys (MimicKit's flat
``reward_<name>_w`` / ``reward_<name>_scale``, added to the config class by
``reward_keys``), their help text and shipped values, the term values in
``info["reward_terms"]`` (logged as ``Env_Reward_<name>``), and the best possible reward
(the sum of the active terms' weights).

A term is ``weight * exp(-scale * error)``, with ``error(e) -> (N,)`` reading the errors a
task computed once per step (``e``, a dict of tensors: terms share intermediate results).
A *penalty* (``penalty=True``: action rate, joint-limit violation, undesired contacts) is
``weight * error`` with a negative weight and no scale key; it is 0 for a perfect policy,
so it does not count towards the best possible reward.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch

from mjmimic.config.bounds import NON_NEGATIVE, NON_POSITIVE

Errors = Mapping[str, torch.Tensor]


@dataclass(frozen=True)
class RewardTerm:
    name: str
    error: Callable[[Errors], torch.Tensor]
    weight: float  # MimicKit's shipped weight: shown in help, used by code-built settings
    scale: float  # MimicKit's shipped scale
    what: str  # what the term tracks, for help text ("joint rotation")
    needs_key_bodies: bool = False  # dropped (weight 0, not logged) without key bodies
    penalty: bool = False  # weight * error (weight <= 0), no scale: see the module docstring


@dataclass(frozen=True)
class TermWeight:
    weight: float
    scale: float


def shipped_weights(terms: Sequence[RewardTerm]) -> dict[str, TermWeight]:
    return {t.name: TermWeight(t.weight, t.scale) for t in terms}


def reward_keys(terms: Sequence[RewardTerm]):
    """Class decorator (put it *under* ``@dataclass``): adds the required float fields
    ``reward_<name>_w`` and ``reward_<name>_scale`` for every term (a penalty: only
    ``_w``, <= 0), documented from the table. MimicKit has no defaults for them, so
    neither do we."""

    def add(cls):
        annotations = dict(inspect.get_annotations(cls))
        for t in terms:
            for key, metadata in _term_keys(t):
                annotations[key] = "float"
                setattr(cls, key, field(metadata=metadata))
        cls.__annotations__ = annotations
        return cls

    return add


def _term_keys(t: RewardTerm) -> list[tuple[str, dict]]:
    """The config keys of one term and their field metadata."""
    if t.penalty:
        return [
            (
                f"reward_{t.name}_w",
                {
                    "help": f"weight of the {t.what} penalty, weight * value (shipped {t.weight})",
                    "bounds": NON_POSITIVE,  # a penalty; 0 drops it
                },
            )
        ]
    return [
        (
            f"reward_{t.name}_w",
            {
                "help": f"weight of the {t.what} reward term (shipped {t.weight}); the "
                "weights sum to the best possible per-step reward",
                "range": "0-1",
                "bounds": NON_NEGATIVE,  # a weight of 0 drops the term
            },
        ),
        (
            f"reward_{t.name}_scale",
            {
                "help": f"scale s of the {t.what} reward term exp(-s * error), larger = "
                f"stricter (shipped {t.scale})",
                "bounds": NON_NEGATIVE,  # a scale of 0 makes the term a constant (its weight)
            },
        ),
    ]


def weights_from_config(cfg: object, terms: Sequence[RewardTerm]) -> dict[str, TermWeight]:
    """The ``reward_<name>_w/_scale`` values of a config built with ``reward_keys``."""
    return {
        t.name: TermWeight(
            getattr(cfg, f"reward_{t.name}_w"),
            0.0 if t.penalty else getattr(cfg, f"reward_{t.name}_scale"),
        )
        for t in terms
    }


def active_terms(terms: Sequence[RewardTerm], has_key_bodies: bool) -> tuple[RewardTerm, ...]:
    return tuple(t for t in terms if has_key_bodies or not t.needs_key_bodies)


def max_reward(terms: Sequence[RewardTerm], weights: Mapping[str, TermWeight]) -> float:
    """The reward of a perfect match (every error 0): the sum of the terms' weights
    (penalties are 0 then).

    Dividing a return by ``max_reward * episode steps`` gives a normalized return in [0, 1].
    """
    return float(sum(weights[t.name].weight for t in terms if not t.penalty))


def weighted_reward(
    terms: Sequence[RewardTerm], weights: Mapping[str, TermWeight], errors: Errors
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(reward (N,), {name: exp(-scale * error), or a penalty's error} per term)."""
    values = {}
    reward = None
    for t in terms:
        w = weights[t.name]
        value = t.error(errors) if t.penalty else torch.exp(-w.scale * t.error(errors))
        values[t.name] = value
        reward = w.weight * value if reward is None else reward + w.weight * value
    if reward is None:
        reward = torch.zeros_like(next(iter(errors.values())))
    return reward, values


def term_names(terms: Sequence[RewardTerm]) -> tuple[str, ...]:
    return tuple(t.name for t in terms)
