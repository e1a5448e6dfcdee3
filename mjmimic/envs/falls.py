"""When a character has fallen: the check every task of the character layer shares."""

from __future__ import annotations

import torch


def fell(
    ground_contact: torch.Tensor,
    contact_body_mask: torch.Tensor,
    root_height: torch.Tensor,
    termination_height: float | None,
) -> torch.Tensor:
    """(N,) bool: a body *not* in ``contact_body_mask`` (B,) touches the ground
    (``ground_contact`` (N, B) bool), or the root is below ``termination_height`` (m).

    As in MimicKit an empty allow-list (``contact_body_mask.any()`` False) switches the
    contact check off (roll, crawl and get-up clips touch the ground with anything).
    """
    failed = (ground_contact & ~contact_body_mask).any(-1) & contact_body_mask.any()
    if termination_height is not None:
        failed = failed | (root_height < termination_height)
    return failed
