"""Typed configs built from plain dataclasses, with validation, help text and provenance.

Every config is a ``@dataclass`` whose fields carry their documentation::

    discount: float = field(
        default=0.99,
        metadata={"help": "reward discount", "range": "0.9-0.99", "bounds": PROBABILITY},
    )

``range`` is advice (what usually works, shown by ``mjmimic explain``); ``bounds``
(``mjmimic.config.bounds``) is the hard limit, checked on load with an error naming the
key, the value and the range. Every float, bounded or not, must be finite.

``load_config`` turns a dict (usually from ``load_yaml``) into such a dataclass, checking
every key and value and naming the file, line and dotted key in each error. It also keeps,
per loaded config, where every value came from (``get_origin``), so a run can report which
file line, command-line flag or default produced a setting.

Key paths use dots for mapping keys and ``[i]`` for list items: ``model.layers[0].units``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import math
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

from mjmimic.config.bounds import out_of_bounds
from mjmimic.errors import ConfigError

T = TypeVar("T")

DEFAULT_ORIGIN = "default"

# Stored with object.__setattr__ rather than as a field, so configs stay plain dataclasses
# (equality, repr and asdict ignore it) and frozen dataclasses work too.
_ORIGINS_ATTR = "_mjmimic_origins"

# Strings accepted for bools: YAML already turns unquoted true/false/yes/no into bools, so
# these only matter for quoted values and command-line overrides.
_BOOL_STRINGS = {"true": True, "True": True, "1": True, "false": False, "False": False, "0": False}

_MAX_VALUE_CHARS = 60

# A config dataclass may map keys it no longer has to what replaced them, as a class
# attribute ``RENAMED_KEYS: ClassVar[dict[str, str]] = {"old": "use new: value"}``; an old
# key is then an error with that hint instead of a did-you-mean.
RENAMED_KEYS_ATTR = "RENAMED_KEYS"


@dataclass(frozen=True)
class FieldInfo:
    """Documentation of one config key, for ``mjmimic explain``."""

    path: str
    """Dotted key path; ``<key>`` stands for any key of a dict, ``[i]`` for any list item."""
    type: str
    """Readable type, e.g. ``float | None`` or ``'pos' | 'torque'``."""
    default: Any
    """Default as a plain (YAML-able) value; None for required keys."""
    help: str
    range: str | None
    """Typical values (advice)."""
    required: bool
    allowed: str | None = None
    """The values the loader accepts (``bounds`` metadata), e.g. ``>= 1``."""


class _Mismatch(ConfigError):
    """A value of the wrong type; ``path`` lets a union report its best-matching member."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


# ---------------------------------------------------------------------------------------
# Loading


def load_config(
    cls: type[T],
    data: Mapping[str, Any],
    source: str,
    origins: Mapping[str, str] | None = None,
    *,
    section: str = "",
) -> T:
    """Build dataclass ``cls`` from ``data``, validating and coercing every value.

    Args:
        cls: the config dataclass.
        data: key → value, as loaded from YAML; missing keys take the field defaults.
        source: where ``data`` came from (a file name), used in error messages.
        origins: key path → origin (``"configs/x.yaml:14"``, ``"command line"``) for the
            keys in ``data``; what ``get_origin`` later reports. Keys without one are
            reported as coming from ``source``.
        section: name prefixed to key paths in messages (``agent`` → ``agent.discount``).

    Each built dataclass (nested ones included) that defines a ``validate()`` callable
    without arguments gets it called after construction; it may raise ConfigError, whose
    message is then prefixed with the file (and line) of that section.

    Raises:
        ConfigError: an unknown or missing key, a value of the wrong type, or a failed
            ``validate()`` hook.
    """
    loader = _Loader(source, dict(origins or {}), section)
    try:
        cfg = loader.build(cls, data, "")
    except _Mismatch as e:
        raise ConfigError(str(e)) from None  # callers see the public type only
    loader.store_origins()
    return cfg


