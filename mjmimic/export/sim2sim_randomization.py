"""``mjmimic sim2sim --randomize``: training's domain randomization, on one ``MjData``.

Every sim2sim episode is a new robot: its physics (floor friction, the mass and centre of
mass of one body, PD gain scales), encoder bias and actuator latency are drawn anew, as
for one training env at startup, and the velocity pushes and observation noise run as in
training. The draws use training's own samplers (``envs/randomization.py``) on a
``torch.Generator`` seeded from ``--seed``, and the per-episode model is training's
``vary_models`` applied to the sim2sim scene (actuator i drives ``joint_names[i]``, the
DoF order of the gain scales), so each range means exactly what it meant in training:

* physics: a copy of the nominal scene per episode (``mj_setConst`` after mass changes);
* encoder bias: the policy's ``joint_pos`` reads q + bias; the PD target is shifted by
  -bias (the robot's PD loop closes on the same biased encoders);
* latency: the PD target sent is the one of ``latency`` control steps ago (the history
  starts filled with the episode's first pose);
* pushes: every [min, max] s, a velocity change uniform within ± per world axis added to
  the root after the physics step (the angular part turned into the free joint's root
  frame);
* observation noise: uniform within ± per observation term, on the policy's input.

Where the ranges come from (``randomization_source``): the ones the policy was trained
with (``mjmimic.domain_randomization`` and the observation noise in its metadata), or a
YAML file with ``domain_randomization`` and ``obs_noise`` keys (an env YAML, flat or
under ``env:``, works as it is: its other keys are not read) — the way to run a policy
trained without randomization under it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import mujoco
import numpy as np
import torch

from mjmimic.config.yaml_source import load_yaml
from mjmimic.engines.model_variation import vary_models
from mjmimic.engines.variation import PhysicsVariation
from mjmimic.envs.randomization import (
    ActionDelay,
    DomainRandomizationConfig,
    PushSchedule,
    sample_encoder_bias,
    sample_latency,
    sample_physics_variation,
)
from mjmimic.errors import MjmimicError
from mjmimic.export.metadata import PolicyMetadata
from mjmimic.export.numpy_obs import quat_conj, quat_rotate

RANDOMIZATION_KEYS = ("domain_randomization", "obs_noise")


@dataclass
class RandomizationRanges:
    """What ``--randomize`` draws from: the physics/encoder/latency/push ranges (None:
    none of those) and the observation noise ±n by term name."""

    config: DomainRandomizationConfig | None
    obs_noise: dict[str, float] = field(default_factory=dict)
    source: str = ""  # where they came from, for the report

    def describe(self) -> str:
        keys = []
        if self.config is not None:
            keys = [f.name for f in fields(self.config) if getattr(self.config, f.name)]
        noise = ", ".join(f"{k} ±{v:g}" for k, v in self.obs_noise.items()) or "none"
        return (
            f"{', '.join(keys) or 'no physics ranges'}; observation noise {noise} ({self.source})"
        )


def randomization_source(
    meta: PolicyMetadata, policy: Path, file: Path | None
) -> RandomizationRanges:
    """The ranges of ``--randomize`` (``file``: ``--randomization_config``; None: the
    policy's own). A one-line error when there is nothing to randomize."""
    if file is None:
        noise = dict(getattr(meta.observation, "noise", {}) or {})
        config = None
        if meta.domain_randomization is not None:
            config = DomainRandomizationConfig.from_mapping(
                meta.domain_randomization, f"{policy}: metadata"
            )
        if config is None and not noise:
            raise MjmimicError(
                f"{policy}: the policy was trained without randomization or observation "
                "noise; give the ranges to run it under with --randomization_config FILE.yaml "
                "(e.g. the env YAML of a run that randomized)"
            )
        return RandomizationRanges(config, noise, "the policy's training ranges")
    data, origins = load_yaml(file)
    prefix = ""
    if isinstance(data.get("env"), dict):
        data, prefix = data["env"], "env."  # the nested env YAML layout
    if not any(k in data for k in RANDOMIZATION_KEYS):
        raise MjmimicError(
            f"--randomization_config {file}: no domain_randomization or obs_noise key (at the "
            "top level or under env:)"
        )
    raw = data.get("domain_randomization")
    inner = f"{prefix}domain_randomization."
    config = None
    if raw is not None:
        own = {k[len(inner) :]: v for k, v in origins.items() if k.startswith(inner)}
        config = DomainRandomizationConfig.from_mapping(raw, str(file), own)
    return RandomizationRanges(config, _noise(data.get("obs_noise"), meta, file), str(file))


def _noise(noise: Any, meta: PolicyMetadata, file: Path) -> dict[str, float]:
    """``obs_noise`` of a ``--randomization_config``: ±n per term the policy observes."""
    if noise is None:
        return {}
    if not isinstance(noise, dict):
        raise MjmimicError(f"{file}: obs_noise must be a mapping {{term: number}}")
    terms = [t.name for t in meta.observation.terms]
    for term, value in noise.items():
        if term not in terms:
            raise MjmimicError(
                f"{file}: obs_noise.{term}: the policy observes no such term; its terms are "
                f"{', '.join(terms)}"
            )
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not np.isfinite(value) or value < 0:
            raise MjmimicError(
                f"{file}: obs_noise.{term}: must be a finite number >= 0, got {value!r}"
            )
    return {k: float(v) for k, v in noise.items()}


class EpisodeRandomization:
    """The randomization of one robot in sim2sim: ``new_robot`` draws an episode's robot
    (its model), then per control step ``command`` (bias and latency), ``push``, and
    ``observe`` (bias, noise) apply it."""

    def __init__(
        self,
        ranges: RandomizationRanges,
        meta: PolicyMetadata,
        nominal: mujoco.MjModel,
        root_qpos: int,
        root_dof: int,
        seed: int,
    ):
        self.ranges = ranges
        self.cfg = ranges.config or DomainRandomizationConfig()
        self.nominal = nominal
        self.root_qpos, self.root_dof = root_qpos, root_dof
        self.control_dt = meta.control_dt
        self.num_dofs = len(meta.joint_names)
        self.shift_targets = meta.control_mode == "pos"
        self.generator = torch.Generator().manual_seed(seed)
        self.noise = np.zeros(meta.observation.size)
        start = 0
        for term in meta.observation.terms:
            self.noise[start : start + term.size] = ranges.obs_noise.get(term.name, 0.0)
            start += term.size
        self.variation: PhysicsVariation | None = None  # the current robot's draw
        self.encoder_bias = np.zeros(self.num_dofs)
        self.delay: ActionDelay | None = None
        self.pushes: PushSchedule | None = None
        self.pushes_applied = 0

    def new_robot(self) -> mujoco.MjModel:
        """Draw the next episode's robot: its model, encoder bias and latency."""
        cfg, gen, d = self.cfg, self.generator, self.num_dofs
        variation = self.variation = sample_physics_variation(cfg, 1, d, gen)
        model = self.nominal if variation is None else vary_models(self.nominal, variation, 1)[0]
        self.encoder_bias = sample_encoder_bias(cfg, 1, d, gen)[0].double().numpy()
        max_delay = cfg.action_latency_steps[1] if cfg.action_latency_steps else 0
        self.delay = None
        if max_delay > 0:
            self.delay = ActionDelay(1, d, max_delay, "cpu")
            self.delay.set_delays(torch.zeros(1, dtype=torch.long), sample_latency(cfg, 1, gen))
        self.pushes = None
        if cfg.has_pushes():
            self.pushes = PushSchedule(
                1, cfg.push_interval, cfg.push_lin_vel, cfg.push_ang_vel, self.control_dt,
                "cpu", gen,
            )  # fmt: skip
        return model

    @property
    def latency(self) -> int:
        return 0 if self.delay is None else int(self.delay.delays[0])

    def episode_start(self, dof_pos: np.ndarray) -> None:
        """The latency history holds the command that keeps the first pose ``dof_pos``;
        the wait for the next push starts now."""
        first = torch.zeros(1, dtype=torch.long)
        if self.delay is not None:
            self.delay.reset(first, torch.from_numpy(dof_pos)[None])
        if self.pushes is not None:
            self.pushes.reset(first)

    def encoders(self, joint_pos: np.ndarray) -> np.ndarray:
        return joint_pos + self.encoder_bias

    def observe(self, obs: np.ndarray) -> np.ndarray:
        if not self.noise.any():
            return obs
        u = torch.rand(obs.shape, generator=self.generator, dtype=torch.float64).numpy()
        return (obs + (2.0 * u - 1.0) * self.noise).astype(obs.dtype)

    def command(self, target: np.ndarray) -> np.ndarray:
        """What the actuators get for the PD target (or torque) ``target``."""
        if self.shift_targets:
            target = target - self.encoder_bias
        if self.delay is None:
            return target
        return (
            self.delay(torch.from_numpy(np.asarray(target, dtype=np.float32))[None])[0]
            .double()
            .numpy()
        )

    def push(self, data: mujoco.MjData) -> None:
        """Add the push due this control step, if any, to the root velocity (the free
        joint's angular velocity is in the root frame, the push's in the world's)."""
        if self.pushes is None:
            return
        env_ids, lin, ang = self.pushes.step()
        if not env_ids.numel():
            return
        q, d = self.root_qpos, self.root_dof
        root_quat = data.qpos[q + 3 : q + 7] / np.linalg.norm(data.qpos[q + 3 : q + 7])
        data.qvel[d : d + 3] += lin[0].double().numpy()
        data.qvel[d + 3 : d + 6] += quat_rotate(quat_conj(root_quat), ang[0].double().numpy())
        self.pushes_applied += 1
