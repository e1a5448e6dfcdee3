"""Engine configuration: MimicKit's engine YAML keys plus what a MuJoCo engine needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mjmimic.errors import ConfigError


@dataclass
class JointGains:
    """PD gains and effort limit for one joint (or a glob pattern of joints)."""

    kp: float | None = field(default=None, metadata={"help": "position gain (N·m/rad)"})
    kd: float | None = field(default=None, metadata={"help": "velocity gain (N·m·s/rad)"})
    effort: float | None = field(
        default=None, metadata={"help": "torque limit (N·m); PD output is clipped to ±effort"}
    )
    armature: float | None = field(
        default=None,
        metadata={
            "help": "reflected motor inertia added to the joint (kg·m²); overrides the MJCF. "
            "Keeps light links stable under stiff PD"
        },
    )


@dataclass
class EngineConfig:
    engine_name: Literal["mujoco"] = field(
        default="mujoco",
        metadata={"help": "physics backend; 'mujoco' = MuJoCo on CPU threads (mujoco.rollout)"},
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
        metadata={"help": "policy rate in Hz (env step = 1/control_freq)", "range": "30-50"},
    )
    sim_freq: int = field(
        default=120,
        metadata={
            "help": "physics rate in Hz; an integer multiple of control_freq",
            "range": "120-500",
        },
    )
    env_spacing: float = field(
        default=5.0,
        metadata={"help": "accepted for MimicKit files; mjmimic envs never interact, so unused"},
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
    iterations: int = field(default=100, metadata={"help": "solver iterations", "range": "10-100"})
    ls_iterations: int = field(
        default=50, metadata={"help": "line-search iterations", "range": "20-50"}
    )
    nconmax: int | None = field(
        default=None,
        metadata={"help": "accepted for MimicKit/Warp files; the CPU engine sizes contacts itself"},
    )
    njmax: int | None = field(
        default=None,
        metadata={
            "help": "accepted for MimicKit/Warp files; the CPU engine sizes constraints itself"
        },
    )
    num_threads: int | None = field(
        default=None, metadata={"help": "physics threads; default: all available cores"}
    )
    joint_gains: dict[str, JointGains] = field(
        default_factory=dict,
        metadata={
            "help": "PD gains / effort per joint name or glob pattern ('*_knee'); these win over "
            "the MJCF's actuators and joint stiffness/damping"
        },
    )
    floor_friction: float = field(default=1.0, metadata={"help": "sliding friction of the floor"})

    def validate(self) -> None:
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
        if self.num_threads is not None and self.num_threads < 1:
            raise ConfigError(f"engine: num_threads must be >= 1, got {self.num_threads}")

    @property
    def num_substeps(self) -> int:
        return self.sim_freq // self.control_freq
