"""Per-env physical parameters that differ from the nominal scene (domain randomization).

A ``PhysicsVariation`` is what ``Engine.set_physics_variation`` takes: for each env its own
floor friction, extra mass and centre-of-mass shift of one body, and PD gain multipliers.
Every field is optional; None keeps the nominal value for all envs. It holds numbers
only, no backend objects, so the env layer that draws it (``envs/randomization.py``)
stays engine-agnostic and every backend reads the same meaning:

* ``floor_friction`` (N,): the sliding friction of every contact with the floor. MuJoCo
  combines two geoms' friction by their maximum, so a backend makes this value *the*
  contact friction (the CPU engine gives it to every geom of the env's model): with it
  set, the robot geoms' own friction no longer matters.
* ``added_mass`` (N,) kg on ``body_name``, its rotational inertia scaled by
  (m + dm) / m (the same density, a heavier body), and ``com_offset`` (N, 3) m added to
  that body's centre of mass in its own frame (MuJoCo's ``body_ipos``).
* ``kp_scale``, ``kd_scale`` (N, D): per-DoF multipliers of the PD gains of ``pos`` mode
  (``engines/scene.py``: kp and kd of each actuator's law); in ``torque`` mode there are
  no gains to scale and a backend refuses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PhysicsVariation:
    floor_friction: np.ndarray | None = None
    body_name: str | None = None
    added_mass: np.ndarray | None = None
    com_offset: np.ndarray | None = None
    kp_scale: np.ndarray | None = None
    kd_scale: np.ndarray | None = None

    @property
    def changes_body(self) -> bool:
        """Mass or centre of mass change: derived quantities must be recomputed."""
        return self.added_mass is not None or self.com_offset is not None

    @property
    def changes_gains(self) -> bool:
        return self.kp_scale is not None or self.kd_scale is not None

    def validate(self, num_envs: int, num_dofs: int, body_masses: Mapping[str, float]) -> None:
        """ValueError naming the field when a shape is not the engine's (N envs, D DoFs), a
        value is not finite, a friction is not positive, a scale is negative, the body is
        not one of ``body_masses`` (nominal mass of each body by name) or a mass would not
        stay positive."""
        shapes = {
            "floor_friction": (num_envs,),
            "added_mass": (num_envs,),
            "com_offset": (num_envs, 3),
            "kp_scale": (num_envs, num_dofs),
            "kd_scale": (num_envs, num_dofs),
        }
        for name, shape in shapes.items():
            value = getattr(self, name)
            if value is None:
                continue
            if np.shape(value) != shape:
                raise ValueError(
                    f"PhysicsVariation.{name}: expected shape {shape} (num_envs={num_envs}, "
                    f"num_dofs={num_dofs}), got {np.shape(value)}"
                )
            if not np.isfinite(value).all():
                raise ValueError(f"PhysicsVariation.{name}: holds non-finite values")
        if self.floor_friction is not None and not (self.floor_friction > 0).all():
            raise ValueError(
                "PhysicsVariation.floor_friction: must be > 0, got min "
                f"{float(np.min(self.floor_friction)):g}"
            )
        for name in ("kp_scale", "kd_scale"):
            value = getattr(self, name)
            if value is not None and not (value >= 0).all():
                raise ValueError(
                    f"PhysicsVariation.{name}: must be >= 0, got min {float(np.min(value)):g}"
                )
        if self.changes_body != (self.body_name is not None):
            raise ValueError(
                "PhysicsVariation.body_name: give it exactly when added_mass or com_offset "
                f"is set (body_name={self.body_name!r})"
            )
        if self.body_name is None:
            return
        if self.body_name not in body_masses:
            raise ValueError(
                f"PhysicsVariation.body_name: no body named {self.body_name!r}; bodies are: "
                f"{', '.join(body_masses)}"
            )
        mass = body_masses[self.body_name]
        if self.added_mass is not None and mass <= 0:
            # Its inertia is scaled by (m + dm) / m.
            raise ValueError(
                f"PhysicsVariation.added_mass: {self.body_name} has no mass of its own to scale"
            )
        if self.added_mass is not None and not (mass + self.added_mass > 0).all():
            raise ValueError(
                f"PhysicsVariation.added_mass: {self.body_name} weighs {mass:g} kg; adding "
                f"{float(np.min(self.added_mass)):g} kg leaves no positive mass"
            )
