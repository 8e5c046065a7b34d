"""The schema of a hardware profile file, as pydantic models built from one table of fields.

Every field of a profile is written ``{value: ..., source: "..."}``. :data:`FIELDS` lists, per
section, each field's value type and physically meaningful range (:class:`FieldSpec`); the models
(:data:`PROFILE_MODELS`, one per ``kind``), the published JSON Schema (:func:`json_schema`,
``docs/profile.schema.json``) and the error messages (:func:`profile_errors`) are derived from it.
Adding a field is one line in :data:`FIELDS` (and its value in every shipped profile).

A profile's ``kind`` is ``chip`` (sections ``arithmetic``, ``resources``, ``quantization`` and
``energy``) or ``energy-only`` (only ``energy``). :func:`profile_errors` validates a whole document
and returns every problem at once, one clause each, naming the field and the limit; unknown keys
are named with the closest known one (a did-you-mean).
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

KINDS = ("chip", "energy-only")
SIGN_MODES = ("mixed", "excitatory", "inhibitory")
THRESHOLD_COMPARISONS = ("greater", "greater_equal")
MAX_ENERGY_PER_OPERATION_J = 1e-3
"""The largest energy of one operation a profile may state (real chips: picojoules to nanojoules)."""
SHOWN_CHARACTERS = 40
"""A value quoted in an error message is cut to this many characters."""


@dataclass(frozen=True)
class FieldSpec:
    """One profile field: its value's type annotation (with range), what an error says it must be,
    whether ``value: null`` is allowed (no published figure; the source says so)."""

    annotation: Any
    expected: str
    nullable: bool = False
    description: str = ""


def _printable(text: str) -> str:
    """Return ``text`` if it holds no control or format character (ESC, NUL, bidi overrides).

    Raises:
        ValueError: naming the first such character.
    """
    for character in text:
        if not character.isprintable() and character not in "\n\t" and unicodedata.category(character) != "Zs":
            raise ValueError(
                f"holds the control or format character U+{ord(character):04X}; only printable text is allowed"
            )
    return text


def _non_blank(text: str) -> str:
    """Return ``text`` if it holds more than white space.

    Raises:
        ValueError: if it is blank.
    """
    if not text.strip():
        raise ValueError("must be a non-empty string")
    return text


Text = Annotated[str, Field(strict=True), AfterValidator(_non_blank), AfterValidator(_printable)]
"""A name, description or source: a non-empty string of printable characters."""


def integer(low: int, high: int, description: str = "") -> FieldSpec:
    """An integer field in ``low..high``."""
    return FieldSpec(Annotated[int, Field(strict=True, ge=low, le=high)], "an integer", description=description)


def number(low: float, high: float, description: str = "", nullable: bool = False) -> FieldSpec:
    """A finite number (integer or float) in ``low..high``; ``nullable``: ``null`` allowed."""
    value = Annotated[float, Field(strict=True, ge=low, le=high, allow_inf_nan=False)]
    return FieldSpec(value | None if nullable else value, "a number", nullable, description)


def flag(description: str = "") -> FieldSpec:
    """A ``true``/``false`` field."""
    return FieldSpec(Annotated[bool, Field(strict=True)], "true or false", description=description)


def choice(options: tuple[str, ...], description: str = "") -> FieldSpec:
    """One of ``options``."""
    return FieldSpec(Literal[options], f"one of {list(options)}", description=description)  # type: ignore[valid-type]


def choices(options: tuple[str, ...], description: str = "") -> FieldSpec:
    """A non-empty list of ``options``."""
    value = Annotated[list[Literal[options]], Field(min_length=1)]  # type: ignore[valid-type]
    return FieldSpec(value, f"a non-empty list of {list(options)}", description=description)


JOULES = (0.0, MAX_ENERGY_PER_OPERATION_J)
FIELDS: dict[str, dict[str, FieldSpec]] = {
    "arithmetic": {
        "weight_bits": integer(1, 8, "weight bits (Lava's clip_weights num_bits)"),
        "weight_exp_min": integer(-32, 32, "smallest weight exponent (weights scale by 2**exp)"),
        "weight_exp_max": integer(-32, 32, "largest weight exponent"),
        "sign_modes": choices(SIGN_MODES, "weight sign modes a synapse block supports"),
        "threshold_mantissa_bits": integer(1, 32, "threshold mantissa width in bits"),
        "threshold_shift": integer(0, 31, "the threshold is mantissa << shift"),
        "threshold_comparison": choice(THRESHOLD_COMPARISONS, "spike when v > threshold, or v >= threshold"),
        "activation_shift": integer(0, 31, "bias and activation shift in bits"),
        "decay_bits": integer(1, 31, "width of the current and voltage decays (du, dv) in bits"),
        "bias_mantissa_bits": integer(1, 32, "bias mantissa width in bits (sign included)"),
        "bias_exp_max": integer(0, 31, "largest bias exponent"),
        "state_bits": integer(1, 31, "width of the neuron state u and v in bits"),
        "u_state_bits": integer(1, 32, "u wraps at this many bits"),
        "v_state_bits": integer(1, 32, "v saturates at this many bits"),
        "graded_spike_bits": integer(0, 32, "payload bits of a graded spike (0: binary spikes only)"),
    },
    "resources": {
        "cores_per_chip": integer(1, 1 << 20, "neuro cores on one chip"),
        "neurons_per_core": integer(1, 1 << 24, "neurons one core holds"),
        "synaptic_memory_bytes_per_core": integer(0, 1 << 40, "synaptic memory of one core in bytes"),
        "fan_in_per_core": integer(1, 1 << 24, "input axons of one core"),
        "fan_out_per_core": integer(1, 1 << 24, "output axons of one core"),
        "max_axonal_delay": integer(0, 1 << 16, "longest axonal delay in time steps"),
        "conv_weight_sharing": flag("a convolution stores its kernel once per core"),
        "conv_population_axon_slots": integer(0, 1 << 10, "axon slots a convolution's population axon takes"),
    },
    "quantization": {
        "per_channel_scales": flag("one weight scale per output channel is exact on this chip"),
    },
    "energy": {
        "synaptic_op_j": number(*JOULES, "energy of one synaptic operation in joules", nullable=True),
        "neuron_update_active_j": number(
            *JOULES, "energy of one update of a neuron that received input, joules", nullable=True
        ),
        "neuron_update_idle_j": number(*JOULES, "energy of one update of an idle neuron, joules", nullable=True),
        "spike_j": number(*JOULES, "energy of one spike sent, joules", nullable=True),
        "static_power_w": number(0.0, 1e6, "static power in watts (null: not published, not charged)", True),
        "time_per_step_s": number(0.0, 1e3, "duration of a time step in seconds (null: not published)", True),
        "ann_mac_j": number(*JOULES, "energy of one multiply-accumulate of the ANN-equivalent baseline, joules"),
    },
}
"""Every field of every section: the one place to add a field (and its value to every shipped profile)."""

SECTIONS_OF_KIND = {"chip": ("arithmetic", "resources", "quantization", "energy"), "energy-only": ("energy",)}
NULLABLE = {(section, name) for section, fields in FIELDS.items() for name, spec in fields.items() if spec.nullable}
SCHEMA = {section: tuple(fields) for section, fields in FIELDS.items()}
"""The field names of each section, in file order."""

_FORBID = ConfigDict(extra="forbid", defer_build=True)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


def _entry_model(section: str, name: str, spec: FieldSpec) -> type[BaseModel]:
    """The ``{value, source}`` model of one field."""
    return create_model(
        f"{_camel(section)}{_camel(name)}",
        __config__=ConfigDict(extra="forbid", title=f"{section}.{name}", defer_build=True),
        value=(spec.annotation, Field(description=f"{spec.expected}; {spec.description}")),
        source=(Text, Field(description="where the value comes from (paper, data sheet, source file)")),
    )


SECTION_MODELS: dict[str, type[BaseModel]] = {
    section: create_model(
        _camel(section),
        __config__=_FORBID,
        **{name: (_entry_model(section, name, spec), ...) for name, spec in fields.items()},  # type: ignore[call-overload]
    )
    for section, fields in FIELDS.items()
}


def _profile_model(kind: str) -> type[BaseModel]:
    """The model of a whole profile of ``kind``."""
    default = "chip" if kind == "chip" else ...
    return create_model(  # type: ignore[call-overload]
        f"{_camel(kind)}Profile",
        __config__=ConfigDict(extra="forbid", title=f"latdeploy {kind} profile", defer_build=True),
        name=(Text, Field(description="the profile's name (the file name without .yaml for a shipped one)")),
        description=(Text, Field(description="one line shown by 'latdeploy profiles list'")),
        kind=(Literal[kind], Field(default, description="chip (default) or energy-only")),  # type: ignore[valid-type]
        **{section: (SECTION_MODELS[section], ...) for section in SECTIONS_OF_KIND[kind]},
    )


PROFILE_MODELS: dict[str, type[BaseModel]] = {kind: _profile_model(kind) for kind in KINDS}


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of a profile file: one of the kinds' models."""
    schema = TypeAdapter(PROFILE_MODELS["chip"] | PROFILE_MODELS["energy-only"]).json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "latdeploy hardware profile",
        "description": "A YAML hardware profile (docs/profiles.md); every value written {value: ..., source: ...}.",
        **schema,
    }


