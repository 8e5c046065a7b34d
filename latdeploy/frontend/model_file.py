"""Open any model file latdeploy reads: checkpoint, bundle, ``.onnx``, ``.net`` or ``.nir``.

:func:`detect_format` names the format from the path; :func:`load_graph` returns
the float or the integer graph of the file (quantizing a checkpoint for the
profile when the integer graph is asked for).

Each format's reader is imported where that format is read (docs/layout.md, "Deferred imports"):
a checkpoint needs torch and the quantizer, an ``.onnx`` file or a bundle onnx, a ``.nir`` file nir and
h5py, a ``.net`` file h5py; so ``latdeploy inspect`` of a ``.net`` file imports no torch.
"""

from __future__ import annotations

import os
from pathlib import Path

from latdeploy.errors import ModelFormatError
from latdeploy.hw.profile import DEFAULT_PROFILE, load_profile
from latdeploy.ir import Graph
from latdeploy.ir.describe import is_integer_graph

FORMATS = ("checkpoint", "bundle", "onnx", "netx", "nir")


def detect_format(path: str | os.PathLike[str]) -> str:
    """Return the format of ``path``: one of :data:`FORMATS`.

    Raises:
        ModelFormatError: if the path does not exist or its kind is unknown.
    """
    path = Path(path)
    if path.is_dir():
        if (path / "graph.onnx").is_file() or (path / "graph.int.onnx").is_file():
            return "bundle"
        raise ModelFormatError(f"{path}: a directory but not a latdeploy bundle (no graph.onnx or graph.int.onnx)")
    if not path.is_file():
        raise ModelFormatError(f"{path}: no such file")
    suffix = path.suffix.lower()
    by_suffix = {".pt": "checkpoint", ".pth": "checkpoint", ".onnx": "onnx", ".net": "netx", ".nir": "nir"}
    if suffix in by_suffix:
        return by_suffix[suffix]
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"\x89HDF"):
        return "netx"
    raise ModelFormatError(f"{path}: unknown model format {suffix!r}; expected .pt, .onnx, .net, .nir or a bundle")


def read_graph_file(
    path: str | os.PathLike[str], kind: str, dt: float | None = None, timesteps: int | None = None
) -> Graph:
    """Return the graph held by the graph file ``path`` of format ``kind`` (``onnx``, ``nir`` or ``netx``),
    float or integer as the file holds it (``dt``, ``timesteps``: as :func:`load_graph`).

    Raises:
        ModelFormatError: if ``kind`` is not a graph file format or the file is unreadable.
        LatdeployError: from the format's reader.
    """
    if kind == "netx":
        from latdeploy.frontend.netx import read_netx

        return read_netx(path, timesteps)
    if kind == "nir":
        from latdeploy.frontend.nir import read_nir

        return read_nir(path, dt=dt)
    if kind == "onnx":
        from latdeploy.ir.onnx_io import read_onnx

        return read_onnx(path)
    raise ModelFormatError(f"{path}: a {kind}, not a graph file (.onnx, .nir or .net)")


def _checkpoint_graph(path: Path, integer: bool, profile_name: str) -> Graph:
    from latdeploy.frontend.torch_module import graph_from_module
    from latdeploy.nn.checkpoint import load

    model, metadata = load(path)
    graph = graph_from_module(model, metadata)
    if not integer:
        return graph
    from latdeploy.flows.prepare import prepare_integer_graph

    return prepare_integer_graph(model, metadata, load_profile(profile_name)).int_graph


def load_graph(
    path: str | os.PathLike[str],
    integer: bool,
    profile_name: str = DEFAULT_PROFILE,
    dt: float | None = None,
    timesteps: int | None = None,
) -> Graph:
    """Return the integer (``integer=True``) or float graph held by the model file ``path``.

    Checkpoints are quantized for ``profile_name`` (calibrated on their training
    data, as ``latdeploy export`` does); bundles hold both graphs; ``.onnx`` and
    ``.nir`` files hold one (``dt``: the time step of a NIR file that states none); ``.net`` files are
    integer only (``timesteps``: their steps, instead of ``simulation/tSample``).
    (``latdeploy run`` quantizes a float graph file on the input it runs:
    :func:`latdeploy.flows.run.run_file`.)

    Raises:
        ModelFormatError: if the file is unreadable or does not hold the graph asked for.
        LatdeployError: from quantization or the format's reader.
    """
    path = Path(path)
    kind = detect_format(path)
    wanted = "integer" if integer else "float"
    if kind == "checkpoint":
        return _checkpoint_graph(path, integer, profile_name)
    if kind in ("bundle", "onnx"):
        from latdeploy.ir.onnx_io import read_onnx
    if kind == "bundle":
        name = "graph.int.onnx" if integer else "graph.onnx"
        if not (path / name).is_file():
            raise ModelFormatError(f"{path}: bundle has no {name} (the {wanted} graph)")
        return read_onnx(path / name)
    if kind == "netx" and not integer:
        raise ModelFormatError(f"{path}: a netx .net file holds an integer network only; use --backend fixed or lava")
    graph = read_graph_file(path, kind, dt=dt, timesteps=timesteps)
    if is_integer_graph(graph) != integer:
        holds = "an integer" if is_integer_graph(graph) else "a float"
        raise ModelFormatError(f"{path}: holds {holds} graph, not the {wanted} graph this backend needs")
    return graph
