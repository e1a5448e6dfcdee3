"""``mjmimic explain``: every resolved setting of a run, where it came from and what it means.

    mjmimic explain --arg_file args/deepmimic_humanoid_squat.txt
    mjmimic explain agent.discount --arg_file args/x.txt      # one key (or a prefix)

For each command-line flag and each engine, env and agent key: the value, its origin
(``command line``, ``args/x.txt:4``, ``configs/agents/y.yaml:27`` or ``default``), the
one-line meaning from the typed config's ``help`` metadata and the typical range.
Keys mjmimic accepts for MimicKit compatibility but does not use are flagged; an unknown
key stops the command with the config layer's did-you-mean error.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from mjmimic.config import describe_fields, get_origin
from mjmimic.config.args import ArgSpec, parse_arg_tokens
from mjmimic.errors import MjmimicError

USAGE = """usage: mjmimic explain [KEY] --arg_file FILE [train flags]

Lists every resolved setting: value, origin (command line / arg file line / YAML
file:line / default), meaning and typical range. KEY (first, or last after a
one-value flag) shows only the settings whose path contains it."""

# Help texts of keys that are read for compatibility only start with this.
_UNUSED_MARK = "accepted for"


@dataclass
class Setting:
    path: str
    value: Any
    origin: str
    help: str
    range: str | None
    unused: bool
    allowed: str | None = None  # what the loader accepts (bounds), not advice

    def line(self) -> str:
        flag = "  UNUSED" if self.unused else ""
        notes = [
            f"typical {self.range}" if self.range else "",
            f"allowed {self.allowed}" if self.allowed else "",
        ]
        shown = "; ".join(n for n in notes if n)
        tail = f" ({shown})" if shown else ""
        return f"{self.path} = {_show(self.value)}  [{self.origin}]{flag}\n    {self.help}{tail}"


def main(tokens: list[str]) -> int:
    from mjmimic.cli.train_test import TRAIN_SPEC, run_from_args
    from mjmimic.config import resolve_args

    if not tokens or tokens[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    key, tokens = split_key(tokens, TRAIN_SPEC)
    args = resolve_args(tokens, TRAIN_SPEC)
    run = run_from_args(args, threads=args.threads or 1)
    settings = flag_settings(args, TRAIN_SPEC) + run_settings(run)
    if key is not None:
        settings = [s for s in settings if key in s.path]
        if not settings:
            raise MjmimicError(f"no setting matches {key!r}; run without a key to list them all")
    for setting in settings:
        print(setting.line())
    unused = [s.path for s in settings if s.unused and s.origin != "default"]
    if unused:
        print(f"\nset but unused by mjmimic (kept for MimicKit files): {', '.join(unused)}")
    return 0


def split_key(tokens: list[str], spec: ArgSpec) -> tuple[str | None, list[str]]:
    """The optional KEY: the first token if it is not a flag, or a surplus last value
    after a flag that takes one value (``--arg_file x.txt agent.discount``)."""
    if not tokens[0].startswith("--"):
        return tokens[0], tokens[1:]
    parsed = parse_arg_tokens(tokens, "command line")
    last_flag = list(parsed)[-1]
    values = parsed[last_flag][0]
    flag = spec.get(last_flag)
    takes_one = last_flag == "arg_file" or (flag is not None and not flag.is_list)
    if takes_one and len(values) == 2:
        return tokens[-1], tokens[:-1]
    return None, tokens


def flag_settings(args, spec: ArgSpec) -> list[Setting]:
    out = [
        Setting(
            f"--{flag.name}",
            getattr(args, flag.name),
            args.origin(flag.name),
            flag.help,
            None,
            flag.help.startswith(_UNUSED_MARK),
            None if flag.bounds is None else str(flag.bounds),
        )
        for flag in spec.flags
    ]
    if args.arg_file is not None:
        meaning = "the file the flags marked with its name were read from"
        out.insert(0, Setting("--arg_file", args.arg_file, "command line", meaning, None, False))
    return out


def run_settings(run) -> list[Setting]:
    return [
        *_section("engine", run.engine),
        *_section("env", run.env),
        *_section("agent", run.agent),
    ]


def _section(prefix: str, cfg: Any) -> list[Setting]:
    infos = {info.path: info for info in describe_fields(type(cfg))}
    out = []
    for path, pattern, value in _leaves(cfg, "", ""):
        info = infos.get(pattern)
        out.append(
            Setting(
                f"{prefix}.{path}",
                value,
                get_origin(cfg, path),
                info.help if info else "",
                info.range if info else None,
                bool(info and info.help.startswith(_UNUSED_MARK)),
                info.allowed if info else None,
            )
        )
    return out


def _leaves(value: Any, path: str, pattern: str):
    """(path, describe_fields pattern, value) of every scalar or list setting in ``value``;
    dict entries whose values are sections (``joint_gains``) get ``<key>`` in the pattern."""
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            if f.init:
                yield from _leaves(
                    getattr(value, f.name), _join(path, f.name), _join(pattern, f.name)
                )
        return
    if (
        isinstance(value, dict)
        and value
        and all(dataclasses.is_dataclass(v) for v in value.values())
    ):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}", f"{pattern}.<key>")
        return
    yield path, pattern, value


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _show(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 70 else text[:67] + "..."
