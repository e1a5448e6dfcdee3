"""Per-joint weights of the DeepMimic pose/velocity errors (``joint_err_w``).

One weight per non-root body (fixed bodies included), in body order. Accepted forms:

* nothing: every weight 1.0;
* a mapping by name: ``{right_knee: 0.6, right_hand: 0}`` — joint names (for a 3-hinge
  spherical joint its shared prefix, ``right_hip``) or body names; unlisted bodies get 1.0;
* MimicKit's positional list: one number per non-root body in body order.

A DoF's velocity error uses its joint's weight (``dof_weights``).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence

import torch

from mjmimic.errors import ConfigError
from mjmimic.robots.model import RobotModel


def resolve_joint_weights(
    robot: RobotModel, spec: Mapping[str, float] | Sequence[float] | None, source: str
) -> torch.Tensor:
    """(B-1,) float32 weights for ``robot``'s non-root bodies; ``source`` names the setting
    in error messages (e.g. ``"configs/g1.yaml: env.joint_err_w"``)."""
    bodies = robot.body_names[1:]
    if spec is None:
        return torch.ones(len(bodies))
    if isinstance(spec, Mapping):
        return _from_mapping(robot, spec, source)
    if isinstance(spec, (str, bytes)) or not isinstance(spec, Sequence):
        raise ConfigError(
            f"{source}: expected a list of numbers or a mapping joint/body name -> weight, "
            f"got {spec!r}"
        )
    if len(spec) != len(bodies):
        raise ConfigError(
            f"{source}: expected {len(bodies)} weights, one per non-root body in this order: "
            f"{', '.join(bodies)}; got {len(spec)} (or give a mapping such as "
            f"{{{bodies[0]}: 1.0}})"
        )
    values = [_weight(v, f"{source}[{i}] ({bodies[i]})") for i, v in enumerate(spec)]
    return torch.tensor(values, dtype=torch.float32)


def dof_weights(robot: RobotModel, joint_weights: torch.Tensor) -> torch.Tensor:
    """(D,) weights: each DoF gets the weight of the joint (body) it belongs to."""
    index = torch.as_tensor(robot.dof_body - 1, dtype=torch.long, device=joint_weights.device)
    return joint_weights[index]


def _from_mapping(robot: RobotModel, spec: Mapping[str, float], source: str) -> torch.Tensor:
    bodies = robot.body_names[1:]
    by_name: dict[str, int] = {}
    for j in robot.joints:
        by_name[robot.body_names[j.body]] = j.body - 1
        if j.kind != "fixed":
            by_name[j.name] = j.body - 1
    hinge_of_group = {h: j for j in robot.joints if j.kind == "spherical" for h in j.hinge_names}
    weights = [1.0] * len(bodies)
    set_by: dict[int, str] = {}
    for name, value in spec.items():
        name = str(name)
        if name not in by_name:
            if name in hinge_of_group:
                group = hinge_of_group[name].name
                raise ConfigError(
                    f"{source}: '{name}' is one hinge of the spherical joint '{group}'; "
                    f"weights apply to whole joints, use '{group}'"
                )
            if name == robot.body_names[0]:
                raise ConfigError(
                    f"{source}: '{name}' is the root body, which has no joint weight "
                    "(root errors have their own reward terms)"
                )
            valid = sorted(by_name)
            close = difflib.get_close_matches(name, valid, n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
            raise ConfigError(
                f"{source}: unknown joint or body '{name}'; {hint}valid names: {', '.join(valid)}"
            )
        index = by_name[name]
        if index in set_by:
            raise ConfigError(
                f"{source}: '{name}' and '{set_by[index]}' name the same joint "
                f"(body '{bodies[index]}'); give it once"
            )
        set_by[index] = name
        weights[index] = _weight(value, f"{source}.{name}")
    return torch.tensor(weights, dtype=torch.float32)


def _weight(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: expected a number >= 0, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{where}: expected a number >= 0, got {value}")
    return value
