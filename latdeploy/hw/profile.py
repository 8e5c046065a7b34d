"""Hardware profiles: one YAML file per chip, every number with its source.

Each value in a profile is written ``{value: ..., source: "..."}``; the loader
checks every field of :data:`SCHEMA` and says which file and field is wrong.

A profile's ``kind`` is ``chip`` (sections ``arithmetic``, ``resources``,
``quantization`` and ``energy``: it can be quantized for and mapped onto) or ``energy-only`` (only
``energy``: a per-operation cost model such as 45 nm CMOS, for energy reports).
Fields marked *nullable* in :data:`NULLABLE` may hold ``value: null`` when no
figure is published; their ``source`` must then say so.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from latdeploy.errors import ProfileError
from latdeploy.hw.arithmetic import Arithmetic, arithmetic_of

PROFILE_DIR = Path(__file__).resolve().parents[2] / "hw_profiles"

DEFAULT_PROFILE = "loihi2"
"""The profile every command uses unless told otherwise."""
KINDS = ("chip", "energy-only")
SIGN_MODES = ("mixed", "excitatory", "inhibitory")
THRESHOLD_COMPARISONS = ("greater", "greater_equal")
NUMBER = (int, float)

SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "arithmetic": {
        "weight_bits": int,
        "weight_exp_min": int,
        "weight_exp_max": int,
        "sign_modes": list,
        "threshold_mantissa_bits": int,
        "threshold_shift": int,
        "threshold_comparison": str,
        "activation_shift": int,
        "decay_bits": int,
        "bias_mantissa_bits": int,
        "bias_exp_max": int,
        "state_bits": int,
        "u_state_bits": int,
        "v_state_bits": int,
        "graded_spike_bits": int,
    },
    "resources": {
        "cores_per_chip": int,
        "neurons_per_core": int,
        "synaptic_memory_bytes_per_core": int,
        "fan_in_per_core": int,
        "fan_out_per_core": int,
        "max_axonal_delay": int,
        "conv_weight_sharing": bool,
        "conv_population_axon_slots": int,
    },
    "quantization": {
        "per_channel_scales": bool,
    },
    "energy": {
        "synaptic_op_j": NUMBER,
        "neuron_update_active_j": NUMBER,
        "neuron_update_idle_j": NUMBER,
        "spike_j": NUMBER,
        "static_power_w": NUMBER,
        "time_per_step_s": NUMBER,
        "ann_mac_j": NUMBER,
    },
}

NULLABLE = {("energy", "static_power_w"), ("energy", "time_per_step_s")}
SECTIONS_OF_KIND = {"chip": ("arithmetic", "resources", "quantization", "energy"), "energy-only": ("energy",)}
MAY_BE_NEGATIVE = {"weight_exp_min", "weight_exp_max"}


@dataclass(frozen=True)
class Profile:
    """A loaded profile: ``values[section][field]`` and their ``sources``.

    An energy-only profile has only the ``energy`` section.
    """

    name: str
    description: str
    kind: str
    path: Path
    values: dict[str, dict[str, Any]]
    sources: dict[str, dict[str, str]]

    def __getitem__(self, key: str) -> Any:
        """Return the value of ``"section.field"``.

        Raises:
            ProfileError: if this profile has no such section (an energy-only
                profile asked for arithmetic or resources) or field.
        """
        section, name = key.split(".", 1)
        if section not in self.values:
            raise ProfileError(
                f"profile {self.name!r} ({self.path.name}) is {self.kind}: it has no '{key}'; "
                f"quantize and map with a chip profile ({', '.join(chip_profiles())})"
            )
        if name not in self.values[section]:
            raise ProfileError(f"profile {self.name!r}: no field '{key}'")
        return self.values[section][name]

    @property
    def arithmetic(self) -> Arithmetic:
        """The chip arithmetic this profile describes (:func:`latdeploy.hw.arithmetic.arithmetic_of`).

        Raises:
            ProfileError: for an energy-only profile.
        """
        return arithmetic_of(self)

    def to_document(self) -> dict[str, Any]:
        """Return the profile as the YAML document :func:`load_profile` reads back."""
        document: dict[str, Any] = {"name": self.name, "description": self.description, "kind": self.kind}
        for section in SECTIONS_OF_KIND[self.kind]:
            document[section] = {
                name: {"value": self.values[section][name], "source": self.sources[section][name]}
                for name in SCHEMA[section]
            }
        return document

    def to_yaml(self) -> str:
        """Return the profile as YAML text that ``--profile PATH`` accepts."""
        return yaml.safe_dump(self.to_document(), sort_keys=False, allow_unicode=True, width=1000)


def shipped_profiles() -> list[str]:
    """Return the names of the shipped profiles (``hw_profiles/*.yaml``), sorted."""
    return sorted(path.stem for path in PROFILE_DIR.glob("*.yaml"))


def chip_profiles() -> list[str]:
    """Return the names of the shipped profiles of kind ``chip``."""
    return [name for name in shipped_profiles() if load_profile(name).kind == "chip"]


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
    raise ProfileError(f"unknown hardware profile {name_or_path!r}; shipped profiles: {shipped_profiles()}")


def _check_value(where: str, section: str, name: str, value: Any) -> None:
    kind = SCHEMA[section][name]
    if value is None:
        if (section, name) not in NULLABLE:
            raise ProfileError(f"{where} must have a value (null is allowed only for {sorted(n for _, n in NULLABLE)})")
        return
    if kind is bool:
        if not isinstance(value, bool):
            raise ProfileError(f"{where} must be true or false, got {value!r}")
        return
    if isinstance(value, bool) or not isinstance(value, kind):
        expected = {int: "an integer", str: "a string", list: "a list"}.get(kind, "a number")  # type: ignore[arg-type]
        raise ProfileError(f"{where} must be {expected}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ProfileError(f"{where} must be a finite number, got {value}")
    if name == "sign_modes":
        if not value or any(mode not in SIGN_MODES for mode in value):
            raise ProfileError(f"{where} must be a non-empty list of {list(SIGN_MODES)}, got {value!r}")
    elif name == "threshold_comparison":
        if value not in THRESHOLD_COMPARISONS:
            raise ProfileError(f"{where} must be one of {list(THRESHOLD_COMPARISONS)}, got {value!r}")
    elif value < 0 and name not in MAY_BE_NEGATIVE:
        raise ProfileError(f"{where} must be >= 0, got {value}")


def _check_consistency(path: Path, values: dict[str, dict[str, Any]]) -> None:
    arithmetic, resources = values.get("arithmetic"), values.get("resources")
    if arithmetic is not None:
        if arithmetic["weight_exp_min"] > arithmetic["weight_exp_max"]:
            raise ProfileError(
                f"{path}: field 'arithmetic.weight_exp_min' ({arithmetic['weight_exp_min']}) exceeds "
                f"'arithmetic.weight_exp_max' ({arithmetic['weight_exp_max']})"
            )
        if not 1 <= arithmetic["weight_bits"] <= 8:
            bits = arithmetic["weight_bits"]
            raise ProfileError(f"{path}: field 'arithmetic.weight_bits' must lie in 1..8, got {bits}")
        if not 1 <= arithmetic["state_bits"] <= 31:
            bits = arithmetic["state_bits"]
            raise ProfileError(f"{path}: field 'arithmetic.state_bits' must lie in 1..31, got {bits}")
    if resources is not None:
        for name in ("cores_per_chip", "neurons_per_core", "fan_in_per_core", "fan_out_per_core"):
            if resources[name] < 1:
                raise ProfileError(f"{path}: field 'resources.{name}' must be >= 1, got {resources[name]}")


def load_profile(name_or_path: str) -> Profile:
    """Load and validate a profile by shipped name or path.

    Returns:
        The :class:`Profile`.

    Raises:
        ProfileError: naming the file and field that is missing, of the wrong
            type or range, without a source, or unknown.
    """
    path = resolve_profile_path(str(name_or_path))
    try:
        document = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, RecursionError, ValueError) as error:  # ValueError: e.g. a date 2001-13-45
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ProfileError(f"{path}: not valid YAML ({first_line})") from error
    except (OSError, UnicodeDecodeError) as error:
        raise ProfileError(f"{path}: cannot be read ({error})") from error
    if not isinstance(document, dict):
        raise ProfileError(f"{path}: a profile must be a YAML mapping")
    for key in ("name", "description"):
        if not isinstance(document.get(key), str) or not document[key].strip():
            raise ProfileError(f"{path}: field '{key}' must be a non-empty string")
    kind = document.get("kind", "chip")
    if kind not in KINDS:
        raise ProfileError(f"{path}: field 'kind' must be one of {list(KINDS)}, got {kind!r}")
    required = SECTIONS_OF_KIND[kind]
    unknown_top = set(document) - {"name", "description", "kind", *required}
    if unknown_top:
        raise ProfileError(f"{path}: unknown top-level field(s) {sorted(unknown_top)} for a {kind} profile")
    values: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, str]] = {}
    for section in required:
        fields = SCHEMA[section]
        block = document.get(section)
        if not isinstance(block, dict):
            raise ProfileError(f"{path}: section '{section}' is missing")
        values[section], sources[section] = {}, {}
        for name in fields:
            entry = block.get(name)
            where = f"{path}: field '{section}.{name}'"
            if not isinstance(entry, dict) or "value" not in entry:
                raise ProfileError(f"{where} is missing (write it as {{value: ..., source: ...}})")
            extra = set(entry) - {"value", "source"}
            if extra:
                raise ProfileError(f"{where} has unknown key(s) {sorted(extra)}; only 'value' and 'source'")
            value, source = entry["value"], entry.get("source")
            _check_value(where, section, name, value)
            if not isinstance(source, str) or not source.strip():
                raise ProfileError(f"{where} has no 'source'")
            values[section][name] = list(value) if isinstance(value, list) else value
            sources[section][name] = source
        unknown = set(block) - set(fields)
        if unknown:
            raise ProfileError(f"{path}: unknown field(s) {sorted(unknown)} in section '{section}'")
    _check_consistency(path, values)
    profile = Profile(document["name"], document["description"], kind, path, values, sources)
    if kind == "chip":
        arithmetic_of(profile)  # refuses an arithmetic the simulators do not implement, naming the field
    return profile
