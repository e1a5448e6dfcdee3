"""Load YAML config files, remembering the line each key came from.

The line numbers feed error messages (``configs/envs/x.yaml:14: env.reward_pose_w = ...``)
and provenance reports (``get_origin``). Key paths use dots for mapping keys and ``[i]``
for list items, as in ``mjmimic.config.schema``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mjmimic.errors import ConfigError

_MERGE_TAG = "tag:yaml.org,2002:merge"
# Keys and list items recorded per file. Aliases are followed, so '&a [x, x]' ten levels
# deep makes 2**10 entries: a file this large is an alias bomb, not a config.
_MAX_ENTRIES = 100_000


def load_yaml(path: str | Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Safe-load the YAML mapping in ``path``.

    Returns:
        ``(data, origins)``: the mapping, and key path → ``"<path>:<line>"`` (path as given)
        for every mapping key and list item in it. An empty file is an empty mapping.

    Raises:
        ConfigError: the file is missing or unreadable, is not valid YAML, repeats a key,
            or does not hold a mapping at the top level.
    """
    name = str(path)
    text = _read_text(Path(path))
    try:
        # The reader refuses control characters in its constructor already.
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as e:
        raise ConfigError(
            f"{name}: invalid YAML: character #x{e.character:04x} at position {e.position} is "
            "not allowed (is this a text file?)"
        ) from e
    try:
        node = loader.get_single_node()
        # Before construction, which flattens '<<' merges into the node tree in place.
        origins = _origins(node, name)
        data = loader.construct_document(node) if node is not None else {}
    except yaml.MarkedYAMLError as e:
        raise ConfigError(f"{name}:{_line_of(e)}: invalid YAML: {_problem_of(e)}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{name}: invalid YAML: {' '.join(str(e).split())}") from e
    except ValueError as e:
        # PyYAML's int() of a number past Python's 4300-digit limit.
        raise ConfigError(f"{name}: invalid YAML: a number with too many digits ({e})") from e
    except RecursionError as e:
        raise ConfigError(f"{name}: invalid YAML: lists or mappings nested too deeply") from e
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ConfigError(
            f"{name}: the top level must be a mapping of 'key: value' lines, "
            f"got a {type(data).__name__}"
        )
    return data, origins


def _origins(node: yaml.Node | None, name: str) -> dict[str, str]:
    origins: dict[str, str] = {}
    if node is None:
        return origins
    try:
        _record(node, "", name, origins, _Budget(name))
    except RecursionError as e:
        # '&a [*a]' is valid YAML for a structure containing itself; no config is.
        raise ConfigError(f"{name}: an alias (*name) refers to its own anchor") from e
    return origins


def _read_text(path: Path) -> str:
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "not found"
        raise ConfigError(f"config file {what}: {path}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not a UTF-8 text file ({e.reason} at byte {e.start})") from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config file ({e.strerror})") from e


def _line_of(error: yaml.MarkedYAMLError) -> int:
    mark = error.problem_mark or error.context_mark
    return mark.line + 1 if mark is not None else 1


def _problem_of(error: yaml.MarkedYAMLError) -> str:
    parts = [error.context, error.problem]
    return " ".join("; ".join(p for p in parts if p).split()) or "syntax error"


class _Budget:
    """Counts the entries recorded for one file, up to ``_MAX_ENTRIES``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.left = _MAX_ENTRIES

    def spend(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise ConfigError(
                f"{self.name}: more than {_MAX_ENTRIES} keys and list items once aliases "
                "(*name) are expanded; a config is far smaller (an alias bomb?)"
            )


def _record(
    node: yaml.Node, prefix: str, name: str, origins: dict[str, str], budget: _Budget
) -> None:
    """Fill ``origins`` with the line of every key and list item below ``node``."""
    if isinstance(node, yaml.MappingNode):
        _record_mapping(node, prefix, name, origins, budget)
    elif isinstance(node, yaml.SequenceNode):
        budget.spend(len(node.value))
        for i, item in enumerate(node.value):
            path = f"{prefix}[{i}]"
            origins[path] = f"{name}:{item.start_mark.line + 1}"
            _record(item, path, name, origins, budget)


def _record_mapping(
    node: yaml.MappingNode, prefix: str, name: str, origins: dict[str, str], budget: _Budget
) -> None:
    budget.spend(len(node.value))
    seen: dict[str, int] = {}
    merged: list[yaml.Node] = []
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            merged.append(value_node)
            continue
        key = str(key_node.value)
        line = key_node.start_mark.line + 1
        # PyYAML keeps the last of two equal keys without a word; a silently ignored
        # setting is worse than an error.
        if key in seen:
            raise ConfigError(
                f"{name}:{line}: duplicate key {key!r} (first at line {seen[key]}); keep one"
            )
        seen[key] = line
        path = f"{prefix}.{key}" if prefix else key
        origins[path] = f"{name}:{line}"
        _record(value_node, path, name, origins, budget)
    # Keys merged in with '<<: *anchor' come from the anchor's lines, unless set here.
    for value_node in merged:
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for source in sources:
            merged_origins: dict[str, str] = {}
            _record(source, prefix, name, merged_origins, budget)
            for path, origin in merged_origins.items():
                origins.setdefault(path, origin)
