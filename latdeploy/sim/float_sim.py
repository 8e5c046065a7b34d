"""Float simulator of the IR: runs every node with the very torch operations of
:mod:`latdeploy.nn`, so its spikes equal the trained model's exactly.

Registry contract: :func:`register_float_kernel` maps a float node type to
``kernel(node, *inputs) -> output``, one input tensor per name in ``node.inputs``,
all time-first ``[T, B, size]`` float32 (a layer's neurons flattened in C order,
``(C, H, W)`` after a convolution). A ``"neuron"`` node's kernel returns
``(spikes, v_pre)``, both ``[T, B, size]``, and its trace is recorded; any other
node returns one tensor. Kernels run under ``torch.no_grad``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from latdeploy.errors import ModelFormatError
from latdeploy.ir import LIF, Dense, Graph, Node, SpikeInput
from latdeploy.nn.neurons import LIF as TorchLIF
from latdeploy.sim.trace import LayerTrace, Trace

FloatKernel = Callable[..., Any]
FLOAT_KERNELS: dict[type[Node], FloatKernel] = {}


def register_float_kernel(node_type: type[Node]) -> Callable[[FloatKernel], FloatKernel]:
    """Decorator: register ``kernel`` as the float kernel of ``node_type``; returns the kernel."""

    def decorate(kernel: FloatKernel) -> FloatKernel:
        FLOAT_KERNELS[node_type] = kernel
        return kernel

    return decorate


def lif_module(node: LIF) -> TorchLIF:
    """Return the torch neuron module equal to IR node ``node``."""
    module = TorchLIF(node.size, node.threshold, node.current_decay, node.voltage_decay, bias=True)
    with torch.no_grad():
        module.bias.copy_(torch.from_numpy(node.bias))
    return module


@register_float_kernel(Dense)
def dense_float(node: Dense, spikes: torch.Tensor) -> torch.Tensor:
    """Return ``W @ s`` for every step: ``[T, B, out]``."""
    return F.linear(spikes, torch.from_numpy(node.weight))


@register_float_kernel(LIF)
def lif_float(node: LIF, current: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(spikes, v_pre)`` ``[T, B, N]`` of the LIF layer driven by ``current``."""
    return lif_module(node)(current)


def simulate_float(graph: Graph, input_spikes: np.ndarray) -> Trace:
    """Run the float ``graph`` on ``input_spikes`` ``[B, T, n_in]``.

    Returns:
        A :class:`Trace` (spikes as uint8, ``v_pre`` as float32).

    Raises:
        ModelFormatError: if the graph holds a node without a float kernel.
    """
    values: dict[str, torch.Tensor] = {}
    layers: dict[str, LayerTrace] = {}
    with torch.no_grad():
        for node in graph.nodes:
            if isinstance(node, SpikeInput):
                spikes = np.asarray(input_spikes, np.float32)
                values[node.name] = torch.from_numpy(spikes.reshape(*spikes.shape[:2], -1)).transpose(0, 1)
                continue
            kernel = FLOAT_KERNELS.get(type(node))
            if kernel is None:
                raise ModelFormatError(f"node {node.name!r}: {type(node).__name__} has no float kernel")
            result = kernel(node, *(values[name] for name in node.inputs))
            if node.kind == "neuron":
                spikes, v_pre = result
                values[node.name] = spikes
                layers[node.name] = LayerTrace(
                    spikes=spikes.transpose(0, 1).numpy().astype(np.uint8),
                    v_pre=v_pre.transpose(0, 1).numpy(),
                )
            else:
                values[node.name] = result
    return Trace(layers=layers)


from latdeploy.sim import float_conv as _float_conv  # noqa: E402,F401  (registers conv kinds)
from latdeploy.sim import float_neurons as _float_neurons  # noqa: E402,F401  (registers soft-reset, TTFS, multi-threshold)