class _Loader:
    """State of one ``load_config`` call: where values came from and what was built."""

    def __init__(self, source: str, origins: dict[str, str], section: str) -> None:
        self.source = source
        self.origins = origins
        self.section = section
        self.built: list[tuple[str, Any]] = []

    # -- messages

    def where(self, path: str) -> str:
        """The file:line of ``path`` (or of its nearest ancestor), else the source."""
        for candidate in _self_and_ancestors(path):
            origin = self.origins.get(candidate)
            if origin is not None and origin != DEFAULT_ORIGIN:
                return origin
        return self.source

    def shown(self, path: str) -> str:
        """``path`` as the user sees it, with the section prefix."""
        return _join(self.section, path) if path else self.section

    def mismatch(self, path: str, value: Any, expected: str) -> _Mismatch:
        if value is None:
            detail = f"{self.shown(path)} has no value; give {expected}"
        else:
            detail = f"{self.shown(path)} = {_short_repr(value)} is not {expected}"
        return _Mismatch(f"{self.where(path)}: {detail}", path)

    # -- dataclasses

    def build(self, cls: type[T], data: Any, path: str) -> T:
        if not isinstance(data, Mapping):
            raise self.mismatch(path, data, "a mapping of keys")
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        self.check_keys(data, fields, path, getattr(cls, RENAMED_KEYS_ATTR, {}))
        self.check_required(data, fields, path)
        hints = _type_hints(cls)
        kwargs = {}
        for name in fields:
            key_path = _join(path, name)
            given = name in data
            self.origins.setdefault(key_path, self.source if given else DEFAULT_ORIGIN)
            if given:
                value = self.coerce(data[name], hints[name], key_path)
                self.check_bounds(value, fields[name], key_path)
                kwargs[name] = value
        cfg = cls(**kwargs)
        self.run_validate(cfg, path)
        self.built.append((path, cfg))
        return cfg

    def check_keys(
        self,
        data: Mapping[Any, Any],
        fields: Mapping[str, Any],
        path: str,
        renamed: Mapping[str, str],
    ) -> None:
        for key in data:
            if key in fields:
                continue
            key_path = _join(path, str(key))
            if key in renamed:
                raise ConfigError(
                    f"{self.where(key_path)}: {self.shown(key_path)} was renamed: {renamed[key]}"
                )
            scope = f" in {self.shown(path)}" if self.shown(path) else ""
            raise ConfigError(
                f"{self.where(key_path)}: unknown key {str(key)!r}{scope} "
                f"({_suggest(str(key), list(fields))})"
            )

    def check_bounds(self, value: Any, f: dataclasses.Field[Any], path: str) -> None:
        reason = out_of_bounds(value, f.metadata.get("bounds"))
        if reason is not None:
            raise ConfigError(
                f"{self.where(path)}: {self.shown(path)} = {_short_repr(value)} is out of "
                f"range: it {reason}"
            )

    def check_required(
        self, data: Mapping[Any, Any], fields: Mapping[str, dataclasses.Field[Any]], path: str
    ) -> None:
        missing = [f for name, f in fields.items() if name not in data and _is_required(f)]
        if not missing:
            return
        if len(missing) == 1:
            (f,) = missing
            meaning = f" ({f.metadata['help']})" if f.metadata.get("help") else ""
            shown = self.shown(_join(path, f.name))
            detail = f"missing required key {shown!r}{meaning}; add '{f.name}: ...'"
        else:
            # All at once: a new config file often lacks several, and one run per key is slow.
            names = ", ".join(repr(self.shown(_join(path, f.name))) for f in missing)
            detail = f"missing required keys {names}; add them"
        raise ConfigError(f"{self.where(path)}: {detail}")

    def run_validate(self, cfg: Any, path: str) -> None:
        validate = getattr(cfg, "validate", None)
        if not callable(validate) or not _takes_no_arguments(validate):
            # A hook that needs arguments (say, a key prefix) is its parent's to call.
            return
        try:
            validate()
        except ConfigError as e:
            # Hooks know the bad values but not the file; prefix it once.
            where = self.where(path)
            message = str(e)
            if not message.startswith(where):
                raise ConfigError(f"{where}: {message}") from e
            raise

    def store_origins(self) -> None:
        """Attach to each built dataclass the origins of its own keys (paths made relative)."""
        for prefix, cfg in self.built:
            if not prefix:
                own = dict(self.origins)
            else:
                own = {
                    k[len(prefix) + 1 :]: v
                    for k, v in self.origins.items()
                    if k.startswith(prefix + ".")
                }
            object.__setattr__(cfg, _ORIGINS_ATTR, own)

    # -- values

    def coerce(self, value: Any, tp: Any, path: str) -> Any:
        """``value`` converted to annotation ``tp``, or a ConfigError naming ``path``."""
        tp = _normalize(tp)
        origin = typing.get_origin(tp)
        if tp is Any:
            return value
        if dataclasses.is_dataclass(tp):
            return self.build(tp, value, path)
        if origin is Literal:
            return self.coerce_literal(value, typing.get_args(tp), path)
        if origin in (Union, types.UnionType):
            return self.coerce_union(value, tp, path)
        if origin is list:
            return self.coerce_list(value, tp, path)
        if origin is tuple:
            return self.coerce_tuple(value, tp, path)
        if origin is dict:
            return self.coerce_dict(value, tp, path)
        scalar = _SCALARS.get(tp)
        if scalar is None:
            raise TypeError(f"unsupported config annotation {tp!r} at {path!r}")
        result = scalar(value)
        if result is _INVALID:
            raise self.mismatch(path, value, _expected(tp))
        if tp is float and not math.isfinite(result):
            # No setting means anything with NaN or infinity; it would only fail later.
            raise self.mismatch(path, value, "a finite number")
        return result

    def coerce_literal(self, value: Any, choices: tuple[Any, ...], path: str) -> Any:
        # Compare types too: True == 1 and 1.0 == 1, but neither is a valid 1.
        if any(type(value) is type(c) and value == c for c in choices):
            return value
        raise self.mismatch(path, value, f"one of {', '.join(repr(c) for c in choices)}")

    def coerce_union(self, value: Any, tp: Any, path: str) -> Any:
        members = typing.get_args(tp)
        if value is None and type(None) in members:
            return None
        failures: list[_Mismatch] = []
        for member in members:
            if member is type(None):
                continue
            try:
                return self.coerce(value, member, path)
            except _Mismatch as e:
                failures.append(e)
        # A member that failed below this path had the right shape (say, a dict with one bad
        # entry), and the only member of an Optional is the only candidate: their messages
        # are more useful than "is not one of: a, b".
        for e in failures:
            if e.path != path or len(failures) == 1:
                raise e
        raise self.mismatch(path, value, _expected(tp))

    def coerce_list(self, value: Any, tp: Any, path: str) -> list[Any]:
        if not isinstance(value, (list, tuple)):
            raise self.mismatch(path, value, _expected(tp))
        (item_tp,) = typing.get_args(tp)
        return [self.coerce(v, item_tp, f"{path}[{i}]") for i, v in enumerate(value)]

    def coerce_tuple(self, value: Any, tp: Any, path: str) -> tuple[Any, ...]:
        if not isinstance(value, (list, tuple)):
            raise self.mismatch(path, value, _expected(tp))
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            args = (args[0],) * len(value)
        elif len(args) != len(value):
            raise self.mismatch(path, value, f"a list of {len(args)} items ({_expected(tp)})")
        items = enumerate(zip(value, args, strict=True))
        return tuple(self.coerce(v, a, f"{path}[{i}]") for i, (v, a) in items)

    def coerce_dict(self, value: Any, tp: Any, path: str) -> dict[Any, Any]:
        if not isinstance(value, Mapping):
            raise self.mismatch(path, value, _expected(tp))
        key_tp, value_tp = typing.get_args(tp)
        return {
            self.coerce(k, key_tp, path): self.coerce(v, value_tp, _join(path, str(k)))
            for k, v in value.items()
        }


