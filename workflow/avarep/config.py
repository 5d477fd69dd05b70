"""Validate the workflow's configuration against its JSON schema, naming the offending key."""

from __future__ import annotations

import math
import re
import shlex
from pathlib import Path

import jsonschema
import yaml

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    pass


#: A number as YAML 1.2 writes it. YAML 1.1 (PyYAML, Snakemake) reads 1e-3 as text because
#: it has no dot; a learning rate written so must still be a number.
_NUMBER = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def _yaml12_number(value):
    """1e-3 -> 0.001. Only text that YAML 1.1 itself leaves as text: a quoted "0.1" is text
    on purpose (YAML would have read 0.1 unquoted as a number) and stays text."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        if isinstance(yaml.safe_load(value), str):
            return float(value)
    return value


def _reparse(value):
    """Snakemake parses list items given with --config as plain strings; read them as YAML."""
    if isinstance(value, list):
        return [_reparse(v) for v in value]
    if isinstance(value, str):
        try:
            return _yaml12_number(yaml.safe_load(value))
        except yaml.YAMLError:
            return value
    return value


def coerce_command_line(config: dict, command_line: dict) -> dict:
    """Re-read the values that came from --config; values from config.yaml keep their types,
    except learning rates written as 1e-3 (text to YAML 1.1), which are numbers."""
    # Snakemake turns `key=` into None, which for data_dir would silently mean "download".
    empty = sorted(key for key, value in command_line.items() if value is None)
    if empty:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(
            f"config key '{key}': given empty on the command line ({key}=); give a value,"
            f" or {key}=null for the default" for key in empty))
    fixed = dict(config)
    if isinstance(fixed.get("learning_rates"), list):
        fixed["learning_rates"] = [_yaml12_number(v) for v in fixed["learning_rates"]]
    for key, value in command_line.items():
        if isinstance(value, (list, str)):
            fixed[key] = _reparse(value)
    return fixed


def _key(error: jsonschema.ValidationError) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return path.lstrip(".") or "(top level)"


def load_schema(schema_path: Path = SCHEMA) -> dict:
    """The schema, with the valid names of datasets, protocols and models filled in from
    their registries: a new entry there is valid here without touching the schema file."""
    from . import datasets, models, protocols

    schema = yaml.safe_load(Path(schema_path).read_text())
    properties = schema["properties"]
    properties["dataset"]["enum"] = list(datasets.frame_sets())
    properties["protocols"]["items"]["enum"] = list(protocols.names())
    properties["models"]["items"]["enum"] = list(models.names())
    return schema


def validate(config: dict, schema_path: Path = SCHEMA) -> dict:
    """Return the config with defaults filled; raise ConfigError naming every bad key."""
    schema = load_schema(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for error in errors:
            if error.validator == "additionalProperties":
                extra = sorted(set(config) - set(schema["properties"]))
                lines.append(f"unknown config key(s): {', '.join(extra)}")
            else:
                lines.append(f"config key '{_key(error)}': {error.message}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines))
    lines = [
        f"config key '{key}[{i}]': {value!r} is not a finite number"
        for key, values in config.items() if isinstance(values, list)
        for i, value in enumerate(values)
        if isinstance(value, float) and not math.isfinite(value)
    ]
    if lines:  # JSON Schema's bounds let NaN through: every comparison with it is false
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines))
    filled = dict(config)
    for key, spec in schema["properties"].items():
        if key not in filled and "default" in spec:
            filled[key] = spec["default"]
    return filled


def validate_keys(schema_path: Path = SCHEMA) -> list[str]:
    """Every configuration key the schema knows."""
    return list(yaml.safe_load(Path(schema_path).read_text())["properties"])


def _text(value) -> str:
    if isinstance(value, list):
        return "[" + ",".join(_text(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def command_line_text(config: dict, defaults_path: Path = SCHEMA.parents[2] / "config.yaml") -> str:
    """`--config key=value ...` for the keys that differ from config.yaml ('' if none)."""
    defaults = validate(yaml.safe_load(Path(defaults_path).read_text()))
    changed = [shlex.quote(f"{key}={_text(value)}") for key, value in config.items()
               if defaults.get(key) != value]
    return "--config " + " ".join(changed) if changed else ""
