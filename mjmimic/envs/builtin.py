"""The tasks that ship with mjmimic, registered by ``env_name``."""

from mjmimic.envs.add.config import ADDEnvConfig
from mjmimic.envs.add.env import ADDEnv
from mjmimic.envs.amp.config import AMPEnvConfig
from mjmimic.envs.amp.env import AMPEnv
from mjmimic.envs.deepmimic.config import DeepMimicEnvConfig
from mjmimic.envs.deepmimic.env import DeepMimicEnv
from mjmimic.envs.motion_tracking.config import TrackingEnvConfig
from mjmimic.envs.motion_tracking.env import TrackingEnv
from mjmimic.registry import ENVS

ENVS.register(
    "deepmimic",
    DeepMimicEnv,
    DeepMimicEnvConfig,
    help="DeepMimic motion tracking: follow a reference clip (Peng et al. 2018)",
)
ENVS.register(
    "amp",
    AMPEnv,
    AMPEnvConfig,
    help="AMP: move in the style of the clips, judged by a discriminator on windows of "
    "motion; no tracking reward, the clip's end does not end an episode (Peng et al. 2021)",
)
ENVS.register(
    "add",
    ADDEnv,
    ADDEnvConfig,
    help="ADD: DeepMimic tracking with a discriminator on the difference between "
    "simulated and reference motion at the same time (Zhang et al. 2025)",
)
ENVS.register(
    "tracking",
    TrackingEnv,
    TrackingEnvConfig,
    help="whole-body motion tracking a robot can run (BeyondMimic): IMU, encoder and "
    "command observations, anchor-relative rewards, actions around the default pose",
)