# ---------------------------------------------------------------------------------------
# Scalars: each returns the converted value or _INVALID.

_INVALID = object()


def _to_int(value: Any) -> Any:
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        try:
            return int(value)  # exact, where going through float would round big counts
        except ValueError:  # Unicode digits such as '²', or past Python's 4300 digits
            return _INVALID
    number = _to_float(value)
    # 1e6 (a string in YAML) and 4096.0 are fine for a count; 2.5 is not.
    if number is _INVALID or not float(number).is_integer():
        return _INVALID
    return int(number)


def _to_float(value: Any) -> Any:
    if isinstance(value, bool):
        return _INVALID
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an int past float's range: infinite, refused as such
            return math.inf
    if isinstance(value, str):
        # PyYAML (YAML 1.1) loads 2e-4 as a string; MimicKit configs are full of these.
        try:
            return float(value.strip())
        except ValueError:
            return _INVALID
    return _INVALID


def _to_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        return _BOOL_STRINGS.get(value.strip(), _INVALID)
    return _INVALID


def _to_str(value: Any) -> Any:
    # No silent str(3.10) == "3.1": a number where text is expected must be quoted.
    return value if isinstance(value, str) else _INVALID


def _to_path(value: Any) -> Any:
    return Path(value) if isinstance(value, (str, Path)) else _INVALID


