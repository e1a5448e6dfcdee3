"""Name -> class tables for the things a config selects by name: envs, agents, engines.

A config's ``env_name``, ``agent_name`` or ``engine_name`` picks an entry; an unknown name
is one line listing the known ones. A new task, agent or engine registers itself where it
is defined::

    ENVS.register("deepmimic", DeepMimicEnv, DeepMimicEnvConfig)

Entries are looked up lazily by the builders (``training/setup.py``), so the generic layers
never import a concrete task or agent class.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mjmimic.errors import ConfigError


@dataclass(frozen=True)
class Entry:
    """One registered class and the config dataclass its YAML section is loaded into."""

    name: str
    cls: Any
    config_cls: Any | None
    help: str


class Registry:
    """Entries of one kind (``what`` names it in messages: "env", "agent", "engine").

    ``loaders`` import the modules that register the built-in entries on first lookup, so
    importing the registry itself is cheap and free of import cycles.
    """

    def __init__(self, what: str, key: str, loaders: tuple[Callable[[], None], ...] = ()):
        self.what = what
        self.key = key
        self._entries: dict[str, Entry] = {}
        self._loaders = loaders
        self._loaded = False

    def register(self, name: str, cls: Any, config_cls: Any | None = None, help: str = "") -> None:
        if name in self._entries and self._entries[name].cls is not cls:
            raise ValueError(f"{self.what} {name!r} is registered twice")
        self._entries[name] = Entry(name, cls, config_cls, help)

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def get(self, name: str, where: str = "") -> Entry:
        """The entry for ``name``; ConfigError naming ``where`` (a file:line) otherwise."""
        self._load()
        entry = self._entries.get(name)
        if entry is not None:
            return entry
        known = ", ".join(sorted(self._entries))
        close = difflib.get_close_matches(str(name), list(self._entries), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        prefix = f"{where}: " if where else ""
        raise ConfigError(
            f"{prefix}unknown {self.key} {name!r} ({hint}known {self.what}s: {known})"
        )

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            for load in self._loaders:
                load()


def _load_envs() -> None:
    import mjmimic.envs.builtin  # noqa: F401  (registers the built-in tasks)


def _load_agents() -> None:
    import mjmimic.agents.builtin  # noqa: F401  (registers the built-in agents)


def _load_engines() -> None:
    import mjmimic.engines.builtin  # noqa: F401  (registers the built-in engines)


ENVS = Registry("env", "env_name", (_load_envs,))
AGENTS = Registry("agent", "agent_name", (_load_agents,))
ENGINES = Registry("engine", "engine_name", (_load_engines,))
