"""Write a bundle directory atomically: everything goes to a temporary sibling
directory, which then replaces ``out`` in one rename. Nothing half-written is
ever left at ``out``."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def dump_json(data: Any) -> str:
    """Return deterministic JSON text (sorted keys, two-space indent, trailing newline)."""
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_bundle(out: Path, writers: dict[str, Callable[[Path], Any]]) -> Path:
    """Create ``out`` with one file per ``writers`` entry (``name -> writer(path)``).

    Returns:
        ``out``. An existing ``out`` is replaced only after every file was written.

    Raises:
        Whatever a writer raises; the temporary directory is removed first.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        for name, writer in writers.items():
            writer(staging / name)
        os.chmod(staging, 0o755)
        if out.exists():
            retired = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".old"))
            os.replace(out, retired / out.name)
            os.replace(staging, out)
            shutil.rmtree(retired)
        else:
            os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return out
