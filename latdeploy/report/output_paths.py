"""Where latdeploy may write: the rules that keep every file of the user's intact.

Every command that writes checks its output paths with :func:`check_directory_output` (a bundle,
a sweep directory) or :func:`check_file_output` (one ``.npy``/``.npz``/``.json``/``.html`` or
model file) before any work starts:

* a **directory output** is written only where nothing exists, into an empty directory, or over
  a directory latdeploy wrote (recognised by its manifest: ``manifest.json`` naming every file
  in it, or ``sweep.json`` beside ``pareto.svg``), which is then replaced atomically. Anything
  else is refused: a directory holding other files, the current directory (``.``, ``''``) or one
  above it, a symbolic link, a regular file (``force`` lets a bundle replace a regular file that
  is not an input);
* a **file output** is written where nothing exists, or over a file whose content only latdeploy
  writes (:data:`FILE_KINDS`: a ``map`` mapping JSON, a ``verify --html`` report); ``force`` lets it
  replace any other regular file. NumPy arrays and model files carry nothing that tells
  latdeploy's apart from the user's own, so an existing one is replaced only with ``force``;
* never, not even with ``force``: an input of the command itself, a directory that holds one
  (the model's own directory), or a directory in place of a file output.

The place is probed as well: the first existing directory on the way must be a directory in
which a file can be created, and every name must fit the file system's name length; a failure
there is the same one-line :class:`~latdeploy.errors.OutputPathError` as a failure while
writing (:func:`writing`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from latdeploy.errors import OutputPathError

MANIFEST_BYTES = 1 << 20
"""The largest manifest read to recognise a latdeploy directory (bundle manifests are ~2 KB)."""
TEMPORARY_NAME_OVERHEAD = 32
"""Characters a temporary sibling adds to an output's name (``.NAME.PID.RANDOM.tmp``)."""
NAME_MAX = 255
"""The longest file name (bytes) of Linux file systems (ext4, xfs, tmpfs, btrfs)."""


def _json_object(path: Path) -> dict[str, Any] | None:
    """Return the JSON object in ``path`` (at most :data:`MANIFEST_BYTES`), or None if it is none."""
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MANIFEST_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _bundle_files(directory: Path) -> set[str] | None:
    """Return the files an export bundle's ``manifest.json`` declares (itself included), or None."""
    manifest = _json_object(directory / "manifest.json")
    if manifest is None or "latdeploy" not in manifest or not isinstance(manifest.get("files"), list):
        return None
    if not all(isinstance(name, str) for name in manifest["files"]):
        return None
    return {"manifest.json", *manifest["files"]}


def _sweep_files(directory: Path) -> set[str] | None:
    """Return the files of a ``latdeploy sweep`` directory whose ``sweep.json`` it is, or None."""
    result = _json_object(directory / "sweep.json")
    if result is None or not {"settings", "pareto"} <= result.keys():
        return None
    return {"sweep.json", "pareto.svg"}


DIRECTORY_MANIFESTS: tuple[Callable[[Path], set[str] | None], ...] = (_bundle_files, _sweep_files)
"""Readers of the manifests that mark a directory as latdeploy's: each returns the files it may hold."""


def is_latdeploy_directory(directory: Path) -> bool:
    """Return True if ``directory`` is a bundle or sweep directory latdeploy wrote: a manifest
    names it, and it holds only regular files the manifest allows."""
    try:
        entries = list(directory.iterdir())
    except OSError:
        return False
    for manifest_files in DIRECTORY_MANIFESTS:
        allowed = manifest_files(directory)
        if allowed is not None:
            return all(entry.name in allowed and entry.is_file() and not entry.is_symlink() for entry in entries)
    return False


def _starts_with(path: Path, prefix: bytes) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(prefix)) == prefix


def _is_mapping_json(path: Path) -> bool:
    mapping = _json_object(path)
    return mapping is not None and {"profile", "total_cores", "layers", "cores"} <= mapping.keys()


