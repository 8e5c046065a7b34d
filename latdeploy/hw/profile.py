"""Hardware profiles: one YAML file per chip, every number with its source.

Each number in a profile is written ``{value: ..., source: "..."}``; the loader
checks every field of :data:`SCHEMA` and says which field is wrong.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from latdeploy.errors import ProfileError

PROFILE_DIR = Path(__file__).resolve().parents[2] / "hw_profiles"

SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "arithmetic": {
        "weight_bits": int,
        "weight_exp_min": int,
        "weight_exp_max": int,
        "threshold_mantissa_bits": int,
        "threshold_shift": int,
        "activation_shift": int,
        "decay_bits": int,
        "bias_mantissa_bits": int,
        "bias_exp_max": int,
        "state_bits": int,
    },
    "resources": {
        "cores_per_chip": int,
        "neurons_per_core": int,
        "synaptic_memory_bytes_per_core": int,
        "fan_in_per_core": int,
        "fan_out_per_core": int,
    },
    "energy": {
        "synaptic_op_j": (int, float),
        "neuron_update_active_j": (int, float),
        "neuron_update_idle_j": (int, float),
        "spike_j": (int, float),
        "ann_mac_j": (int, float),
    },
}


@dataclass(frozen=True)
class Profile:
    """A loaded profile: ``values[section][field]`` numbers and their ``sources``."""

    name: str
    description: str
    path: Path
    values: dict[str, dict[str, Any]]
    sources: dict[str, dict[str, str]]

    def __getitem__(self, key: str) -> Any:
        """Return the number of ``"section.field"``."""
        section, name = key.split(".", 1)
        return self.values[section][name]


def resolve_profile_path(name_or_path: str) -> Path:
    """Return the file of a shipped profile name (``loihi2``) or of a path.

    Raises:
        ProfileError: if neither a shipped profile nor a file of that name exists.
    """
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        if candidate.is_file():
            return candidate
        raise ProfileError(f"{name_or_path}: no such profile file")
    shipped = PROFILE_DIR / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    known = sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))
    raise ProfileError(f"unknown hardware profile {name_or_path!r}; shipped profiles: {known}")


def load_profile(name_or_path: str) -> Profile:
    """Load and validate a profile by shipped name or path.

    Raises:
        ProfileError: naming the file and field that is missing, of the wrong
            type, negative, or without a source.
    """
    path = resolve_profile_path(name_or_path)
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ProfileError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from error
    if not isinstance(document, dict):
        raise ProfileError(f"{path}: a profile must be a YAML mapping")
    for key in ("name", "description"):
        if not isinstance(document.get(key), str):
            raise ProfileError(f"{path}: field '{key}' must be a string")
    values: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, str]] = {}
    for section, fields in SCHEMA.items():
        block = document.get(section)
        if not isinstance(block, dict):
            raise ProfileError(f"{path}: section '{section}' is missing")
        values[section], sources[section] = {}, {}
        for name, kind in fields.items():
            entry = block.get(name)
            where = f"{path}: field '{section}.{name}'"
            if not isinstance(entry, dict) or "value" not in entry:
                raise ProfileError(f"{where} is missing (write it as {{value: ..., source: ...}})")
            value, source = entry["value"], entry.get("source")
            if isinstance(value, bool) or not isinstance(value, kind):
                raise ProfileError(f"{where} must be {getattr(kind, '__name__', 'a number')}, got {value!r}")
            if not isinstance(source, str) or not source.strip():
                raise ProfileError(f"{where} has no 'source'")
            if value < 0 and not name.startswith("weight_exp"):
                raise ProfileError(f"{where} must be >= 0, got {value}")
            values[section][name], sources[section][name] = value, source
        unknown = set(block) - set(fields)
        if unknown:
            raise ProfileError(f"{path}: unknown field(s) {sorted(unknown)} in section '{section}'")
    return Profile(document["name"], document["description"], path, values, sources)
