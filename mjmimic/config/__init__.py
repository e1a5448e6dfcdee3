"""Typed configs from dataclasses, YAML with line numbers, MimicKit-style flags.

- ``load_yaml`` reads a YAML file and the line of every key;
- ``load_config`` builds a config dataclass from it, validating every key and value;
- ``get_origin`` says where a loaded value came from (file:line, command line, default);
  ``set_origin`` records it for a value filled in after loading;
- ``resolve_args`` reads MimicKit command lines and arg files against an ``ArgSpec``;
- ``Bounds`` (``AT_LEAST_ONE``, ``POSITIVE``...) is the allowed range of a numeric flag
  (``ArgFlag.bounds``) or config key (field metadata ``"bounds"``).
"""

from mjmimic.config.args import (
    COMMAND_LINE,
    ArgFlag,
    ArgSpec,
    ArgToken,
    ResolvedArgs,
    parse_arg_tokens,
    read_arg_file,
    resolve_args,
)
from mjmimic.config.bounds import (
    AT_LEAST_ONE,
    NON_NEGATIVE,
    POSITIVE,
    PROBABILITY,
    Bounds,
)
from mjmimic.config.schema import (
    DEFAULT_ORIGIN,
    FieldInfo,
    config_to_dict,
    describe_fields,
    get_origin,
    load_config,
    set_origin,
)
from mjmimic.config.yaml_source import load_yaml

__all__ = [
    "AT_LEAST_ONE",
    "COMMAND_LINE",
    "DEFAULT_ORIGIN",
    "NON_NEGATIVE",
    "POSITIVE",
    "PROBABILITY",
    "ArgFlag",
    "ArgSpec",
    "ArgToken",
    "Bounds",
    "FieldInfo",
    "ResolvedArgs",
    "config_to_dict",
    "describe_fields",
    "get_origin",
    "load_config",
    "load_yaml",
    "parse_arg_tokens",
    "read_arg_file",
    "resolve_args",
    "set_origin",
]
