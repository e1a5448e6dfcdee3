"""The learners that ship with mjmimic, registered by ``agent_name``."""

from mjmimic.agents.add import ADDAgent
from mjmimic.agents.adversarial_config import ADDConfig, AMPConfig
from mjmimic.agents.amp import AMPAgent
from mjmimic.agents.config import PPOConfig
from mjmimic.agents.ppo import PPOAgent
from mjmimic.registry import AGENTS

AGENTS.register("PPO", PPOAgent, PPOConfig, help="proximal policy optimization (MimicKit's PPO)")
AGENTS.register(
    "AMP",
    AMPAgent,
    AMPConfig,
    help="adversarial motion priors: PPO rewarded by a discriminator of dataset vs policy "
    "motion (MimicKit's AMP; needs env_name: amp)",
)
AGENTS.register(
    "ADD",
    ADDAgent,
    ADDConfig,
    help="adversarial differential discriminator: PPO rewarded by a discriminator of the "
    "reference-minus-sim difference (MimicKit's ADD; needs env_name: add)",
)
