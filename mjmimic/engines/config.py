"""Engine configuration: MimicKit's engine YAML keys plus what a MuJoCo engine needs.

MimicKit's engine files name ``isaac_gym``, ``isaac_lab`` or ``newton``; they load onto the
MuJoCo engine (``adapt_mimickit_engine``), and the keys only those engines read
(``ground_contact_height``, PhysX GPU buffer sizes, ...) are dropped with one notice.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mjmimic.config.bounds import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE
from mjmimic.errors import ConfigError

# MimicKit's engine names -> what they are; their files run on MuJoCo here.
MIMICKIT_ENGINES = {
    "isaac_gym": "Isaac Gym",
    "isaac_lab": "Isaac Lab",
    "newton": "Newton",
}
MIMICKIT_ENGINE_TARGET = "mujoco"

# Keys MimicKit's engines read (or set in code, so users put them in their files) that
# have no meaning for MuJoCo: Isaac Gym's contact-height filter, PhysX solver, offset and
# GPU buffer settings (Isaac Gym and Isaac Lab spellings), and USD/XPBD keys of MimicKit
# engine branches. Anything else unknown stays an error with a did-you-mean.
MIMICKIT_ONLY_ENGINE_KEYS = frozenset(
    {
        "ground_contact_height",
        "max_gpu_contact_pairs",
        "default_buffer_size_multiplier",
        "gpu_max_rigid_contact_count",
        "gpu_max_rigid_patch_count",
        "gpu_found_lost_pairs_capacity",
        "gpu_total_aggregate_pairs_capacity",
        "num_subscenes",
        "num_position_iterations",
        "num_velocity_iterations",
        "max_position_iteration_count",
        "max_velocity_iteration_count",
        "solver_type",
        "contact_offset",
        "rest_offset",
        "bounce_threshold_velocity",
        "max_depenetration_velocity",
        "use_gpu",
        "use_gpu_pipeline",
        "usd_file",
        "xpbd_iterations",
    }
)


@dataclass
class JointGains:
    """PD gains and effort limit for one joint (or a glob pattern of joints)."""

    kp: float | None = field(
        default=None, metadata={"help": "position gain (N·m/rad)", "bounds": NON_NEGATIVE}
    )
    kd: float | None = field(
        default=None, metadata={"help": "velocity gain (N·m·s/rad)", "bounds": NON_NEGATIVE}
    )
    effort: float | None = field(
        default=None,
        metadata={
            "help": "torque limit (N·m); PD output is clipped to ±effort",
            "bounds": POSITIVE,
        },
    )
    armature: float | None = field(
        default=None,
        metadata={
            "help": "reflected motor inertia added to the joint (kg·m²); overrides the MJCF. "
            "Keeps light links stable under stiff PD",
            "bounds": NON_NEGATIVE,
        },
    )


@dataclass
class EngineConfig:
    engine_name: str = field(
        default="mujoco",
        metadata={
            "help": "physics backend; 'mujoco' = MuJoCo on CPU threads (mujoco.rollout). "
            "MimicKit's isaac_gym, isaac_lab and newton run on mujoco"
        },
    )
    control_mode: Literal["pos", "torque"] = field(
        default="pos",
        metadata={
            "help": "pos: actions are PD position targets, torque recomputed every physics "
            "substep from the current state and clipped to the effort limit; torque: actions "
            "are joint torques"
        },
    )
    control_freq: int = field(
        default=30,
        metadata={
            "help": "policy rate in Hz (env step = 1/control_freq)",
            "range": "30-50",
            "bounds": AT_LEAST_ONE,
        },
    )
    sim_freq: int = field(
        default=120,
        metadata={
            "help": "physics rate in Hz; an integer multiple of control_freq",
            "range": "120-500",
            "bounds": AT_LEAST_ONE,
        },
    )
    env_spacing: float = field(
        default=5.0,
        metadata={
            "help": "accepted for MimicKit files; mjmimic envs never interact, so unused",
            "bounds": NON_NEGATIVE,
        },
    )
    integrator: Literal["implicitfast", "euler", "implicit", "rk4"] = field(
        default="implicitfast",
        metadata={
            "help": "MuJoCo integrator; implicitfast treats PD damping implicitly (Euler blows "
            "up with kd ~100 at 120 Hz)"
        },
    )
    solver: Literal["newton", "cg", "pgs"] = field(
        default="newton", metadata={"help": "MuJoCo constraint solver"}
    )
    iterations: int = field(
        default=100,
        metadata={"help": "solver iterations", "range": "10-100", "bounds": AT_LEAST_ONE},
    )
    ls_iterations: int = field(
        default=50,
        metadata={"help": "line-search iterations", "range": "20-50", "bounds": AT_LEAST_ONE},
    )
    nconmax: int | None = field(
        default=None,
        metadata={
            "help": "accepted for MimicKit/Warp files; the CPU engine sizes contacts itself",
            "bounds": AT_LEAST_ONE,
        },
    )
    njmax: int | None = field(
        default=None,
        metadata={
            "help": "accepted for MimicKit/Warp files; the CPU engine sizes constraints itself",
            "bounds": AT_LEAST_ONE,
        },
    )
    num_threads: int | None = field(
        default=None,
        metadata={"help": "physics threads; default: all available cores", "bounds": AT_LEAST_ONE},
    )
    joint_gains: dict[str, JointGains] = field(
        default_factory=dict,
        metadata={
            "help": "PD gains / effort per joint name or glob pattern ('*_knee'); these win over "
            "the env's robot profile (env.robot), then the MJCF's actuators and joint "
            "stiffness/damping"
        },
    )
    floor_friction: float = field(
        default=1.0, metadata={"help": "sliding friction of the floor", "bounds": NON_NEGATIVE}
    )

    def validate(self) -> None:
        check_engine_name(self.engine_name, "engine")
        if self.engine_name in MIMICKIT_ENGINES:
            # Configs built in code skip adapt_mimickit_engine (and its notice); the engine
            # builder only ever sees a registered name.
            self.engine_name = MIMICKIT_ENGINE_TARGET
        # Configs built in code skip the loader's bounds; a 0 here would divide by zero.
        if self.control_freq <= 0 or self.sim_freq <= 0:
            raise ConfigError(
                f"engine: control_freq ({self.control_freq}) and sim_freq "
                f"({self.sim_freq}) must be > 0"
            )
        if self.sim_freq % self.control_freq:
            raise ConfigError(
                f"engine: sim_freq {self.sim_freq} is not an integer multiple of control_freq "
                f"{self.control_freq}; use e.g. sim_freq {self.control_freq * 4}"
            )

    @property
    def num_substeps(self) -> int:
        return self.sim_freq // self.control_freq


def check_engine_name(name: Any, where: str) -> None:
    """ConfigError (naming ``where``, a file:line) unless ``name`` is a registered engine or
    one of MimicKit's."""
    from mjmimic.registry import ENGINES  # lazily: the registry imports the engines

    known = ENGINES.names()
    if isinstance(name, str) and (name in known or name in MIMICKIT_ENGINES):
        return
    close = difflib.get_close_matches(str(name), [*known, *MIMICKIT_ENGINES], n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(
        f"{where}: unknown engine_name {name!r} ({hint}engines: {', '.join(known)}; "
        f"MimicKit's {', '.join(MIMICKIT_ENGINES)} run on {MIMICKIT_ENGINE_TARGET})"
    )


def adapt_mimickit_engine(
    data: Mapping[str, Any], origins: Mapping[str, str], source: str
) -> tuple[dict[str, Any], str | None]:
    """Engine YAML keys (engine file merged with an env file's ``engine:`` block) made
    loadable here: a MimicKit engine name becomes ``mujoco`` and the keys only MimicKit's
    engines read are dropped. Returns the keys and the notice saying so (None if nothing
    changed); ``origins`` (key -> "file:line") and ``source`` place the engine name in it."""
    out = dict(data)
    name = out.get("engine_name", MIMICKIT_ENGINE_TARGET)
    check_engine_name(name, origins.get("engine_name", source))
    mapped = isinstance(name, str) and name in MIMICKIT_ENGINES
    ignored = sorted(k for k in out if k in MIMICKIT_ONLY_ENGINE_KEYS)
    for key in ignored:
        del out[key]
    if not mapped and not ignored:
        return out, None
    if mapped:
        out["engine_name"] = MIMICKIT_ENGINE_TARGET
        where = origins.get("engine_name", source)
        note = f"engine_name {name!r} ({where}) runs on MuJoCo (CPU)"
        if ignored:
            note += f"; ignored here: {', '.join(ignored)}"
    else:
        places = ", ".join(f"{k} ({origins.get(k, source)})" for k in ignored)
        note = f"MimicKit engine keys with no meaning for MuJoCo, ignored here: {places}"
    return out, note
