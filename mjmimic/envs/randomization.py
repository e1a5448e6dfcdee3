"""Domain randomization for deployable tracking: what is drawn, and the two stateful
pieces a task steps with it (actuator latency, pushes). Engine-agnostic: the physics
parameters go to the engine as a ``PhysicsVariation`` (``engines/variation.py``), pushes
through ``Engine.push_root``; the character layer wires them in.

Physics parameters (floor friction, added mass, centre-of-mass shift, PD gain scales) are
drawn once per env at startup, as mjlab's "startup" events: changing them means new
per-env models. Encoder bias and latency are drawn at startup too, and again at each
episode start with ``resample_on_reset``. Everything is off by default; every draw takes
the caller's ``torch.Generator``, so a seeded run draws the same values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch

from mjmimic.config.bounds import NON_NEGATIVE, POSITIVE, Bounds, check_field_bounds
from mjmimic.config.schema import load_config
from mjmimic.engines.base import Engine
from mjmimic.engines.variation import PhysicsVariation
from mjmimic.errors import ConfigError

_PREFIX = "env.domain_randomization."
# [low, high] ranges and per-axis (x, y, z) maxima, by key.
_RANGES = (
    "floor_friction",
    "added_mass",
    "kp_scale",
    "kd_scale",
    "action_latency_steps",
    "push_interval",
)
_AXES = ("com_offset", "push_lin_vel", "push_ang_vel")


@dataclass
class DomainRandomizationConfig:
    floor_friction: list[float] | None = field(
        default=None,
        metadata={
            "help": "[low, high] floor friction, drawn per env at startup. It becomes the "
            "friction of every floor contact: the robot geoms' own no longer matters",
            "range": "[0.3, 1.6]",
            "bounds": POSITIVE,
        },
    )
    mass_body: str | None = field(
        default=None,
        metadata={"help": "the body added_mass and com_offset change (e.g. torso_link)"},
    )
    added_mass: list[float] | None = field(
        default=None,
        metadata={
            "help": "[low, high] kg added to mass_body, per env at startup (its inertia "
            "scaled alike); negative removes mass",
            "range": "[-1, 3]",
            "bounds": Bounds(),
        },
    )
    com_offset: list[float] | None = field(
        default=None,
        metadata={
            "help": "max |shift| of mass_body's centre of mass per axis [x, y, z] (m, body "
            "frame), uniform within ± per env at startup",
            "range": "[0.025, 0.05, 0.05]",
            "bounds": NON_NEGATIVE,
        },
    )
    kp_scale: list[float] | None = field(
        default=None,
        metadata={
            "help": "[low, high] multiplier of each DoF's kp, per env and DoF at startup "
            "(pos control only)",
            "range": "[0.8, 1.2]",
            "bounds": NON_NEGATIVE,
        },
    )
    kd_scale: list[float] | None = field(
        default=None,
        metadata={
            "help": "[low, high] multiplier of each DoF's kd, per env and DoF at startup "
            "(pos control only)",
            "range": "[0.8, 1.2]",
            "bounds": NON_NEGATIVE,
        },
    )
    encoder_bias: float | None = field(
        default=None,
        metadata={
            "help": "max |bias| (rad) of the joint encoders, uniform within ± per env and "
            "DoF: the policy reads q + bias",
            "range": "0.01-0.02",
            "bounds": NON_NEGATIVE,
        },
    )
    action_latency_steps: list[int] | None = field(
        default=None,
        metadata={
            "help": "[min, max] control steps between a command and its actuation, per env "
            "(0 = none)",
            "range": "[0, 2]",
            "bounds": NON_NEGATIVE,
        },
    )
    push_interval: list[float] | None = field(
        default=None,
        metadata={
            "help": "[min, max] seconds between velocity pushes, drawn anew after each",
            "range": "[1, 3]",
            "bounds": POSITIVE,
        },
    )
    push_lin_vel: list[float] | None = field(
        default=None,
        metadata={
            "help": "max |Δv| of a push per world axis [x, y, z] (m/s), uniform within ±",
            "range": "[0.5, 0.5, 0.2]",
            "bounds": NON_NEGATIVE,
        },
    )
    push_ang_vel: list[float] | None = field(
        default=None,
        metadata={
            "help": "max |Δω| of a push per world axis [x, y, z] (rad/s), uniform within ±",
            "range": "[0.52, 0.52, 0.78]",
            "bounds": NON_NEGATIVE,
        },
    )
    resample_on_reset: bool = field(
        default=False,
        metadata={
            "help": "draw encoder bias and latency again at every episode start (physics "
            "parameters are drawn once, at startup)"
        },
    )

    @classmethod
    def from_mapping(
        cls, data: Any, source: str, origins: dict[str, str] | None = None
    ) -> DomainRandomizationConfig:
        """The ranges of a ``domain_randomization`` mapping read outside an env config (a
        policy's metadata, sim2sim's ``--randomization_config``), checked as training
        checks them: unknown keys, wrong types and out-of-range values name the key."""
        if not isinstance(data, dict):
            raise ConfigError(
                f"{source}: domain_randomization must be a mapping of ranges, got "
                f"{type(data).__name__}"
            )
        return load_config(cls, data, source, origins, section="domain_randomization")

    def is_enabled(self) -> bool:
        """Anything is randomized (``resample_on_reset`` alone randomizes nothing)."""
        return any(
            getattr(self, f.name) is not None for f in fields(self) if f.name != "resample_on_reset"
        )

    def has_physics(self) -> bool:
        """A ``PhysicsVariation`` is drawn: friction, mass, centre of mass or gains."""
        return any(
            getattr(self, key) is not None
            for key in ("floor_friction", "added_mass", "com_offset", "kp_scale", "kd_scale")
        )

    def has_pushes(self) -> bool:
        return self.push_interval is not None

    def validate(self) -> None:
        # The loader checks the bounds of what it reads; this covers a config built in code.
        check_field_bounds(self, _PREFIX)

        def fail(key: str, why: str) -> None:
            raise ConfigError(f"{_PREFIX}{key}: {why}")

        for key in _RANGES:
            value = getattr(self, key)
            if value is None:
                continue
            if len(value) != 2:
                fail(key, f"must be [low, high], got {value}")
            if value[0] > value[1]:
                fail(key, f"low {value[0]} is above high {value[1]}")
        for key in _AXES:
            value = getattr(self, key)
            if value is not None and len(value) != 3:
                fail(key, f"must be 3 numbers (x, y, z), got {value}")
        changes_body = self.added_mass is not None or self.com_offset is not None
        if changes_body and self.mass_body is None:
            fail("mass_body", "is required with added_mass or com_offset: the body they change")
        if self.mass_body is not None and not changes_body:
            fail("mass_body", "is set but neither added_mass nor com_offset is")
        has_velocity = self.push_lin_vel is not None or self.push_ang_vel is not None
        if self.has_pushes() and not has_velocity:
            fail("push_interval", "is set but neither push_lin_vel nor push_ang_vel is")
        if has_velocity and not self.has_pushes():
            fail("push_interval", "is required with push_lin_vel or push_ang_vel: [min, max] s")


def _uniform(
    low: float | torch.Tensor,
    high: float | torch.Tensor,
    shape: tuple[int, ...],
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Uniform in [low, high) on the generator's device."""
    u = torch.rand(shape, generator=generator, device=generator.device, dtype=dtype)
    return low + (high - low) * u


