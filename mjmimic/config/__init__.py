"""Typed configs from dataclasses, YAML with line numbers, MimicKit-style flags.

- ``load_yaml`` reads a YAML file and the line of every key;
- ``load_config`` builds a config dataclass from it, validating every key and value;
- ``get_origin`` says where a loaded value came from (file:line, command line, default);
  ``set_origin`` records it for a value filled in after loading;
- ``resolve_args`` reads MimicKit command lines and arg files against an ``ArgSpec``.
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
    "COMMAND_LINE",
    "DEFAULT_ORIGIN",
    "ArgFlag",
    "ArgSpec",
    "ArgToken",
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
