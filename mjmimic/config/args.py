"""MimicKit-compatible command-line flags and arg files, validated against a spec.

MimicKit's format: a token starting with ``--`` opens a key and the tokens after it, up to
the next key, are its values (``--devices cuda:0 cuda:1``). ``--arg_file FILE`` reads more
tokens from a text file, where ``#`` starts a comment that runs to the end of the line. The
command line wins over the arg file: it is read first, and the file only fills in keys the
command line did not give. Relative paths, the arg file's included, are taken relative to
the current directory, as in MimicKit.

Beyond MimicKit, mjmimic rejects what MimicKit silently ignores or misreads: unknown flags,
a key given twice in one source, values before the first key, and malformed values.
``--key=value`` is accepted as well as ``--key value``. ``--help`` gets no special
treatment here; the CLI checks for it and prints ``ArgSpec.format_help()``.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

from mjmimic.config.bounds import Bounds, out_of_bounds
from mjmimic.config.schema import DEFAULT_ORIGIN
from mjmimic.errors import ConfigError

COMMAND_LINE = "command line"
ARG_FILE_FLAG = "arg_file"

# MimicKit's util/arg_parser.py accepts exactly these; it reads anything else as false,
# which turns a typo like 'ture' into a silent false, so mjmimic rejects it.
_TRUE = frozenset({"true", "True", "1", "T", "t"})
_FALSE = frozenset({"false", "False", "0", "F", "f"})

_METAVARS = {str: "STR", int: "INT", float: "FLOAT", bool: "BOOL", Path: "PATH"}
_HELP_COLUMN = 28
_MAX_VALUE_CHARS = 40  # of a bad value quoted in an error (a pasted file stays one line)

# Key → (values, origin of the key), as parse_arg_tokens returns it.
ParsedArgs = dict[str, tuple[list[str], str]]


class ArgToken(NamedTuple):
    """One whitespace-separated word of an arg file and the line it is on."""

    text: str
    line: int


# ---------------------------------------------------------------------------------------
# Tokens


def read_arg_file(path: str | Path) -> list[ArgToken]:
    """The tokens of arg file ``path``, comments removed.

    Raises:
        ConfigError: the file does not exist or cannot be read as text.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"arg file not found: {path}{_cwd_note(path)}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read arg file ({e})") from e
    tokens = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        for word in line.split():
            if word.startswith("#"):
                break
            tokens.append(ArgToken(word, line_number))
    return tokens


def _cwd_note(path: Path) -> str:
    if path.is_absolute():
        return ""
    return f" (relative paths are taken from the current directory, {Path.cwd()})"


def parse_arg_tokens(tokens: Sequence[str | ArgToken], source: str) -> ParsedArgs:
    """Group MimicKit-style tokens into key → (values, origin).

    Args:
        tokens: command-line words, or ``read_arg_file`` tokens (whose line numbers go
            into the origins). Words starting with ``#`` are skipped, as in MimicKit.
        source: ``"command line"`` or the arg file's path; the origin is ``source`` or,
            for tokens with a line, ``"source:line"``.

    Raises:
        ConfigError: a value before the first key, a bare ``--``, or a key given twice.
    """
    parsed: ParsedArgs = {}
    current: list[str] | None = None
    for token in tokens:
        text, origin = _text_and_origin(token, source)
        if text.startswith("#"):
            continue
        if not text.startswith("--"):
            if current is None:
                raise ConfigError(f"{origin}: value {text!r} comes before any --flag")
            current.append(text)
            continue
        key, _, inline_value = text[2:].partition("=")
        if not key:
            raise ConfigError(f"{origin}: {text!r} is not a flag; write --name value")
        if key in parsed:
            first = parsed[key][1]
            raise ConfigError(f"{origin}: --{key} is given twice (first at {first}); keep one")
        current = [inline_value] if inline_value else []
        parsed[key] = (current, origin)
    return parsed


def _text_and_origin(token: str | ArgToken, source: str) -> tuple[str, str]:
    if isinstance(token, ArgToken):
        return token.text, f"{source}:{token.line}"
    return token, source


# ---------------------------------------------------------------------------------------
# Spec