def _symmetric(
    max_abs: Sequence[float],
    shape: tuple[int, ...],
    generator: torch.Generator,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Uniform within ±``max_abs`` (one number, or one per last axis)."""
    bound = torch.as_tensor(max_abs, dtype=dtype, device=generator.device)
    return _uniform(-bound, bound, shape, generator, dtype)


def sample_physics_variation(
    cfg: DomainRandomizationConfig, num_envs: int, num_dofs: int, generator: torch.Generator
) -> PhysicsVariation | None:
    """One draw per env (and DoF for the gain scales) of every physics key that is set;
    None when none is. In key order, so a seed gives the same values whatever the device
    of later draws."""
    if not cfg.has_physics():
        return None

    def draw(key: str, shape: tuple[int, ...]) -> np.ndarray | None:
        value = getattr(cfg, key)
        if value is None:
            return None
        if key == "com_offset":
            return _symmetric(value, shape, generator, torch.float64).cpu().numpy()
        return _uniform(value[0], value[1], shape, generator, torch.float64).cpu().numpy()

    return PhysicsVariation(
        floor_friction=draw("floor_friction", (num_envs,)),
        body_name=cfg.mass_body,
        added_mass=draw("added_mass", (num_envs,)),
        com_offset=draw("com_offset", (num_envs, 3)),
        kp_scale=draw("kp_scale", (num_envs, num_dofs)),
        kd_scale=draw("kd_scale", (num_envs, num_dofs)),
    )


def sample_encoder_bias(
    cfg: DomainRandomizationConfig, num_envs: int, num_dofs: int, generator: torch.Generator
) -> torch.Tensor:
    """(num_envs, num_dofs) float32 on the generator's device, uniform within
    ±``encoder_bias``; zeros when it is unset."""
    if cfg.encoder_bias is None:
        return torch.zeros(num_envs, num_dofs, device=generator.device)
    return _symmetric([cfg.encoder_bias], (num_envs, num_dofs), generator)


def sample_latency(
    cfg: DomainRandomizationConfig, num_envs: int, generator: torch.Generator
) -> torch.Tensor:
    """(num_envs,) int64 control steps on the generator's device, uniform over
    [min, max] inclusive; zeros when ``action_latency_steps`` is unset."""
    if cfg.action_latency_steps is None:
        return torch.zeros(num_envs, dtype=torch.long, device=generator.device)
    low, high = cfg.action_latency_steps
    return torch.randint(low, high + 1, (num_envs,), generator=generator, device=generator.device)


class ActionDelay:
    """Per-env actuator latency: ``__call__`` takes this step's command and returns, per
    env i, the one given ``delays[i]`` control steps ago (delay 0: this one, unchanged).

    A ring of the last ``max_delay + 1`` commands. ``reset`` fills an env's whole history
    with one command (the first of its episode), so a new episode never replays the last
    one's commands; before its first ``reset`` an env's history is zeros.
    """

    def __init__(self, num_envs: int, action_dim: int, max_delay: int, device: str | torch.device):
        if max_delay < 0:
            raise ValueError(f"ActionDelay: max_delay must be >= 0, got {max_delay}")
        self.max_delay = max_delay
        self._history = torch.zeros(max_delay + 1, num_envs, action_dim, device=device)
        self._newest = 0  # slot of the newest command
        self._envs = torch.arange(num_envs, device=device)
        self.delays = torch.zeros(num_envs, dtype=torch.long, device=device)

    def set_delays(self, env_ids: torch.Tensor, delays: torch.Tensor) -> None:
        """Delays (control steps, 0..max_delay) of the envs in ``env_ids`` from the next
        call on."""
        if ((delays < 0) | (delays > self.max_delay)).any():
            raise ValueError(
                f"ActionDelay: delays must be in [0, {self.max_delay}], got "
                f"{delays.min().item()}..{delays.max().item()}"
            )
        self.delays = self.delays.clone()
        self.delays[env_ids] = delays.to(self.delays)

    def reset(self, env_ids: torch.Tensor, command: torch.Tensor) -> None:
        """Fill the history of the envs in ``env_ids`` with ``command`` (M, A)."""
        self._history[:, env_ids] = command.to(self._history)

    def __call__(self, command: torch.Tensor) -> torch.Tensor:
        self._newest = (self._newest + 1) % (self.max_delay + 1)
        self._history[self._newest] = command
        return self._history[(self._newest - self.delays) % (self.max_delay + 1), self._envs]


class PushSchedule:
    """When each env is pushed and by how much: every ``interval`` [min, max] seconds
    (drawn anew after each push and at ``reset``, rounded to whole control steps, at least
    one), a velocity change uniform within ±``lin_vel`` and ±``ang_vel`` per world axis
    (None: no change of that kind), for ``Engine.push_root``."""

    def __init__(
        self,
        num_envs: int,
        interval: Sequence[float],
        lin_vel: Sequence[float] | None,
        ang_vel: Sequence[float] | None,
        dt: float,
        device: str | torch.device,
        generator: torch.Generator,
    ):
        low, high = interval
        if not 0 < low <= high or dt <= 0:
            raise ValueError(
                f"PushSchedule: need 0 < interval min <= max and dt > 0, got {interval}, {dt}"
            )
        self._interval = (float(low), float(high))
        self._lin_vel = [0.0] * 3 if lin_vel is None else list(lin_vel)
        self._ang_vel = [0.0] * 3 if ang_vel is None else list(ang_vel)
        self.dt = dt
        self.device = torch.device(device)
        self._generator = generator
        self._steps_left = torch.zeros(num_envs, dtype=torch.long, device=self.device)
        self.reset(torch.arange(num_envs, device=self.device))

    def _draw_steps(self, n: int) -> torch.Tensor:
        seconds = _uniform(*self._interval, (n,), self._generator, torch.float64)
        return (seconds / self.dt).round().clamp(min=1).long().to(self.device)

    def reset(self, env_ids: torch.Tensor) -> None:
        """Start the envs' wait for their next push from now."""
        self._steps_left[env_ids] = self._draw_steps(len(env_ids))

    def step(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One control step: (env_ids (M,), lin_vel (M, 3), ang_vel (M, 3)) of the envs
        whose wait ended, their next wait drawn."""
        self._steps_left -= 1
        env_ids = torch.nonzero(self._steps_left <= 0).flatten()
        n = len(env_ids)
        lin = _symmetric(self._lin_vel, (n, 3), self._generator)
        ang = _symmetric(self._ang_vel, (n, 3), self._generator)
        self._steps_left[env_ids] = self._draw_steps(n)
        return env_ids, lin.to(self.device), ang.to(self.device)


class DomainRandomizer:
    """The character layer's randomization, wired to one engine: what ``CharEnv`` calls.

    At construction the physics parameters are drawn and handed to the engine, and the
    encoder bias and latency of every env are drawn. Then, per control step, ``command``
    turns the task's engine command into what the actuators get (a PD target shifted by
    minus the encoder bias: the robot's PD loop closes on biased encoders; then delayed by
    the env's latency), and ``push`` applies the velocity pushes that are due; per
    episode, ``episode_start`` refills the latency history (and redraws bias and latency
    with ``resample_on_reset``). Tasks read joint positions through ``observed_dof_pos``.

    Draws come from ``generator`` (default: torch's global CPU generator, whose state a
    checkpoint stores, so a resumed run draws the pushes it would have drawn); what was
    drawn at startup is in ``state_dict``, so a resumed run also keeps its envs' physics.
    """

    def __init__(
        self,
        cfg: DomainRandomizationConfig,
        engine: Engine,
        generator: torch.Generator | None = None,
    ):
        self.cfg = cfg
        self.engine = engine
        self.generator = torch.default_generator if generator is None else generator
        n, d = engine.num_envs, engine.robot.num_dofs
        device = engine.device
        self._shift_targets = engine.control_mode == "pos"
        engine.set_physics_variation(sample_physics_variation(cfg, n, d, self.generator))
        self.encoder_bias = sample_encoder_bias(cfg, n, d, self.generator).to(device)
        latency = sample_latency(cfg, n, self.generator).to(device)
        max_delay = cfg.action_latency_steps[1] if cfg.action_latency_steps else 0
        self.delay = ActionDelay(n, d, max_delay, device) if max_delay > 0 else None
        if self.delay is not None:
            self.delay.set_delays(torch.arange(n, device=device), latency)
        self.pushes = None
        if cfg.has_pushes():
            self.pushes = PushSchedule(
                n,
                cfg.push_interval,
                cfg.push_lin_vel,
                cfg.push_ang_vel,
                engine.control_dt,
                device,
                self.generator,
            )

    def observed_dof_pos(self, dof_pos: torch.Tensor, env_ids: torch.Tensor | None = None):
        """What the encoders read: ``dof_pos`` (N, D) or its rows ``env_ids``, plus bias."""
        bias = self.encoder_bias if env_ids is None else self.encoder_bias[env_ids]
        return dof_pos + bias

    def command(self, command: torch.Tensor) -> torch.Tensor:
        """The engine command the actuators apply for the task's ``command`` (N, D)."""
        if self._shift_targets:
            command = command - self.encoder_bias
        return command if self.delay is None else self.delay(command)

    def push(self) -> None:
        """Apply the pushes due this control step (after the physics step)."""
        if self.pushes is None:
            return
        env_ids, lin_vel, ang_vel = self.pushes.step()
        if env_ids.numel():
            self.engine.push_root(env_ids, lin_vel, ang_vel)

    def episode_start(self, env_ids: torch.Tensor, dof_pos: torch.Tensor) -> None:
        """New episodes in ``env_ids`` starting at joint positions ``dof_pos`` (M, D): the
        latency history holds the command that keeps that pose, not the last episode's."""
        cfg, n, d = self.cfg, env_ids.numel(), self.engine.robot.num_dofs
        if cfg.resample_on_reset:
            bias = sample_encoder_bias(cfg, n, d, self.generator).to(self.encoder_bias)
            self.encoder_bias = self.encoder_bias.clone()
            self.encoder_bias[env_ids] = bias
            if self.delay is not None:
                latency = sample_latency(cfg, n, self.generator).to(self.delay.delays)
                self.delay.set_delays(env_ids, latency)
        if self.delay is not None:
            self.delay.reset(env_ids, dof_pos)
        if self.pushes is not None:
            self.pushes.reset(env_ids)

    def state_dict(self) -> dict[str, Any]:
        variation = self.engine.physics_variation
        physics = None
        if variation is not None:  # tensors: checkpoints are read with weights_only=True
            physics = {
                f.name: _as_tensor(getattr(variation, f.name))
                for f in dataclasses.fields(variation)
            }
        return {
            "physics": physics,
            "encoder_bias": self.encoder_bias.clone(),
            "latency": None if self.delay is None else self.delay.delays.clone(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        physics = state["physics"]
        if physics is not None:
            physics = PhysicsVariation(
                **{k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in physics.items()}
            )
        self.engine.set_physics_variation(physics)
        self.encoder_bias = state["encoder_bias"].to(self.encoder_bias)
        if self.delay is not None and state["latency"] is not None:
            ids = torch.arange(self.engine.num_envs, device=self.engine.device)
            self.delay.set_delays(ids, state["latency"])


def _as_tensor(value: Any) -> Any:
    return torch.from_numpy(np.array(value)) if isinstance(value, np.ndarray) else value
