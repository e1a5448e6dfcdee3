"""env_name / agent_name / engine_name select registered classes; unknown names are one
line listing the known ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mjmimic.errors import ConfigError
from mjmimic.registry import AGENTS, ENGINES, ENVS, Registry
from mjmimic.training.setup import RunConfig, build_env_and_agent

REPO = Path(__file__).resolve().parents[1]
SQUAT_ENV = REPO / "configs" / "envs" / "deepmimic_humanoid_squat.yaml"
AGENT = REPO / "configs" / "agents" / "deepmimic_ppo_cpu.yaml"
ENGINE = REPO / "configs" / "engines" / "mujoco_cpu.yaml"


def test_built_ins_are_registered():
    assert "deepmimic" in ENVS.names()
    assert "PPO" in AGENTS.names()
    assert "mujoco" in ENGINES.names()


def test_unknown_name_is_one_line_with_the_known_ones():
    with pytest.raises(ConfigError) as err:
        ENVS.get("deepmimc", "x.yaml:1")
    message = str(err.value)
    assert message.startswith("x.yaml:1: unknown env_name 'deepmimc'")
    assert "did you mean 'deepmimic'?" in message
    assert "known envs: add, amp, deepmimic" in message
    assert "\n" not in message


def test_registering_a_name_twice_is_a_programming_error():
    registry = Registry("thing", "thing_name")
    registry.register("a", int)
    registry.register("a", int)  # the same class again (a module imported twice) is fine
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("a", float)


def test_a_registered_task_and_agent_are_built_by_name(tmp_path):
    """A new agent class plugs in by registering: the builder never names it."""
    from mjmimic.agents.config import PPOConfig
    from mjmimic.agents.ppo import PPOAgent

    class MyAgent(PPOAgent):
        pass

    AGENTS.register("MyPPO", MyAgent, PPOConfig)
    try:
        run = RunConfig.from_files(ENGINE, SQUAT_ENV, AGENT, 2, 0, "cpu")
        run.agent.agent_name = "MyPPO"  # what a config naming it would resolve to
        run.engine.num_threads = 1
        env, agent = build_env_and_agent(run)
        assert type(agent) is MyAgent and agent.num_envs == 2
        env.close()
    finally:
        AGENTS._entries.pop("MyPPO")


def test_unknown_agent_name_in_an_agent_yaml(tmp_path):
    data = yaml.safe_load(AGENT.read_text())
    data["agent_name"] = "PPO2"
    bad = tmp_path / "agent.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(
        ConfigError, match=r"agent.yaml:\d+: unknown agent_name 'PPO2'.*known agents"
    ):
        RunConfig.from_files(ENGINE, SQUAT_ENV, bad, 2, 0, "cpu")