@dataclass(frozen=True)
class ArgFlag:
    """One allowed flag.

    ``type`` is ``str``, ``int``, ``float``, ``bool``, ``pathlib.Path`` or ``list[...]`` of
    one of them; a list type, like ``nargs="+"``, takes one or more values and gives a list.
    ``bounds`` is the allowed range of an int or float flag (``mjmimic.config.bounds``);
    float flags must be finite with or without it.
    """

    name: str
    type: Any = str
    default: Any = None
    nargs: Literal[1, "+"] = 1
    help: str = ""
    required: bool = False
    choices: tuple[str, ...] | None = None
    bounds: Bounds | None = None

    def __post_init__(self) -> None:
        # Spec mistakes are programming errors, not user errors: plain exceptions.
        if self.item_type not in _METAVARS:
            raise TypeError(f"--{self.name}: unsupported flag type {self.type!r}")
        if self.bounds is not None and self.item_type not in (int, float):
            raise TypeError(f"--{self.name}: bounds need an int or float flag")
        if self.nargs not in (1, "+"):
            raise ValueError(f"--{self.name}: nargs must be 1 or '+', got {self.nargs!r}")

    @property
    def is_list(self) -> bool:
        return self.nargs == "+" or typing.get_origin(self.type) is list

    @property
    def item_type(self) -> Any:
        if typing.get_origin(self.type) is list:
            return typing.get_args(self.type)[0]
        return self.type

    def usage(self) -> str:
        """``--name METAVAR`` (``METAVAR [METAVAR ...]`` for lists)."""
        metavar = _METAVARS[self.item_type]
        values = f"{metavar} [{metavar} ...]" if self.is_list else metavar
        return f"--{self.name} {values}"


_ARG_FILE = ArgFlag(
    ARG_FILE_FLAG,
    Path,
    help="read more flags from this file ('#' starts a comment); the command line wins",
)


@dataclass(frozen=True)
class ArgSpec:
    """The flags a command accepts. ``--arg_file`` is built in."""

    flags: Sequence[ArgFlag]
    prog: str = "mjmimic"
    description: str = ""
    _by_name: dict[str, ArgFlag] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, ArgFlag] = {}
        for flag in self.flags:
            if flag.name == ARG_FILE_FLAG:
                raise ValueError("--arg_file is reserved: every ArgSpec has it built in")
            if flag.name in by_name:
                raise ValueError(f"flag --{flag.name} is defined twice")
            by_name[flag.name] = flag
        object.__setattr__(self, "_by_name", by_name)

    def get(self, name: str) -> ArgFlag | None:
        return self._by_name.get(name)

    def format_help(self) -> str:
        """Usage line, description and one line per flag with its help and default."""
        lines = [f"usage: {self.prog} [--arg_file PATH] [--flag VALUE ...]"]
        if self.description:
            lines += ["", self.description]
        lines += ["", "flags (the command line overrides the arg file):"]
        for flag in (_ARG_FILE, *self.flags):
            lines += _help_lines(flag)
        return "\n".join(lines)


def _help_lines(flag: ArgFlag) -> list[str]:
    notes = []
    if flag.choices:
        notes.append(f"one of: {', '.join(flag.choices)}")
    if flag.bounds is not None:
        notes.append(str(flag.bounds))
    if flag.required:
        notes.append("required")
    elif flag.default is not None:
        notes.append(f"default: {_show_default(flag.default)}")
    text = flag.help + (f" ({'; '.join(notes)})" if notes else "")
    left = f"  {flag.usage()}"
    if len(left) + 2 > _HELP_COLUMN:
        return [left, " " * _HELP_COLUMN + text]
    return [left.ljust(_HELP_COLUMN) + text]


