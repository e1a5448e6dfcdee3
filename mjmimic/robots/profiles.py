"""Robot profiles: everything mjmimic needs to know about a robot beyond its MJCF.

A profile is a YAML file (bundled ones in ``mjmimic/assets/robots/profiles/<name>.yaml``)
keyed by joint and body **names**: PD gains with their source, effort limits, default and
initial pose, key bodies, bodies allowed to touch the ground, per-joint error weights,
action scales and the retargeting keypoint map. It is loaded into ``RobotProfile`` with
``load_config``, so unknown keys and wrong types are one-line errors with the file line.

``--robot NAME`` finds the MJCF in this order (first that exists wins):

1. an explicit MJCF path (``resolve_robot(name, mjcf=...)``, ``--mjcf``);
2. ``$MJMIMIC_ROBOTS/<mjcf.data>`` (a folder laid out like the reference data's robots/);
3. ``$MENAGERIE_ROOT/<mjcf.menagerie>`` (a mujoco-menagerie checkout);
4. the MJCF bundled with mjmimic (``mjcf.bundled``), else
   ``<shared data>/robots/<mjcf.data>`` (the reference data, used by tests);
5. the menagerie cache, and for a profile with ``mjcf.menagerie`` not found anywhere
   above: that folder of mujoco-menagerie fetched into the cache (``robots/menagerie.py``;
   ``MJMIMIC_OFFLINE=1`` forbids it).

The profile must name exactly the MJCF's joints: a model with joints the profile does not
name, or the reverse, is refused with both lists (a different model revision would
otherwise get wrong gains silently).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mjmimic.config.bounds import NON_NEGATIVE, POSITIVE
from mjmimic.config.schema import load_config
from mjmimic.config.yaml_source import load_yaml
from mjmimic.errors import AssetError, ConfigError
from mjmimic.paths import ASSETS_DIR, REPO_DIR, shared_data_dir
from mjmimic.robots import menagerie
from mjmimic.robots.model import RobotModel

PROFILES_DIR = ASSETS_DIR / "robots" / "profiles"
# Origins (``get_origin``) of values an env config took from a profile start with this
# (``envs/robot_defaults.py`` records them; ``engines/actuation.py`` reads them).
PROFILE_ORIGIN = "robot profile"

# Human keypoints a retargeting source provides; a profile maps (a subset of) them to bodies.
KEYPOINTS = (
    "pelvis",
    "torso",
    "head",
    "left_elbow",
    "right_elbow",
    "left_hand",
    "right_hand",
    "left_knee",
    "right_knee",
    "left_foot",
    "right_foot",
)


@dataclass
class JointProfile:
    kp: float = field(metadata={"help": "PD position gain (N·m/rad)", "bounds": NON_NEGATIVE})
    kd: float = field(metadata={"help": "PD velocity gain (N·m·s/rad)", "bounds": NON_NEGATIVE})
    effort: float = field(metadata={"help": "torque limit (N·m)", "bounds": POSITIVE})
    armature: float | None = field(
        default=None,
        metadata={
            "help": "reflected rotor inertia (kg·m²); None keeps the MJCF's",
            "bounds": NON_NEGATIVE,
        },
    )
    default: float = field(default=0.0, metadata={"help": "standing-pose angle (rad)"})
    weight: float = field(
        default=1.0,
        metadata={"help": "joint error weight (rewards, metrics)", "bounds": NON_NEGATIVE},
    )
    action_scale: float = field(
        default=0.25,
        metadata={
            "help": "rad of PD target per unit action around the default (0.25 effort/kp)",
            "bounds": POSITIVE,
        },
    )


@dataclass
class Keypoint:
    body: str = field(metadata={"help": "robot body carrying the keypoint"})
    offset: tuple[float, float, float] = field(
        default=(0.0, 0.0, 0.0), metadata={"help": "point in the body frame (m)"}
    )


@dataclass
class MjcfLocation:
    data: str = field(
        metadata={"help": "path under a robots folder ($MJMIMIC_ROBOTS, shared data robots/)"}
    )
    menagerie: str | None = field(
        default=None, metadata={"help": "path under $MENAGERIE_ROOT (mujoco-menagerie)"}
    )
    bundled: str | None = field(
        default=None, metadata={"help": "path under mjmimic/assets/robots (shipped with mjmimic)"}
    )


@dataclass
class RobotProfile:
    name: str = field(metadata={"help": "robot name (--robot NAME)"})
    description: str = field(metadata={"help": "one line: what robot this is"})
    mjcf: MjcfLocation = field(metadata={"help": "where the MJCF is found"})
    gains_source: str = field(metadata={"help": "how the PD gains were derived"})
    joints: dict[str, JointProfile] = field(
        metadata={"help": "every actuated joint of the MJCF, by name"}
    )
    init_root_height: float = field(
        metadata={
            "help": "root height (m) with the default pose standing on the floor",
            "bounds": POSITIVE,
        }
    )
    key_bodies: list[str] = field(metadata={"help": "bodies tracked by key-position rewards"})
    contact_bodies: list[str] = field(metadata={"help": "bodies allowed to touch the ground"})
    keypoints: dict[str, Keypoint] = field(
        metadata={"help": "retargeting: human keypoint (pelvis, left_hand, ...) -> robot body"}
    )
    init_pose: dict[str, float] = field(
        default_factory=dict,
        metadata={"help": "joint angles (rad) that differ from the default at episode start"},
    )

    def validate(self) -> None:
        unknown = sorted(set(self.keypoints) - set(KEYPOINTS))
        if unknown:
            raise ConfigError(
                f"keypoints: unknown keypoint(s) {', '.join(unknown)}; "
                f"known: {', '.join(KEYPOINTS)}"
            )
        for name in ("pelvis", "left_foot", "right_foot"):
            if name not in self.keypoints:
                raise ConfigError(f"keypoints: '{name}' is required (scaling and foot contact)")
        stray = sorted(set(self.init_pose) - set(self.joints))
        if stray:
            raise ConfigError(f"init_pose names joints not in 'joints': {', '.join(stray)}")

    def check_robot(self, robot: RobotModel) -> None:
        """AssetError unless the MJCF's DoFs are exactly the profile's joints and every
        body the profile names exists."""
        model_joints, named = set(robot.dof_names), set(self.joints)
        if model_joints != named:
            extra = sorted(model_joints - named)
            missing = sorted(named - model_joints)
            raise AssetError(
                f"{robot.source}: does not match robot profile '{self.name}': "
                f"joints not in the profile: {', '.join(extra) or 'none'}; "
                f"profile joints not in the model: {', '.join(missing) or 'none'}"
            )
        bodies = [*self.key_bodies, *self.contact_bodies]
        bodies += [k.body for k in self.keypoints.values()]
        absent = sorted({b for b in bodies if b not in robot.body_names})
        if absent:
            raise AssetError(
                f"{robot.source}: bodies named by robot profile '{self.name}' are missing: "
                + ", ".join(absent)
            )


def known_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def profile_path(name_or_path: str | Path) -> Path:
    """The YAML file of a bundled profile name (``g1``) or of a profile path."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = PROFILES_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise ConfigError(
                f"unknown robot '{name_or_path}'; known robots: {', '.join(known_profiles())} "
                "(or give a profile .yaml)"
            )
    elif not path.is_file():
        raise ConfigError(f"robot profile not found: {path}")
    return path


