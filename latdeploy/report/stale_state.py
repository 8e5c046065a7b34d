"""State a dead latdeploy run left behind, and its removal by the next run.

A run names what it leaves on disk while it works (temporary bundle directories, Lava's
shared-memory segments and multiprocessing directories) with its process id. A run killed with
SIGKILL cannot remove them; the next run that writes to the same place calls
:func:`remove_stale`, which removes each such entry whose owner process is gone. An owner that
is alive, or whose liveness cannot be told, keeps its entries.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """Return True unless no process with id ``pid`` exists (a process of another user counts as alive)."""
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def remove_stale(directory: Path, pattern: re.Pattern[str]) -> list[Path]:
    """Remove every entry of ``directory`` whose name matches ``pattern`` (a regex with a group
    ``pid``) and whose owner process is gone.

    Returns:
        The paths removed (an entry that vanished meanwhile or cannot be removed is skipped).
    """
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = pattern.fullmatch(name)
        if match is None or pid_alive(int(match.group("pid"))):
            continue
        path = Path(directory) / name
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:
            continue
        removed.append(path)
    return removed
