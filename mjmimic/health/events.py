"""What a guard found: one ``HealthEvent`` per finding, plain data so it goes to JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from mjmimic.errors import MjmimicError

Family = Literal["nonfinite", "physics", "learner", "crash"]


@dataclass
class HealthEvent:
    """One finding. ``kind`` is a stable id (``nonfinite_obs``, ``ratio_explosion``...)
    that ``causes.py`` keys its explanations on; ``message`` is the one-line summary."""

    kind: str
    family: Family
    message: str
    iteration: int  # completed iterations when it was found (0 = the first rollout)
    step: int | None = None  # rollout step within the iteration, if found while collecting
    tensor: str | None = None  # "obs", "reward", "actor.trunk.0.weight", ...
    env_ids: list[int] = field(default_factory=list)
    dims: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # names of ``dims``
    numbers: dict[str, Any] = field(default_factory=dict)  # the evidence, JSON-able
    upstream: list[str] = field(default_factory=list)  # what the detailed search found

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HealthEvent:
        return cls(**data)


class TrainingHealthError(MjmimicError):
    """Training stopped by a guard (``on_*: stop``); the message names the first problem
    and where diagnosis.md is."""