def load_profile(name_or_path: str | Path) -> RobotProfile:
    """A bundled profile by name (``g1``) or a profile YAML file by path."""
    path = profile_path(name_or_path)
    data, origins = load_yaml(path)
    return load_config(RobotProfile, data, str(path), origins)


def profile_origin(profile: RobotProfile, path: Path) -> str:
    """How ``get_origin`` names a value taken from a profile:
    ``robot profile g1 (mjmimic/assets/robots/profiles/g1.yaml)``."""
    try:
        shown = path.resolve().relative_to(REPO_DIR)
    except ValueError:
        shown = path
    return f"{PROFILE_ORIGIN} {profile.name} ({shown})"


def find_mjcf(profile: RobotProfile, mjcf: str | Path | None = None) -> Path:
    """The profile's MJCF, in the resolution order of the module docstring."""
    if mjcf is not None:
        path = Path(mjcf).expanduser()
        if not path.is_file():
            raise AssetError(f"robot model not found: {path}")
        return path
    candidates: list[Path] = []
    if os.environ.get("MJMIMIC_ROBOTS"):
        candidates.append(Path(os.environ["MJMIMIC_ROBOTS"]) / profile.mjcf.data)
    if os.environ.get("MENAGERIE_ROOT") and profile.mjcf.menagerie:
        candidates.append(Path(os.environ["MENAGERIE_ROOT"]) / profile.mjcf.menagerie)
    if profile.mjcf.bundled:
        candidates.append(ASSETS_DIR / "robots" / profile.mjcf.bundled)
    candidates.append(shared_data_dir() / "robots" / profile.mjcf.data)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    if profile.mjcf.menagerie:
        return menagerie.fetch_model(profile.mjcf.menagerie, profile.name)
    raise AssetError(
        f"robot '{profile.name}': MJCF not found (tried {', '.join(map(str, candidates))}); "
        "set MJMIMIC_ROBOTS or MENAGERIE_ROOT, or pass the MJCF path"
    )


def resolve_robot(
    name_or_path: str | Path, mjcf: str | Path | None = None
) -> tuple[RobotProfile, RobotModel]:
    """Profile and robot model for ``--robot NAME`` (and optionally ``--mjcf PATH``),
    checked against each other."""
    profile = load_profile(name_or_path)
    robot = RobotModel.from_file(find_mjcf(profile, mjcf))
    profile.check_robot(robot)
    return profile, robot


def robot_from_arg(arg: str | Path) -> RobotModel:
    """A command's ``--robot``: an MJCF path, or a profile name (``g1``, ``k1``...) resolved
    to its MJCF and checked against its profile."""
    path = Path(arg)
    if path.suffix.lower() == ".xml" or path.is_file():
        return RobotModel.from_file(path)
    return resolve_robot(str(arg))[1]
