"""Hardware profiles: one YAML file per chip, every number with its source.

Each value in a profile is written ``{value: ..., source: "..."}``; the loader
checks every field of :data:`SCHEMA` and says which file and field is wrong.

A profile's ``kind`` is ``chip`` (sections ``arithmetic``, ``resources``,
``quantization`` and ``energy``: it can be quantized for and mapped onto) or ``energy-only`` (only
``energy``: a per-operation cost model such as 45 nm CMOS, for energy reports).
Fields marked *nullable* in :data:`NULLABLE` may hold ``value: null`` when no
figure is published; their ``source`` must then say so. Every number must lie in its
physically meaningful range (:data:`RANGES`), checked before anything uses it.

Profile files are untrusted: they are read through
:func:`latdeploy.untrusted.yaml_document.load_yaml` (size cap, no aliases), and the
name, description and sources must be printable text.
"""

from __future__ import annotations

import math
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from latdeploy.errors import ProfileError
from latdeploy.hw.arithmetic import Arithmetic, arithmetic_of
from latdeploy.untrusted.yaml_document import load_yaml

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"

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

NULLABLE = {
    ("energy", "static_power_w"),
    ("energy", "time_per_step_s"),
    ("energy", "synaptic_op_j"),
    ("energy", "neuron_update_active_j"),
    ("energy", "neuron_update_idle_j"),
    ("energy", "spike_j"),
}
"""Fields a profile may leave null with the reason in its source (a per-operation energy counts as 0 J then)."""
SECTIONS_OF_KIND = {"chip": ("arithmetic", "resources", "quantization", "energy"), "energy-only": ("energy",)}
MAX_ENERGY_PER_OPERATION_J = 1e-3
"""The largest energy of one operation a profile may state (real chips: picojoules to nanojoules)."""
RANGES: dict[str, tuple[float, float]] = {
    "weight_bits": (1, 32),
    "weight_exp_min": (-32, 32),
    "weight_exp_max": (-32, 32),
    "threshold_mantissa_bits": (1, 32),
    "threshold_shift": (0, 31),
    "activation_shift": (0, 31),
    "decay_bits": (1, 31),
    "bias_mantissa_bits": (1, 32),
    "bias_exp_max": (0, 31),
    "state_bits": (1, 32),
    "u_state_bits": (1, 32),
    "v_state_bits": (1, 32),
    "graded_spike_bits": (0, 32),
    "cores_per_chip": (1, 1 << 20),
    "neurons_per_core": (1, 1 << 24),
    "synaptic_memory_bytes_per_core": (0, 1 << 40),
    "fan_in_per_core": (1, 1 << 24),
    "fan_out_per_core": (1, 1 << 24),
    "max_axonal_delay": (0, 1 << 16),
    "conv_population_axon_slots": (0, 1 << 10),
    "synaptic_op_j": (0.0, MAX_ENERGY_PER_OPERATION_J),
    "neuron_update_active_j": (0.0, MAX_ENERGY_PER_OPERATION_J),
    "neuron_update_idle_j": (0.0, MAX_ENERGY_PER_OPERATION_J),
    "spike_j": (0.0, MAX_ENERGY_PER_OPERATION_J),
    "ann_mac_j": (0.0, MAX_ENERGY_PER_OPERATION_J),
    "static_power_w": (0.0, 1e6),
    "time_per_step_s": (0.0, 1e3),
}
"""The physically meaningful range of every numeric field (widths in bits, counts, joules, watts, seconds)."""


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
    """Return the names of the shipped profiles (``latdeploy/hw/profiles/*.yaml``, package data;
    ``hw_profiles/`` in a checkout links there), sorted."""
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
    else:
        low, high = RANGES[name]
        if value < low:
            raise ProfileError(f"{where} must be >= {0 if value < 0 <= low else low}, got {_number(value)}")
        if value > high:
            raise ProfileError(f"{where} must be <= {high}, got {_number(value)}")


def _number(value: float) -> str:
    """Return ``value`` as text, a number of more than 20 digits shortened (``123456...(400 digits)``)."""
    text = str(value)
    return text if len(text) <= 20 else f"{text[:8]}... ({len(text)} digits)"


def _check_text(where: str, value: str) -> None:
    """Raise ProfileError if ``value`` holds a control or format character (ESC, NUL, bidi overrides)."""
    for character in value:
        if not character.isprintable() and character not in "\n\t" and unicodedata.category(character) != "Zs":
            raise ProfileError(
                f"{where} holds the control or format character U+{ord(character):04X}; only printable text is allowed"
            )


def _check_consistency(path: Path, values: dict[str, dict[str, Any]]) -> None:
    arithmetic = values.get("arithmetic")
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


def load_profile(name_or_path: str) -> Profile:
    """Load and validate a profile by shipped name or path.

    Returns:
        The :class:`Profile`.

    Raises:
        ProfileError: naming the file and field that is missing, of the wrong
            type or range (:data:`RANGES`), without a source, or unknown; for a
            document beyond the YAML limits or with aliases; for control characters
            in the name, description or a source.
    """
    path = resolve_profile_path(str(name_or_path))
    document = load_yaml(path)
    if not isinstance(document, dict):
        raise ProfileError(f"{path}: a profile must be a YAML mapping")
    for key in ("name", "description"):
        if not isinstance(document.get(key), str) or not document[key].strip():
            raise ProfileError(f"{path}: field '{key}' must be a non-empty string")
        _check_text(f"{path}: field '{key}'", document[key])
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
            _check_text(f"{where}: 'source'", source)
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
