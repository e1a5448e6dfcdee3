"""The learners that ship with mjmimic, registered by ``agent_name``."""

from mjmimic.agents.config import PPOConfig
from mjmimic.agents.ppo import PPOAgent
from mjmimic.registry import AGENTS

AGENTS.register("PPO", PPOAgent, PPOConfig, help="proximal policy optimization (MimicKit's PPO)")
