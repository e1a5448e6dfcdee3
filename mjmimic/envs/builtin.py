"""The tasks that ship with mjmimic, registered by ``env_name``."""

from mjmimic.envs.deepmimic.config import DeepMimicEnvConfig
from mjmimic.envs.deepmimic.env import DeepMimicEnv
from mjmimic.registry import ENVS

ENVS.register(
    "deepmimic",
    DeepMimicEnv,
    DeepMimicEnvConfig,
    help="DeepMimic motion tracking: follow a reference clip (Peng et al. 2018)",
)
