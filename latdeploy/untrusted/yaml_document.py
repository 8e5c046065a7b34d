"""YAML from untrusted files: a size cap and no aliases.

PyYAML's ``safe_load`` never runs code, but it expands aliases: a "billion laughs"
document of a few hundred bytes (nine anchors, each a list of nine aliases to the
previous one) grows to gigabytes. :class:`NoAliasLoader` refuses any alias (``*name``)
as soon as it is parsed, so nothing is expanded; a document longer than
:data:`MAX_BYTES` is refused before it is parsed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from latdeploy.errors import ProfileError

MAX_BYTES = 256 * 1024
"""The largest YAML document latdeploy reads (shipped profiles are < 8 KB)."""


class AliasRefused(yaml.YAMLError):
    """A YAML document uses an alias (``*name``), which latdeploy does not expand."""


class NoAliasLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that raises :class:`AliasRefused` at the first alias instead of expanding it."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose the next node; raises :class:`AliasRefused` if it is an alias."""
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise AliasRefused(f"alias *{event.anchor} at line {event.start_mark.line + 1} (aliases are not allowed)")
        return super().compose_node(parent, index)


def load_yaml(path: Path, max_bytes: int = MAX_BYTES) -> Any:
    """Read and parse the YAML file ``path`` without expanding aliases.

    Returns:
        The document (plain dicts, lists and scalars, as ``yaml.safe_load`` returns them).

    Raises:
        ProfileError: if the file cannot be read, is larger than ``max_bytes``, uses an
            alias, or is not valid YAML; one line naming the file.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise ProfileError(f"{path}: cannot be read ({error.strerror or error})") from error
    if len(data) > max_bytes:
        raise ProfileError(f"{path}: the document is larger than the limit of {max_bytes} bytes")
    try:
        text = data.decode()
    except UnicodeDecodeError as error:
        raise ProfileError(f"{path}: cannot be read (not UTF-8: {error.reason} at byte {error.start})") from error
    try:
        return yaml.load(text, Loader=NoAliasLoader)  # noqa: S506 (a SafeLoader subclass)
    except AliasRefused as error:
        raise ProfileError(f"{path}: {error}; latdeploy does not expand YAML aliases, write the value out") from error
    except (yaml.YAMLError, RecursionError, ValueError) as error:  # ValueError: e.g. a date 2001-13-45
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ProfileError(f"{path}: not valid YAML ({first_line})") from error
