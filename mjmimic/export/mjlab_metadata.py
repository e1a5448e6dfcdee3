"""mjlab's own ONNX metadata keys, so mjlab's and BeyondMimic's deploy code reads our file.

mjlab's exporter (``rl/exporter_utils.py``, ``tasks/tracking/rl/exporter.py``) writes
unprefixed keys whose values are plain strings: a list is its items joined by ``,``, each
number formatted ``{:.3f}`` and each string as it is; anything else is ``str(value)``.
Deploy code reads them back with ``value.split(",")`` and ``float``. These keys are
written next to mjmimic's own (``mjmimic.*``, JSON, full precision), which stay the
reference for mjmimic's readers: the 3-decimal rounding is mjlab's format, not a choice.
"""

from __future__ import annotations

from typing import Any

from mjmimic.export.metadata import PolicyMetadata


def mjlab_value(value: Any) -> str:
    """A value as mjlab's exporter writes it (``list_to_csv_str`` for a list)."""
    if isinstance(value, list):
        return ",".join(f"{x:.3f}" if isinstance(x, (int, float)) else str(x) for x in value)
    return str(value)


def mjlab_props(meta: PolicyMetadata, mjlab: dict[str, Any], run_path: str) -> dict[str, str]:
    """mjlab's keys of a tracking policy (``get_base_metadata`` plus the tracking
    exporter's anchor and body names), in mjlab's names: everything from ``meta`` (one
    source for each fact) but the command names, which only the env's
    ``deployment_spec()["mjlab"]`` knows."""
    obs = meta.observation
    values = {
        "run_path": run_path,
        "joint_names": meta.joint_names,
        "joint_stiffness": meta.kp,
        "joint_damping": meta.kd,
        "default_joint_pos": meta.default_joint_pos,
        "command_names": mjlab["command_names"],
        "observation_names": [term.name for term in obs.terms],
        "action_scale": meta.action_scale,
        "anchor_body_name": obs.anchor_body,
        "body_names": obs.tracked_bodies,
    }
    return {key: mjlab_value(value) for key, value in values.items()}
