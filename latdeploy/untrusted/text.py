"""Names from files, made safe for a terminal or an HTML page.

Profile names, node names and dataset ids come from files a user may not have
written. :func:`printable` replaces every character that could move the cursor,
recolour a terminal, hide or reorder text (C0/C1 controls, ``ESC`` sequences, DEL,
bidirectional overrides and isolates, other invisible format characters) by its
``\\uXXXX`` escape, so what is shown is what the file holds.
"""

from __future__ import annotations

import unicodedata

KEPT = frozenset("\n\t")
"""Control characters :func:`printable` keeps when ``keep_lines`` is true."""


def _escape(character: str) -> str:
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: object, keep_lines: bool = True) -> str:
    """Return ``str(text)`` with control, format and separator characters escaped.

    Unicode categories ``Cc`` (controls, ESC included), ``Cf`` (format: bidi overrides
    such as U+202E, zero-width characters), ``Cs``/``Co``/``Cn`` (surrogates, private
    use, unassigned) and ``Zl``/``Zp`` (line and paragraph separators) become
    ``\\xNN``/``\\uNNNN``; newline and tab are kept when ``keep_lines`` (multi-line
    summaries), escaped otherwise.

    Returns:
        The escaped text (equal to ``str(text)`` when it held nothing to escape).
    """
    value = str(text)
    if value.isprintable():
        return value
    out = []
    for character in value:
        if character.isprintable() or character == " " or (keep_lines and character in KEPT):
            out.append(character)
        elif unicodedata.category(character) in ("Zs",):
            out.append(character)
        else:
            out.append(_escape(character))
    return "".join(out)
