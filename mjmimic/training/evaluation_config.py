"""The ``evaluation:`` section of an agent YAML: when a test episode counts as a success.

Beside ``test_episodes`` (how many), because that is where test settings live. This module
imports nothing above ``mjmimic.config.bounds`` so that the agent config can embed the
section (as it does ``health:``). What the numbers mean: docs/evaluation.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mjmimic.config.bounds import POSITIVE, check_field_bounds


@dataclass
class EvaluationConfig:
    body_threshold: float = field(
        default=0.2,
        metadata={
            "help": "m; a test episode succeeds only if every key body stays within this of "
            "its reference (both relative to their roots) in every frame; frames over it are "
            "counted per body and marked red in test videos",
            "range": "0.15-0.25",
            "bounds": POSITIVE,
        },
    )
    root_threshold: float = field(
        default=0.5,
        metadata={
            "help": "m; ... and the root stays within this of the reference root (world)",
            "range": "0.3-1.0",
            "bounds": POSITIVE,
        },
    )
    window: float = field(
        default=0.5,
        metadata={
            "help": "s; length of the clip-time window reported as a body's worst (highest "
            "mean error)",
            "range": "0.2-1.0",
            "bounds": POSITIVE,
        },
    )

    def validate(self) -> None:
        # The loader checks the bounds of what it reads; this covers a config built in code.
        check_field_bounds(self, "evaluation.")