def _shown(value: Any) -> str:
    """``repr(value)``, a long one cut (``123456... (400 digits)`` for a long integer)."""
    text = repr(value)
    if len(text) <= SHOWN_CHARACTERS:
        return text
    if isinstance(value, int):
        return f"{text[:8]}... ({len(text)} digits)"
    return f"{text[:SHOWN_CHARACTERS]}..."


def _did_you_mean(key: object, known: list[str]) -> str:
    close = difflib.get_close_matches(str(key), known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _value_error(where: str, spec: FieldSpec, error: dict[str, Any]) -> str:
    """The clause for one error in a field's ``value``."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error["input"]
    if len(error["loc"]) > 3 or kind in ("too_short", "list_type"):  # inside a list field
        return f"{where} must be {spec.expected}"
    if value is None:
        allowed = sorted(name for _, name in NULLABLE)
        return f"{where} must have a value (null is allowed only for {allowed})"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{where} must be >= {ctx.get('ge', ctx.get('gt'))}, got {_shown(value)}"
    if kind in ("less_than_equal", "less_than"):
        return f"{where} must be <= {ctx.get('le', ctx.get('lt'))}, got {_shown(value)}"
    if kind == "finite_number":
        return f"{where} must be a finite number, got {_shown(value)}"
    return f"{where} must be {spec.expected}, got {_shown(value)}"


def _clause(error: dict[str, Any], kind: str) -> str:
    """The message clause of one pydantic error (no file name: the caller prefixes it)."""
    loc, kind_of_error = error["loc"], error["type"]
    if not loc:
        return "a profile must be a YAML mapping"
    head = str(loc[0])
    if len(loc) == 1:
        if kind_of_error == "extra_forbidden":
            known = ["name", "description", "kind", *SECTIONS_OF_KIND[kind]]
            return f"unknown top-level field {head!r} for {'an' if kind == 'energy-only' else 'a'} {kind} profile" + (
                _did_you_mean(head, known)
            )
        if head in ("name", "description") and kind_of_error == "missing":
            return f"field '{head}' is missing"
        if head in ("name", "description"):
            return f"field '{head}' must be a non-empty string of printable text" + (
                f" ({error['ctx']['error']})" if kind_of_error == "value_error" else ""
            )
        if head == "kind":
            return f"field 'kind' must be one of {list(KINDS)}, got {_shown(error['input'])}"
        if kind_of_error == "missing":
            return f"section '{head}' is missing"
        return f"section '{head}' must be a mapping of fields, got {_shown(error['input'])}"
    section, name = head, str(loc[1])
    where = f"field '{section}.{name}'"
    spec = FIELDS.get(section, {}).get(name)
    if spec is None or kind_of_error == "extra_forbidden" and len(loc) == 2:
        return f"unknown field(s) [{name!r}] in section '{section}'" + _did_you_mean(name, list(FIELDS[section]))
    if len(loc) == 2:
        if kind_of_error == "missing":
            return f"{where} is missing"
        return f"{where} must be written as {{value: ..., source: ...}}, got {_shown(error['input'])}"
    part = loc[2]
    if kind_of_error == "extra_forbidden":
        return f"{where} has unknown key {str(part)!r}; only 'value' and 'source'" + _did_you_mean(
            part, ["value", "source"]
        )
    if part == "source":
        if kind_of_error == "value_error" and "control" in str(error.get("ctx", {}).get("error")):
            return f"{where}: 'source' {error['ctx']['error']}"
        return f"{where} has no 'source' (a non-empty string saying where the value comes from)"
    if kind_of_error == "missing":
        return f"{where} is missing its 'value'"
    return _value_error(where, spec, error)


def _consistency(document: dict[str, Any]) -> list[str]:
    """Clauses for fields that are valid alone but not together (weight exponent range)."""
    arithmetic = document.get("arithmetic")
    if not isinstance(arithmetic, dict):
        return []
    low, high = (arithmetic.get(name) for name in ("weight_exp_min", "weight_exp_max"))
    if not (isinstance(low, dict) and isinstance(high, dict)):
        return []
    low, high = low.get("value"), high.get("value")
    numbers = all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high))
    if numbers and low > high:
        return [f"field 'arithmetic.weight_exp_min' ({low}) exceeds 'arithmetic.weight_exp_max' ({high})"]
    return []


def profile_errors(document: Any) -> tuple[BaseModel | None, list[str]]:
    """Validate a profile document (the parsed YAML).

    Returns:
        ``(model, [])`` for a valid document; ``(None, clauses)`` otherwise, one clause per problem
        (each naming the field and its limit), every problem of the document at once.
    """
    if not isinstance(document, dict):
        return None, ["a profile must be a YAML mapping"]
    kind = document.get("kind", "chip")
    clauses: list[str] = []
    if kind not in KINDS:
        clauses.append(f"field 'kind' must be one of {list(KINDS)}, got {_shown(kind)}")
        document = {key: value for key, value in document.items() if key != "kind"}
        kind = "chip"
    model = None
    try:
        model = PROFILE_MODELS[kind].model_validate(document)
    except ValidationError as error:
        grouped: dict[str, list[str]] = {}
        unknown, other = [], []
        for entry in error.errors(include_url=False):
            clause = _clause(dict(entry), kind)
            if clause.startswith("unknown field(s) ["):  # one clause per section, every unknown key in it
                section = clause.rsplit("in section ", 1)[1].split("'")[1]
                grouped.setdefault(section, []).append(str(entry["loc"][1]))
            elif clause not in other + unknown:
                (unknown if entry["type"] == "extra_forbidden" else other).append(clause)
        for section, names in grouped.items():
            hints = "".join(_did_you_mean(name, list(FIELDS[section])) for name in names)
            unknown.append(f"unknown field(s) {sorted(names)} in section '{section}'{hints}")
        clauses += unknown + other  # a misspelt key first: it explains the field reported missing
    clauses += _consistency(document)
    return (None if clauses else model), clauses
