"""``mjmimic sim2sim --episodes N``: a success rate, as training's test episodes measure it.

Each episode starts on a clip drawn with the embedded weights (or the ``--motion`` clip)
at a uniformly drawn clip time, and ends where a training episode would: at the clip's
end (a clip that does not loop), at the episode time limit (``episode_length`` in the
metadata; files without one: ``seconds``), or at the first fall or failed control step.
An episode succeeded when it ran its full length. The draws come from one
``numpy.random.default_rng(seed)``: the same seed gives the same episodes. With
``--randomize`` every episode is also a new robot (``sim2sim_randomization.py``, drawn
from its own generator seeded alike), so the clips and start times are those of the
nominal run with the same seed: the two reports compare episode by episode.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from mjmimic.errors import MjmimicError
from mjmimic.export.reference import ReferenceMotion
from mjmimic.export.sim2sim import FAILURES, FALLS, Sim2Sim


@dataclass
class Episode:
    clip: str | None  # None: no reference (started at the rest pose)
    start: float  # clip time (s)
    planned_steps: int  # its full length
    steps: int  # control steps it ran
    end: str | None  # FALLS or FAILURES key of the failure that ended it; None: ran fully


@dataclass
class EpisodesReport:
    seed: int
    control_freq: float  # Hz
    episodes: list[Episode] = field(default_factory=list)
    root_pos_err: list[float] = field(default_factory=list)  # m, every step of every episode
    joint_rot_err: list[float] = field(default_factory=list)  # rad
    randomization: str | None = None  # --randomize: what was drawn from; None: nominal
    pushes: int = 0  # velocity pushes applied, all episodes together

    def numbers(self) -> dict[str, Any]:
        """What ``summary`` prints, as ``--json`` writes it."""
        ends = [e.end for e in self.episodes if e.end is not None]
        succeeded = sum(e.end is None for e in self.episodes)
        return {
            "episodes": len(self.episodes),
            "seed": self.seed,
            "control_freq": self.control_freq,
            "succeeded": succeeded,
            "success_rate": succeeded / len(self.episodes),
            "randomization": self.randomization,
            "pushes": self.pushes,
            "falls": {k: ends.count(k) for k in FALLS if k in ends},
            "failed_steps": {k: ends.count(k) for k in FAILURES if k in ends},
            "root_pos_err_mean": _mean(self.root_pos_err),
            "joint_rot_err_mean": _mean(self.joint_rot_err),
            "runs": [asdict(e) for e in self.episodes],
        }

    def summary(self) -> str:
        n = self.numbers()

        def counts(kinds: dict[str, int]) -> str:
            return ", ".join(f"{k} {v}" for k, v in kinds.items()) or "none"

        lines = [
            f"episodes:            {n['episodes']} (seed {n['seed']}, "
            f"{n['control_freq']:g} Hz control)",
            f"success rate:        {n['success_rate']:.3f} ({n['succeeded']} ran their full "
            "length)",
            f"falls:               {sum(n['falls'].values())} ({counts(n['falls'])})",
            f"randomization:       {n['randomization'] or 'none (the nominal robot)'}"
            + (f"; {n['pushes']} pushes" if n["randomization"] else ""),
        ]
        if n["failed_steps"]:
            lines.append(f"failed steps:        {counts(n['failed_steps'])}")
        if n["root_pos_err_mean"] is not None:
            lines += [
                f"root position err:   mean {n['root_pos_err_mean']:.4f} m",
                f"joint rotation err:  mean {n['joint_rot_err_mean']:.4f} rad",
            ]
        return "\n".join(lines)


def run_episodes(sim: Sim2Sim, count: int, seed: int, seconds: float) -> EpisodesReport:
    """``count`` episodes of ``sim``'s policy (module docstring); ``seconds`` is the time
    limit of a file that has no ``episode_length``. ``sim.reference`` is left on the
    last episode's clip."""
    if count < 1:
        raise MjmimicError(f"--episodes must be at least 1, got {count}")
    limit = sim.meta.episode_length or seconds
    if not limit > 0:
        raise MjmimicError(f"--seconds must be positive, got {seconds}")
    clips, weights = _clips(sim)
    rng = np.random.default_rng(seed)
    report = EpisodesReport(seed, 1.0 / sim.control_dt)
    randomizing = sim.randomization
    if randomizing is not None:
        report.randomization = randomizing.ranges.describe()
    for _ in range(count):
        ref = clips[rng.choice(len(clips), p=weights)]
        start = float(rng.uniform(0.0, ref.duration)) if ref is not None else 0.0
        horizon = limit if ref is None or ref.wraps else min(limit, ref.duration - start)
        planned = max(1, math.ceil(horizon / sim.control_dt - 1e-6))
        sim.reference = ref
        report.episodes.append(run_episode(sim, start, planned, report))
    if randomizing is not None:
        report.pushes = randomizing.pushes_applied
    return report


def run_episode(sim: Sim2Sim, start: float, planned: int, report: EpisodesReport) -> Episode:
    """One episode of at most ``planned`` control steps from clip time ``start`` on
    ``sim.reference`` (a new robot under ``--randomize``); its tracking errors go into
    ``report``."""
    ref = sim.reference
    name = None if ref is None else ref.name
    sim.start_episode(start)
    for k in range(planned):
        fell = sim.step(sim.act(sim.observe()))
        if sim.last_failure is not None:
            return Episode(name, start, planned, k + 1, sim.last_failure)
        errors = sim.tracking_errors()
        if errors is not None:
            report.root_pos_err.append(errors[0])
            report.joint_rot_err.append(errors[1])
        if fell:
            return Episode(name, start, planned, k + 1, fell)
    return Episode(name, start, planned, planned, None)


def _clips(sim: Sim2Sim) -> tuple[list[ReferenceMotion | None], np.ndarray]:
    """The clips episodes start on and their probabilities: the ``--motion`` clip ``sim``
    was given, else every embedded clip by weight (none embedded: the rest pose)."""
    embedded = sim.meta.reference_motions
    if sim.motion is not None or not embedded:
        return [sim.reference], np.ones(1)
    weights = np.array([c.weight for c in embedded])
    total = weights.sum()
    probabilities = weights / total if total > 0 else np.full(len(embedded), 1 / len(embedded))
    return [sim.embedded_clip(c) for c in embedded], probabilities


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None