def _show_default(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # as MimicKit arg files spell it
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return str(value)


# ---------------------------------------------------------------------------------------
# Resolution


class ResolvedArgs:
    """Typed flag values by attribute (``args.num_envs``), with where each came from."""

    def __init__(
        self,
        values: dict[str, Any],
        origins: dict[str, str],
        ignored: dict[str, str] | None = None,
    ) -> None:
        self._values = values
        self._origins = origins
        # Flags of the other mode read from the arg file and ignored: name -> origin.
        self.ignored = dict(ignored or {})

    def __getattr__(self, name: str) -> Any:
        # Through __dict__: copy/pickle probe attributes before __init__ has run.
        values = self.__dict__.get("_values", {})
        if name not in values:
            raise AttributeError(f"no flag --{name}")
        return values[name]

    def origin(self, name: str) -> str:
        """``"command line"``, ``"args/x.txt:3"``, or ``"default"`` if no one set it."""
        if name not in self._values:
            raise KeyError(f"no flag --{name}")
        return self._origins.get(name, DEFAULT_ORIGIN)

    def given(self, name: str) -> bool:
        """Whether the flag was set (MimicKit's ``has_key``, e.g. for an optional seed)."""
        return self.origin(name) != DEFAULT_ORIGIN

    def as_dict(self) -> dict[str, Any]:
        """All flag values, defaults included; e.g. to record a run's settings."""
        return dict(self._values)

    def __repr__(self) -> str:
        return f"ResolvedArgs({self._values!r})"


def resolve_args(
    cli_tokens: Sequence[str], spec: ArgSpec, other: ArgSpec | None = None
) -> ResolvedArgs:
    """Parse the command line and its ``--arg_file``, then check and type every flag.

    ``other``: the spec of the other mode (test for train, train for test). One arg file
    serves both modes, as in MimicKit, so an arg-file flag only ``other`` knows is ignored
    (listed in ``ResolvedArgs.ignored``); on the command line it is an error saying whose
    flag it is.

    Raises:
        ConfigError: unknown flag (with a did-you-mean), malformed or missing value,
            missing required flag, or an arg file that is missing or itself names one.
    """
    given = parse_arg_tokens(cli_tokens, COMMAND_LINE)
    arg_file = _arg_file_path(given)
    if arg_file is not None:
        from_file = parse_arg_tokens(read_arg_file(arg_file), str(arg_file))
        if ARG_FILE_FLAG in from_file:
            raise ConfigError(
                f"{from_file[ARG_FILE_FLAG][1]}: --arg_file inside an arg file is not "
                "supported; merge the files or pass the flags on the command line"
            )
        for key, entry in from_file.items():
            given.setdefault(key, entry)  # the command line wins
    values: dict[str, Any] = {ARG_FILE_FLAG: arg_file}
    origins: dict[str, str] = {}
    ignored: dict[str, str] = {}
    for key, (raw, origin) in given.items():
        if key == ARG_FILE_FLAG:
            origins[key] = origin
        elif spec.get(key) is None and other is not None and other.get(key) is not None:
            if origin == COMMAND_LINE:
                raise ConfigError(
                    f"{origin}: --{key} is a flag of '{other.prog}', not of '{spec.prog}' "
                    "(in an --arg_file it is ignored, so one file serves both)"
                )
            ignored[key] = origin
        else:
            origins[key] = origin
            values[key] = _convert(_flag_for(key, origin, spec), raw, origin)
    for flag in spec.flags:
        if flag.name not in values:
            values[flag.name] = _default_for(flag)
    return ResolvedArgs(values, origins, ignored)


def _arg_file_path(given: ParsedArgs) -> Path | None:
    if ARG_FILE_FLAG not in given:
        return None
    values, origin = given[ARG_FILE_FLAG]
    if len(values) != 1:
        raise ConfigError(f"{origin}: --arg_file takes one file, got {len(values)} values")
    return Path(values[0])


def _flag_for(key: str, origin: str, spec: ArgSpec) -> ArgFlag:
    flag = spec.get(key)
    if flag is None:
        names = [ARG_FILE_FLAG, *(f.name for f in spec.flags)]
        close = difflib.get_close_matches(key, names, n=1)
        hint = f"did you mean --{close[0]}?" if close else "flags: --" + ", --".join(names)
        raise ConfigError(f"{origin}: unknown flag --{key} ({hint})")
    return flag


def _default_for(flag: ArgFlag) -> Any:
    if flag.required:
        meaning = f" ({flag.help})" if flag.help else ""
        raise ConfigError(
            f"missing required flag --{flag.name}{meaning}; "
            "give it on the command line or in the --arg_file"
        )
    return flag.default


def _convert(flag: ArgFlag, raw: list[str], origin: str) -> Any:
    if not raw:
        raise ConfigError(f"{origin}: --{flag.name} needs a value ({flag.usage()})")
    if not flag.is_list and len(raw) > 1:
        raise ConfigError(
            f"{origin}: --{flag.name} takes one value, got {len(raw)}: {' '.join(raw)}"
        )
    items = [_convert_one(flag, text, origin) for text in raw]
    return items if flag.is_list else items[0]


def _convert_one(flag: ArgFlag, text: str, origin: str) -> Any:
    shown = text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."
    prefix = f"{origin}: --{flag.name} value {shown!r}"
    if flag.choices is not None and text not in flag.choices:
        close = difflib.get_close_matches(text, flag.choices, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{prefix} is not one of: {', '.join(flag.choices)}{hint}")
    kind = flag.item_type
    if kind is bool:
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise ConfigError(f"{prefix} is not a bool (use true/false, True/False, 1/0 or T/F)")
    try:
        value = kind(text)
    except ValueError:
        article = "an" if kind is int else "a"
        raise ConfigError(f"{prefix} is not {article} {kind.__name__}") from None
    reason = out_of_bounds(value, flag.bounds) if kind in (int, float) else None
    if reason is not None:
        raise ConfigError(f"{prefix} is out of range: --{flag.name} {reason}")
    return value