def _is_report_html(path: Path) -> bool:
    return _starts_with(path, b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>latdeploy ')


FILE_KINDS: dict[str, Callable[[Path], bool]] = {
    "mapping": _is_mapping_json,
    "html": _is_report_html,
}
"""The file outputs latdeploy may replace without ``force``, each with the recogniser of its own
content (``map -o`` a mapping JSON, ``verify --html`` a latdeploy report). Other kinds (``run -o``
``.npy``, ``run --all-layers`` ``.npz``, ``finetune -o`` model file) look like the user's own
files, so an existing one needs ``force``."""


def _resolved(path: Path) -> Path:
    return Path(os.path.abspath(path)).resolve()


def _contains(directory: Path, path: Path) -> bool:
    return directory == path or directory in path.parents


def _check_inputs(out: Path, inputs: Iterable[Path], flag: str) -> None:
    """Refuse ``out`` if it is an input or a directory that holds one."""
    target = _resolved(out)
    for source in inputs:
        if _contains(target, _resolved(source)):
            relation = "is" if target == _resolved(source) else "holds"
            raise OutputPathError(
                f"{out}: {flag} {relation} the input {source}; latdeploy never writes over what it reads "
                f"(not even with --force): choose another {flag}"
            )


def _nearest_existing(out: Path) -> Path:
    """Return the nearest existing path above ``out`` (made absolute)."""
    existing = Path(os.path.abspath(out)).parent
    while not os.path.lexists(existing):
        existing = existing.parent
    return existing


def _check_names(out: Path) -> None:
    """Check that every name in ``out`` (with a temporary sibling's additions) fits the file system.

    Raises:
        OutputPathError: naming the part that is too long and the limit.
    """
    absolute = Path(os.path.abspath(out))
    for part in absolute.parts:
        size = len(os.fsencode(part))
        if size + TEMPORARY_NAME_OVERHEAD > NAME_MAX:
            raise OutputPathError(
                f"{out}: File name too long (a name of {size} bytes; an output's names may have "
                f"{NAME_MAX - TEMPORARY_NAME_OVERHEAD})"
            )


def _probe(out: Path) -> None:
    """Check that a file can be created at ``out``'s place: the nearest existing path above it
    is a directory in which a file can be created (and removed again).

    Raises:
        OutputPathError: naming ``out`` and the reason.
        OSError: from the probe (:func:`writing` turns it into an OutputPathError).
    """
    existing = _nearest_existing(out)
    if not existing.is_dir():
        raise OutputPathError(f"{out}: {existing} is not a directory")
    descriptor, probe = tempfile.mkstemp(dir=existing, prefix=f".latdeploy-probe.{os.getpid()}.")
    os.close(descriptor)
    os.unlink(probe)


def check_directory_output(out: Path, inputs: Iterable[Path] = (), force: bool = False, flag: str = "-o") -> Path:
    """Check that a bundle or sweep directory may be written at ``out`` (module docstring: the rules).

    ``inputs`` are the files the command reads; ``force`` lets the directory replace a regular
    file that is not an input; ``flag`` names the option in messages.

    Returns:
        ``out``.

    Raises:
        OutputPathError: one line saying why ``out`` is refused or cannot be written.
    """
    out = Path(out)
    with writing(out):
        _check_names(out)
        _check_inputs(out, inputs, flag)
        target, here = _resolved(out), Path.cwd().resolve()
        if _contains(target, here):
            raise OutputPathError(f"{out}: {flag} is the current directory or holds it; name a new directory")
        if out.is_symlink():
            raise OutputPathError(f"{out}: {flag} is a symbolic link; name a new directory")
        if out.is_dir():
            if any(out.iterdir()) and not is_latdeploy_directory(out):
                raise OutputPathError(
                    f"{out}: {flag} is a directory that holds files latdeploy did not write (no bundle manifest "
                    "naming them); latdeploy replaces only its own bundles: name a new directory"
                )
        elif out.exists():
            if not force:
                raise OutputPathError(
                    f"{out}: {flag} is an existing file, not a latdeploy bundle; name a new directory "
                    "(or pass --force to replace the file)"
                )
            if not out.is_file():
                raise OutputPathError(f"{out}: {flag} is not a regular file or directory; name a new directory")
        _probe(out)
    return out


def check_file_output(out: Path, kind: str, inputs: Iterable[Path] = (), force: bool = False, flag: str = "-o") -> Path:
    """Check that a single file of ``kind`` (``"npy"``, ``"npz"``, ``"model"`` or a key of :data:`FILE_KINDS`)
    may be written at ``out``.

    Returns:
        ``out``.

    Raises:
        OutputPathError: one line saying why ``out`` is refused or cannot be written.
    """
    out = Path(out)
    with writing(out):
        _check_names(out)
        _check_inputs(out, inputs, flag)
        if out.is_dir() and not out.is_symlink():
            raise OutputPathError(f"{out}: {flag} is a directory; name a file")
        if out.is_symlink() or out.exists():
            if not out.is_symlink() and not out.is_file():
                raise OutputPathError(f"{out}: {flag} is not a regular file (a device, pipe or socket); name a file")
            try:
                ours = not out.is_symlink() and kind in FILE_KINDS and FILE_KINDS[kind](out)
            except OSError:
                ours = False
            if not ours and not force:
                raise OutputPathError(
                    f"{out}: {flag} is an existing file latdeploy did not write or cannot tell it wrote (an existing "
                    f"{kind} file is replaced only with --force); name a new file (or pass --force to replace it)"
                )
        _probe(out)
    return out


def check_free_space(out: Path, needed_bytes: int) -> None:
    """Check that the file system of ``out``'s nearest existing directory has ``needed_bytes`` free.

    Raises:
        OutputPathError: with both figures, if it has not.
    """
    existing = _nearest_existing(out)
    free = shutil.disk_usage(existing).free
    if needed_bytes > free:
        raise OutputPathError(
            f"{out}: no space left on device ({needed_bytes / 2**20:.1f} MiB needed, {free / 2**20:.1f} MiB free)"
        )


@contextlib.contextmanager
def writing(out: Path) -> Iterator[None]:
    """Context manager: turn an :class:`OSError` raised while writing ``out`` into a user error.

    Raises:
        OutputPathError: ``<out>: <reason>`` (e.g. "No space left on device"), from the OSError.
    """
    try:
        yield
    except OSError as error:
        reason = error.strerror or " ".join(str(error).split())
        raise OutputPathError(f"{out}: {reason}") from error
