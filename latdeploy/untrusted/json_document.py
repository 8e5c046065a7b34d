"""JSON from untrusted files with a size and a nesting-depth limit.

``json.loads`` recurses once per nesting level: a document nested 100,000 deep raises
``RecursionError``. :func:`load_json` measures the depth on the text first (outside
strings) and refuses beyond :data:`MAX_DEPTH`; :func:`check_nesting` does the same
for an already-decoded value (e.g. a checkpoint's metadata dict), without recursion.
"""

from __future__ import annotations

import json
import re
from typing import Any

from latdeploy.errors import ModelFormatError

MAX_BYTES = 1 << 20
"""The largest JSON metadata document latdeploy reads (1 MiB; shipped models' metadata is < 4 KB)."""
MAX_DEPTH = 32
"""The deepest nesting of lists and dicts in metadata (shipped models' metadata nests 4 deep)."""

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def text_depth(text: str) -> int:
    """Return the deepest nesting of ``[``/``{`` in the JSON ``text``, brackets inside strings left out."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def load_json(text: str | bytes, where: str, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """Decode the JSON document ``text`` read from ``where`` (a file and field, for messages).

    Returns:
        The decoded value.

    Raises:
        ModelFormatError: if ``text`` is longer than ``max_bytes``, nests deeper than
            ``max_depth``, is not UTF-8 or not valid JSON; one line naming ``where``.
    """
    if len(text) > max_bytes:
        raise ModelFormatError(f"{where}: JSON of {len(text)} bytes, more than the limit of {max_bytes}")
    if isinstance(text, bytes):
        try:
            text = text.decode()
        except UnicodeDecodeError as error:
            raise ModelFormatError(f"{where}: JSON is not UTF-8 ({error.reason} at byte {error.start})") from error
    depth = text_depth(text)
    if depth > max_depth:
        raise ModelFormatError(f"{where}: JSON nests {depth} levels deep, more than the limit of {max_depth}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise ModelFormatError(f"{where}: not valid JSON ({reason})") from error


def check_nesting(value: Any, where: str, max_depth: int = MAX_DEPTH, max_items: int = 1 << 20) -> None:
    """Check that the decoded ``value`` nests lists/tuples/dicts at most ``max_depth`` deep and holds
    at most ``max_items`` containers and items in all.

    Walks the value with an explicit stack (no recursion) and stops at the first level
    beyond the limit, so a value nested a million deep costs ``max_depth`` steps.

    Raises:
        ModelFormatError: naming ``where``, the depth or item count and the limit.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    items = 0
    while stack:
        current, depth = stack.pop()
        if not isinstance(current, (dict, list, tuple)):
            continue
        children = list(current.values()) if isinstance(current, dict) else current
        if depth >= max_depth:
            raise ModelFormatError(f"{where} nests deeper than the limit of {max_depth} levels")
        items += len(children)
        if items > max_items:
            raise ModelFormatError(f"{where} holds more than the limit of {max_items} items")
        stack.extend((child, depth + 1) for child in children)
