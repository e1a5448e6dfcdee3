"""Action bounds for character envs (MimicKit's rule, applied per DoF)."""

from __future__ import annotations

import torch


def pd_target_bounds(
    low: torch.Tensor, high: torch.Tensor, zero_center: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """PD-target range per DoF: centred on the joint range's midpoint (or 0 with
    ``zero_center``) and 1.4x the larger half-range, i.e. 40 % beyond the joint limits so
    the policy can push a joint firmly against its limit.

    MimicKit uses a separate ±1.2·max-limit rule for spherical joints because their DoFs are
    an exp-map; in mjmimic every DoF is a hinge angle, so one rule serves all.
    """
    mid = torch.zeros_like(low) if zero_center else 0.5 * (low + high)
    half = 1.4 * torch.maximum((high - mid).abs(), (low - mid).abs())
    return mid - half, mid + half


def torque_bounds(effort: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Torque range per DoF: ±effort (an unlimited joint gets ±1000 N·m so the action
    normalizer stays finite)."""
    limit = torch.where(torch.isfinite(effort), effort, torch.full_like(effort, 1000.0))
    return -limit, limit
