"""Optional things a task can do, each a small Protocol a consumer asks for by type.

    bounds = capability(env, EpisodeBounds)
    if bounds is not None:
        best = bounds.best_episode_return()

A task provides a capability by having its methods (no registration, no base class);
``capability`` checks with ``isinstance`` on the runtime-checkable Protocol. A consumer
that cannot work without one uses ``require`` and gets a one-line error naming the task.

A task that inherits a capability's methods but whose numbers would mean nothing (AMP
inherits DeepMimic's tracking errors, but an AMP policy does not follow the clip in time)
names it in ``withheld_capabilities``; ``capability`` then answers None for it.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
import torch

from mjmimic.errors import ConfigError
from mjmimic.motion.library import MotionLib


@runtime_checkable
class EpisodeBounds(Protocol):
    """How long an episode lasts if the policy never fails: episode-length fractions."""

    def full_episode_steps(self) -> torch.Tensor:
        """(N,) the steps each env's current episode lasts if it never fails."""


@runtime_checkable
class ReturnBounds(Protocol):
    """What a perfect policy would earn: normalized returns."""

    def best_episode_return(self) -> torch.Tensor:
        """(N,) the best possible return of each env's current episode."""


@runtime_checkable
class TrackingMetrics(Protocol):
    """Tracking errors against a reference, per body and over clip time (test mode).

    With ``set_tracking(True)``, ``step``'s ``info["tracking"]`` holds (N,) means
    ``joint_rot_err`` (rad), ``root_pos_err`` (m), ``key_pos_err`` (m), per-body
    ``body_pos_err`` (N, K) and per-joint ``joint_err`` (N, J), and ``clip`` (N,) /
    ``clip_time`` (N,): the reference clip and time the errors were measured at.
    """

    tracked_body_names: list[str]
    tracked_joint_names: list[str]

    def set_tracking(self, enabled: bool) -> None: ...

    def clip_names(self) -> list[str]: ...

    def clip_durations(self) -> torch.Tensor:
        """(num_clips,) seconds."""


@runtime_checkable
class ReferenceMotions(Protocol):
    """The task imitates clips: its motion library and the file it came from (preflight
    checks of frame rates, joint limits and DoF names)."""

    motion_lib: MotionLib

    def motion_source(self) -> str:
        """The motion file or dataset YAML as configured (may hold ``${VAR}``)."""


@runtime_checkable
class ReferenceGhost(Protocol):
    """A reference pose to draw beside the policy (videos)."""

    ghost_offset: list[float]  # where the ghost is drawn relative to the character (m)
    show_ghost: bool

    def ghost_qpos(self, env_index: int) -> np.ndarray:
        """MuJoCo qpos (nq,) of the reference pose of env ``env_index`` now."""


@runtime_checkable
class ReferenceDiagnostics(Protocol):
    """Names what is wrong with an env's reference (a NaN reward or target observation)."""

    def describe_reference(self, env_ids: list[int]) -> list[str]:
        """One line per problem found in the reference of ``env_ids``; empty if none."""


@runtime_checkable
class Deployable(Protocol):
    """What an exported policy needs to rebuild the observation outside mjmimic."""

    def deployment_spec(self) -> dict[str, Any]:
        """Plain data: ``observation`` (size, terms [(name, size, labels)], settings),
        ``falls`` (contact_bodies, termination_height) and ``reference_motions``
        [(Motion, weight)]; see ``export/metadata.py`` for how each is written."""


@runtime_checkable
class DiscriminatorDemos(Protocol):
    """Demonstration samples for an adversarial learner (AMP): discriminator observations
    of the reference motions, in the encoding of ``info["disc_obs"]``."""

    def sample_demo_disc_obs(self, num_samples: int) -> torch.Tensor:
        """(num_samples, disc_obs_dim) from random (clip, time) windows of the dataset,
        clips drawn by their weights."""


T = TypeVar("T")


def capability(env: Any, kind: type[T]) -> T | None:
    """``env`` as a ``kind`` if it provides that capability (and does not withhold it),
    else None."""
    if kind in getattr(env, "withheld_capabilities", ()):
        return None
    return env if isinstance(env, kind) else None


def require(env: Any, kind: type[T], for_what: str) -> T:
    """``env`` as a ``kind``, or a ConfigError: this task cannot do ``for_what``."""
    if capability(env, kind) is not None:
        return env
    raise ConfigError(
        f"{for_what} needs a task with {kind.__name__} (a reference to compare against); "
        f"the {type(env).__name__} task has none"
    )
