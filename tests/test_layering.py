"""The generic layers reach tasks, agents and engines only through their contracts.

Every ``import`` in the package (lazy ones inside functions included: they run too) is read
from the source with ``ast``; from each consumer module the test follows imports
transitively and fails if it reaches a concrete task, agent or engine module. The one
sanctioned indirection is the registry (``mjmimic/registry.py``): it imports the built-in
classes only when a name is looked up, so edges out of it are not followed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mjmimic"

# Modules that must stay generic: they serve every task, agent and engine.
CONSUMERS = (
    "mjmimic.health",
    "mjmimic.training.trainer",
    "mjmimic.training.evaluation",
    "mjmimic.render",
    "mjmimic.export",
    "mjmimic.logging",
)
# Concrete implementations, reachable only through the registry.
CONCRETE = (
    "mjmimic.envs.deepmimic",
    "mjmimic.envs.amp",
    "mjmimic.envs.add",
    "mjmimic.envs.motion_tracking",
    "mjmimic.envs.builtin",
    "mjmimic.agents.ppo",
    "mjmimic.agents.amp",
    "mjmimic.agents.add",
    "mjmimic.agents.builtin",
    "mjmimic.engines.mujoco_cpu",
    "mjmimic.engines.builtin",
)
NOT_FOLLOWED = ("mjmimic.registry",)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules ``path`` imports (``from a import b`` counts ``a.b`` when that
    is a module, else ``a``)."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            # a.b.c imports a and a.b too (their __init__ runs)
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                candidate = ".".join(parts[:i])
                if candidate in modules:
                    found.add(candidate)
    return found


def reachable(start: str, modules: dict[str, Path]) -> dict[str, str]:
    """Module -> the module that first imported it, for everything ``start`` imports."""
    via = {start: ""}
    todo = [start]
    while todo:
        current = todo.pop()
        if current in NOT_FOLLOWED:
            continue
        for target in imports_of(current, modules[current], modules):
            if target not in via:
                via[target] = current
                todo.append(target)
    return via


def chain(via: dict[str, str], end: str) -> str:
    links = [end]
    while via[links[-1]]:
        links.append(via[links[-1]])
    return " <- ".join(links)


def consumer_modules() -> list[str]:
    modules = all_modules()
    return sorted(m for m in modules if any(m == c or m.startswith(c + ".") for c in CONSUMERS))


@pytest.mark.parametrize("consumer", consumer_modules())
def test_consumer_imports_no_concrete_task_agent_or_engine(consumer):
    modules = all_modules()
    via = reachable(consumer, modules)
    bad = [m for m in via if any(m == c or m.startswith(c + ".") for c in CONCRETE)]
    assert not bad, "; ".join(chain(via, m) for m in bad)


def test_the_check_sees_a_violation():
    """The walker itself: the registry's lazy loader does reach the DeepMimic task (so an
    edge like it from a consumer would be caught), and relative imports resolve."""
    modules = all_modules()
    assert "mjmimic.envs.builtin" in imports_of(
        "mjmimic.registry", modules["mjmimic.registry"], modules
    )
    via = reachable("mjmimic.envs.builtin", modules)
    assert "mjmimic.envs.deepmimic.env" in via
    assert len(consumer_modules()) > 10
