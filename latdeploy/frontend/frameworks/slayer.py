"""lava-dl 0.6 slayer live blocks -> IR: ``block.cuba.Dense``/``Conv``/``Flatten`` chains, exactly (integer), the
rest refused by name.

What slayer's cuba neuron computes (``slayer/neuron/cuba.py``, ``neuron/dynamics/leaky_integrator.py``, its CPU
forward): weights on Loihi's 8-bit grid (``2 / 64`` steps in ``[-256, 254] / 64``, the blocks' default
``pre_hook_fx``), and states held as int64 in units of ``s_scale = 64 * 64``::

    u <- trunc0(u (4096 - iDecay) / 4096) + int(4096 x)       (x = W s: 64 x Loihi's integer sum, so 4096 x = a << 6)
    v <- trunc0(v (4096 - vDecay) / 4096) + u ;  s = v >= (threshold + 0.01 / 4096) * 4096 ;  v <- 0 where s

with ``threshold = vThMant / 64``: ``s`` is Loihi's ``v > vThMant << 6``, and the whole step is Lava's fixed-point
``LIF`` as long as ``u`` never wraps (Loihi: 24 bits; slayer: int64) and ``v`` never saturates. The spikes slayer
returns are then ``Spike.apply(v / 4096 >= threshold + eps)`` in float32: the same test, except where float32
rounds ``threshold + 0.01/4096`` down to ``threshold`` (thresholds of 64 and above): there slayer fires at
``v = vThMant << 6`` without resetting ``v``; such blocks are refused. ``delay_shift=True`` (the default) delays
each block's output by one step.

So a live network is taken through **slayer's own** ``export_hdf5`` (what lava-dl's netx runs), with a neuron-less
``input`` layer of the given shape first (slayer writes none; conv layers need it), and read by
:func:`latdeploy.frontend.netx.read_netx`: an integer graph that the fixed-point simulator and Lava run. Its layer
``k`` equals slayer's block output shifted by :func:`slayer_lags` ``[k]`` steps (the number of blocks up to ``k``
with ``delay_shift``), spike for spike, while the fixed-point trace counts no ``u`` wrap or ``v`` saturation
(``Trace.overflow``: slayer's int64 state does not wrap, so an overflow there is a named divergence, never a
silent one). ``tests/frontend/frameworks/test_slayer.py`` measures both.

Refused, with a one-line :class:`~latdeploy.errors.UnsupportedLayerError` naming the block: ``cuba.Input``
(slayer multiplies the input by the block's weight, exported as 64, before its neuron; the netx ``input``
layer latdeploy reads drives the neuron with the raw input: every spike differed in a measured run),
``cuba.Pool`` (lava-dl's netx builds no pool layer from the file), axonal ``delay=True``, graded spikes,
per-channel decays (``shared_param=False``), ``persistent_state``, a neuron ``norm``, the threshold corner
above, and every other block type (``Affine``, ``Recurrent``, ``KWTA``, ``ConvT``, other neuron models).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import torch
from lava.lib.dl.slayer.block import cuba
from torch import nn

from latdeploy.errors import ModelFormatError, UnsupportedLayerError, one_line
from latdeploy.frontend.converters import ConversionState, register_converter
from latdeploy.frontend.netx import read_netx
from latdeploy.ir import Graph

SUPPORTED = (cuba.Dense, cuba.Conv, cuba.Flatten)
REFUSED = {
    cuba.Input: "slayer multiplies the input by the block's weight (exported as 64) before its neuron; the netx input "
    "layer drives the neuron with the raw input (every spike differed in a measured run); start with a Dense/Conv "
    "block",
    cuba.Pool: "lava-dl's netx builds no pool layer from the exported file; use a strided Conv",
}
SPIKE_EPS_UNITS = 0.01  # slayer's threshold_eps, in units of 1 / s_scale


def blocks_of(model: nn.Module | Sequence[nn.Module]) -> list[nn.Module]:
    """Return the slayer blocks of ``model`` in order: its ``blocks`` list (slayer's convention), the modules of a
    ``Sequential``/``ModuleList``/list, or the block itself.

    Raises:
        UnsupportedLayerError: if no block is found.
    """
    if isinstance(model, (list, tuple, nn.ModuleList, nn.Sequential)):
        blocks = list(model)
    elif isinstance(getattr(model, "blocks", None), (nn.ModuleList, nn.Sequential, list)):
        blocks = list(model.blocks)
    else:
        blocks = [model]
    if not blocks:
        raise UnsupportedLayerError("slayer model: no blocks (expected a 'blocks' list, a Sequential or a block)")
    return blocks


def _check_neuron(block: nn.Module, where: str) -> None:
    """Raise :class:`UnsupportedLayerError` for neuron options whose export or forward latdeploy cannot equal."""
    neuron = block.neuron
    if getattr(block, "delay", None) is not None:
        raise UnsupportedLayerError(f"{where}: axonal delay=True is not supported by the slayer converter")
    for option, why in (
        ("graded_spike", "graded spikes"),
        ("persistent_state", "persistent_state carries v and u across samples"),
    ):
        if getattr(neuron, option, False):
            raise UnsupportedLayerError(f"{where}: slayer {option}=True is not supported ({why})")
    if not neuron.shared_param or neuron.current_decay.numel() != 1 or neuron.voltage_decay.numel() != 1:
        raise UnsupportedLayerError(f"{where}: per-channel decays (shared_param=False) are not supported")
    if neuron.norm is not None:
        raise UnsupportedLayerError(f"{where}: a neuron norm changes the current; not supported")
    threshold = float(neuron.threshold)
    eps = SPIKE_EPS_UNITS / neuron.s_scale
    at_threshold = torch.tensor([threshold], dtype=torch.float32)  # v = vThMant << 6, which does not reset
    if bool((at_threshold >= threshold + eps).item()):
        raise UnsupportedLayerError(
            f"{where}: slayer threshold {threshold} (vThMant {neuron.v_th_mant}): float32 rounds threshold + "
            f"{eps:.3g} down, so slayer's spike function fires at v = vThMant << 6 where its dynamics (and Loihi) do "
            "not; use a threshold below 64"
        )


def check_blocks(blocks: Sequence[nn.Module]) -> None:
    """Check that every block converts exactly.

    Raises:
        UnsupportedLayerError: naming the block (its index and type) and the reason.
    """
    for index, block in enumerate(blocks):
        where = f"slayer block {index} ({type(block).__name__})"
        reason = next((why for cls, why in REFUSED.items() if isinstance(block, cls)), None)
        if reason is not None:
            raise UnsupportedLayerError(f"{where}: not supported: {reason}")
        if not isinstance(block, SUPPORTED):
            raise UnsupportedLayerError(
                f"{where}: not supported; supported: {', '.join('block.cuba.' + cls.__name__ for cls in SUPPORTED)}"
            )
        if not isinstance(block, cuba.Flatten):
            _check_neuron(block, where)
    if isinstance(blocks[0], cuba.Flatten):
        raise UnsupportedLayerError("slayer block 0 (Flatten): the first block must be a Dense or Conv block")


def slayer_lags(model: nn.Module | Sequence[nn.Module]) -> list[int]:
    """Return, per neuron layer of :func:`graph_from_slayer`'s graph, how many steps slayer's block output lags
    latdeploy's layer (the blocks up to it with ``delay_shift=True``)."""
    lags, lag = [], 0
    for block in blocks_of(model):
        if isinstance(block, cuba.Flatten):
            continue
        lag += int(bool(block.delay_shift))
        lags.append(lag)
    return lags


def _set_shapes(blocks: Sequence[nn.Module], input_shape: Sequence[int]) -> None:
    """Run the blocks once on one zero step: slayer sets each neuron's shape on its first forward pass (its
    export needs them).

    Raises:
        ModelFormatError: if the blocks do not chain on ``input_shape`` (slayer's own error, in one line).
    """
    value = torch.zeros(1, *[int(d) for d in input_shape], 1)
    try:
        with torch.no_grad():
            for block in blocks:
                value = block(value)
    except (RuntimeError, AssertionError, ValueError) as error:
        raise ModelFormatError(
            f"slayer blocks do not run on input shape {list(input_shape)}: {one_line(error)}"
        ) from error


def write_net(model: nn.Module | Sequence[nn.Module], path: str | Path, input_shape: Sequence[int]) -> Path:
    """Write ``model``'s blocks as a netx ``.net`` file: a neuron-less ``input`` layer of ``input_shape``
    (``(C, H, W)`` or ``(N,)``, slayer's order without batch and time), then each block's own ``export_hdf5``.

    Returns:
        ``path``; ``latdeploy run/export`` read it like any ``.net`` file.

    Raises:
        UnsupportedLayerError: as :func:`check_blocks`.
    """
    blocks = blocks_of(model)
    check_blocks(blocks)
    if any(getattr(getattr(block, "neuron", None), "shape", ()) is None for block in blocks):
        _set_shapes(blocks, input_shape)
    path = Path(path)
    with h5py.File(path, "w") as handle:
        layers = handle.create_group("layer")
        first = layers.create_group("0")
        first.create_dataset("type", (1,), "S10", [b"input"])
        first.create_dataset("shape", data=np.asarray([int(d) for d in input_shape]))
        for index, block in enumerate(blocks, start=1):
            block.export_hdf5(layers.create_group(str(index)))
    return path


def graph_from_slayer(model: nn.Module | Sequence[nn.Module], input_shape: Sequence[int], timesteps: int) -> Graph:
    """Return the integer graph of a live slayer network (its blocks' own export, read as netx reads it).

    Returns:
        The graph (metadata ``source: "slayer"`` and ``slayer_lags``: see :func:`slayer_lags`).

    Raises:
        UnsupportedLayerError: as :func:`check_blocks`.
        ModelFormatError: if the blocks do not chain on ``input_shape``.
    """
    with tempfile.TemporaryDirectory(prefix="latdeploy-slayer-") as work:
        graph = read_netx(write_net(model, Path(work) / "slayer.net", input_shape), timesteps=timesteps)
    metadata = {key: value for key, value in graph.metadata.items() if key != "netx_file"}
    return Graph(graph.nodes, {**metadata, "source": "slayer", "slayer_lags": slayer_lags(model)})


@register_converter(*SUPPORTED, *REFUSED)
def convert_block(module: nn.Module, state: ConversionState, path: str) -> None:
    """A slayer block inside a float torch model: refused with the way that is exact.

    Raises:
        UnsupportedLayerError: always (slayer blocks are integer networks already; quantizing them again would
            not be slayer's arithmetic).
    """
    size = math.prod(state.shape) if state.shape else "?"
    raise UnsupportedLayerError(
        f"layer {path!r}: slayer {type(module).__name__} blocks (input {size}) are integer networks already; convert "
        "the whole slayer network with latdeploy.frontend.frameworks.slayer.graph_from_slayer (or write_net, then "
        "use the .net file)"
    )