_SCALARS = {int: _to_int, float: _to_float, bool: _to_bool, str: _to_str, Path: _to_path}


# ---------------------------------------------------------------------------------------
# Types


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    # get_type_hints resolves string annotations (``from __future__ import annotations``).
    return typing.get_type_hints(cls)


def _normalize(tp: Any) -> Any:
    """Bare ``list``/``tuple``/``dict`` and ``Optional`` spelled any way, as subscripted forms."""
    bare = {list: list[Any], tuple: tuple[Any, ...], dict: dict[str, Any]}
    return bare.get(tp, tp)


def _type_name(tp: Any) -> str:
    """A readable spelling of annotation ``tp``: ``list[float] | None``, ``'pos' | 'torque'``."""
    tp = _normalize(tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is type(None):
        return "None"
    if tp is Any:
        return "any"
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return f"tuple[{_type_name(args[0])}, ...]"
    if origin is not None:
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    return getattr(tp, "__name__", repr(tp))


def _expected(tp: Any) -> str:
    """``tp`` as the object of "is not ...": "a float", "an int", "list[float] | None"."""
    name = _type_name(tp)
    if typing.get_origin(_normalize(tp)) in (Union, types.UnionType):
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        return "one of: " + ", ".join(_type_name(a) for a in members)
    hints = {bool: " (use true or false)", str: " (put it in quotes)"}
    article = "an" if name[0] in "aeiou" else "a"
    return f"{article} {name}{hints.get(tp, '')}"


def _takes_no_arguments(function: Any) -> bool:
    try:
        inspect.signature(function).bind()
    except TypeError:
        return False
    return True


def _is_required(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


# ---------------------------------------------------------------------------------------
# Provenance


def get_origin(cfg: Any, path: str) -> str:
    """Where the value at ``path`` in ``cfg`` came from.

    Returns the origin recorded by ``load_config`` (``"configs/envs/x.yaml:14"``,
    ``"command line"``), or ``"default"`` for values that no file or flag set (and for
    configs built in code). Items of a list or dict set as a whole share its origin.

    Raises:
        KeyError: ``path`` does not name a value in ``cfg``.
    """
    _check_path(cfg, path)
    recorded: Mapping[str, str] = getattr(cfg, _ORIGINS_ATTR, {})
    for candidate in _self_and_ancestors(path):
        if candidate in recorded:
            return recorded[candidate]
    return DEFAULT_ORIGIN


def set_origin(cfg: Any, path: str, origin: str) -> None:
    """Record that the value at ``path`` in ``cfg`` came from ``origin``: for values a step
    after loading fills in (a robot profile's gains); ``get_origin`` then reports it.

    Raises:
        KeyError: ``path`` does not name a value in ``cfg``.
    """
    _check_path(cfg, path)
    recorded = dict(getattr(cfg, _ORIGINS_ATTR, {}))
    recorded[path] = origin
    object.__setattr__(cfg, _ORIGINS_ATTR, recorded)


def _check_path(cfg: Any, path: str) -> None:
    """KeyError unless ``path`` names a value in ``cfg`` (else the caller has a typo)."""
    value = cfg
    for part in _split(path):
        try:
            if dataclasses.is_dataclass(value) and isinstance(part, str):
                if part not in {f.name for f in dataclasses.fields(value)}:
                    raise KeyError(part)
                value = getattr(value, part)
            else:
                value = value[part]
        except (KeyError, IndexError, TypeError) as e:
            raise KeyError(f"{path!r} is not a key of {type(cfg).__name__}") from e


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _split(path: str) -> list[str | int]:
    """``"a.b[2].c"`` → ``["a", "b", 2, "c"]``."""
    return [int(index) if index else name for name, index in _PATH_PART.findall(path)]


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _self_and_ancestors(path: str) -> list[str]:
    """``"a.b[1]"`` → ``["a.b[1]", "a.b", "a"]``."""
    paths = []
    while path:
        paths.append(path)
        path = path[: max(path.rfind("."), path.rfind("["), 0)]
    return paths


# ---------------------------------------------------------------------------------------
# Export and documentation


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """``cfg`` as a plain dict of YAML-safe values (lists, dicts, str, numbers, bools, None).

    ``load_config(type(cfg), config_to_dict(cfg), ...)`` rebuilds an equal config.
    """
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise TypeError(f"config_to_dict expects a dataclass instance, got {type(cfg).__name__}")
    return _to_plain(cfg)


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        # yaml.safe_dump cannot write tuples.
        return [_to_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def describe_fields(cls: type) -> list[FieldInfo]:
    """Every key of config dataclass ``cls``, nested sections included, in declaration order.

    A section (a dataclass-typed field) is listed before its own keys; keys of dataclasses
    inside dicts and lists appear as ``joint_gains.<key>.kp`` and ``layers[i].units``.
    """
    return _describe(cls, "")


def _describe(cls: type, prefix: str) -> list[FieldInfo]:
    hints = _type_hints(cls)
    infos = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        path = _join(prefix, f.name)
        required = _is_required(f)
        infos.append(
            FieldInfo(
                path=path,
                type=_type_name(hints[f.name]),
                default=None if required else _to_plain(_default(f)),
                help=f.metadata.get("help", ""),
                range=f.metadata.get("range"),
                required=required,
                allowed=str(f.metadata["bounds"]) if "bounds" in f.metadata else None,
            )
        )
        nested = _nested_dataclass(hints[f.name])
        if nested is not None:
            suffix, nested_cls = nested
            infos += _describe(nested_cls, path + suffix)
    return infos


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def _nested_dataclass(tp: Any) -> tuple[str, type] | None:
    """The dataclass inside annotation ``tp`` and the path suffix leading to its keys."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return "", tp
    if origin in (Union, types.UnionType):
        found = [n for n in map(_nested_dataclass, args) if n is not None]
        return found[0] if found else None
    if origin is dict:
        inner = _nested_dataclass(args[1])
        return (".<key>" + inner[0], inner[1]) if inner else None
    if origin in (list, tuple):
        inner = _nested_dataclass(args[0])
        return ("[i]" + inner[0], inner[1]) if inner else None
    return None


# ---------------------------------------------------------------------------------------
# Helpers


def _suggest(key: str, valid: list[str]) -> str:
    """A did-you-mean hint for a close match, else the list of valid keys."""
    close = difflib.get_close_matches(key, valid, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return "valid keys: " + ", ".join(valid) if valid else "this section takes no keys"


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."
