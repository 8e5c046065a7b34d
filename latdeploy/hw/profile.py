"""Hardware profiles: one YAML file per chip, every number with its source.

Each value in a profile is written ``{value: ..., source: "..."}``. The schema (fields, types,
ranges, which may be null) is :mod:`latdeploy.hw.profile_schema`, pydantic models built from one
table; :func:`load_profile` validates a file against it and reports every problem at once, in one
line that names the file and, per problem, the field and its limit (an unknown key with the closest
known one). ``docs/profiles.md`` describes the fields; ``docs/profile.schema.json`` is the JSON
Schema.

A profile's ``kind`` is ``chip`` (sections ``arithmetic``, ``resources``,
``quantization`` and ``energy``: it can be quantized for and mapped onto) or ``energy-only`` (only
``energy``: a per-operation cost model such as 45 nm CMOS, for energy reports).

The schema module (and pydantic with it) is imported by :func:`load_profile` and
:meth:`Profile.to_document`, not with this module, which every command imports for
:data:`DEFAULT_PROFILE`: ``latdeploy --help`` stays light (docs/layout.md, "Deferred imports").

Profile files are untrusted: they are read through
:func:`latdeploy.untrusted.yaml_document.load_yaml` (size cap, no aliases), and the
name, description and sources must be printable text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from latdeploy.errors import ProfileError
from latdeploy.hw.arithmetic import Arithmetic, arithmetic_of
from latdeploy.untrusted.yaml_document import load_yaml

__all__ = [
    "DEFAULT_PROFILE",
    "PROFILE_DIR",
    "Profile",
    "chip_profiles",
    "load_profile",
    "resolve_profile_path",
    "shipped_profiles",
]

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"

DEFAULT_PROFILE = "loihi2"
"""The profile every command uses unless told otherwise."""
MAX_MESSAGE_CHARACTERS = 520
"""A refusal lists problems up to about this length, then says how many more there are."""


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
        from latdeploy.hw.profile_schema import SCHEMA, SECTIONS_OF_KIND

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


def _message(path: Path, clauses: list[str]) -> str:
    """One line: ``path: clause; clause; ... (and N more)``, cut to about :data:`MAX_MESSAGE_CHARACTERS`."""
    shown: list[str] = []
    length = len(str(path))
    for clause in clauses:
        if shown and length + len(clause) > MAX_MESSAGE_CHARACTERS:
            break
        shown.append(clause)
        length += len(clause) + 2
    rest = len(clauses) - len(shown)
    more = f" (and {rest} more problem{'s' if rest > 1 else ''})" if rest else ""
    count = f"{len(clauses)} problems: " if len(clauses) > 1 else ""
    return f"{path}: {count}{'; '.join(shown)}{more}"


def load_profile(name_or_path: str) -> Profile:
    """Load and validate a profile by shipped name or path.

    Returns:
        The :class:`Profile`.

    Raises:
        ProfileError: one line naming the file and every field that is missing, of the
            wrong type or out of range (:data:`latdeploy.hw.profile_schema.FIELDS`), without a
            source, or unknown (with a did-you-mean); for a document beyond the YAML limits or
            with aliases; for control characters in the name, description or a source.
    """
    from latdeploy.hw.profile_schema import SCHEMA, SECTIONS_OF_KIND, profile_errors

    path = resolve_profile_path(str(name_or_path))
    document = load_yaml(path)
    model, clauses = profile_errors(document)
    if model is None:
        raise ProfileError(_message(path, clauses))
    kind = document.get("kind", "chip")
    values: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, str]] = {}
    for section in SECTIONS_OF_KIND[kind]:
        block = getattr(model, section)
        values[section] = {name: getattr(block, name).value for name in SCHEMA[section]}
        sources[section] = {name: getattr(block, name).source for name in SCHEMA[section]}
    profile = Profile(document["name"], document["description"], kind, path, values, sources)
    if kind == "chip":
        arithmetic_of(profile)  # refuses an arithmetic the simulators do not implement, naming the field
    return profile
