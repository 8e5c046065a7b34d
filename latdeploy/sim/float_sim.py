"""Float simulator of the IR: runs every node with the very torch operations of
:mod:`latdeploy.nn`, so its spikes equal the trained model's exactly.

Registry contract: :data:`FLOAT_KERNELS` (:func:`register_float_kernel`) maps a float node type to
``kernel(node, *inputs) -> output``, one input tensor per name in ``node.inputs``,
all time-first ``[T, B, size]`` float32 (a layer's neurons flattened in C order,
``(C, H, W)`` after a convolution). A ``"neuron"`` node's kernel returns
``(spikes, v_pre)``, both ``[T, B, size]``, and its trace is recorded; any other
node returns one tensor. Kernels run under ``torch.no_grad``. Every neuron kind's float node
runs the kind's torch module (:func:`torch_neuron`), registered when the kind is
(:data:`latdeploy.neurons.registry.NEURON_KINDS`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from latdeploy.errors import ModelFormatError
from latdeploy.ir import Dense, Graph, Node, SpikeInput
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.registry import Registry
from latdeploy.sim.trace import LayerTrace, Trace

FloatKernel = Callable[..., Any]
FLOAT_KERNELS: Registry[type[Node], FloatKernel] = Registry(
    "float kernel", ModelFormatError, plugins="latdeploy.sim.plugins"
)
RECURRENT_STEPPERS: Registry[type[Node], FloatKernel] = Registry(
    "recurrent layer stepper", ModelFormatError, plugins="latdeploy.sim.plugins"
)
"""How a neuron layer with a recurrent node of each type runs (``stepper(neuron, current, loop=node)``, returning
what the neuron's kernel returns; :mod:`latdeploy.sim.float_recurrent`): synapse and neuron step together."""


def register_float_kernel(node_type: type[Node]) -> Callable[[FloatKernel], FloatKernel]:
    """Decorator: register ``kernel`` as the float kernel of ``node_type``; returns the kernel."""
    return FLOAT_KERNELS.register(node_type)


def torch_neuron(node: Node) -> torch.nn.Module:
    """Return the torch neuron module equal to float neuron node ``node`` (its kind's module, bias copied in).

    Raises:
        UnsupportedLayerError: if ``node`` is of no registered neuron kind.
    """
    kind = NEURON_KINDS.kind_of(node)
    extra = {name: getattr(node, name) for name in kind.fields}
    module = kind.torch_module(
        node.size,
        threshold=node.threshold,
        current_decay=node.current_decay,
        voltage_decay=node.voltage_decay,
        bias=True,
        **kind.module_options,
        **extra,
    )
    with torch.no_grad():
        module.bias.copy_(torch.from_numpy(node.bias))
    return module


def float_neuron(node: Node, current: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Run neuron ``node`` on ``current`` ``[T, B, N]`` (float32, time first, as the torch modules).

    Returns:
        ``(spikes, v_pre)``, both ``[T, B, N]`` float32 (graded levels for multi-threshold).
    """
    with torch.no_grad():
        return torch_neuron(node)(current)


NEURON_KINDS.subscribe(
    lambda kind: FLOAT_KERNELS.add(kind.float_node, float_neuron), lambda kind: FLOAT_KERNELS.remove(kind.float_node)
)


@register_float_kernel(Dense)
def dense_float(node: Dense, spikes: torch.Tensor) -> torch.Tensor:
    """Return ``W @ s`` for every step: ``[T, B, out]``."""
    return F.linear(spikes, torch.from_numpy(node.weight))


def simulate_float(graph: Graph, input_spikes: np.ndarray) -> Trace:
    """Run the float ``graph`` on ``input_spikes`` ``[B, T, n_in]``.

    Returns:
        A :class:`Trace` (spikes as uint8, ``v_pre`` as float32).

    Raises:
        ModelFormatError: if the graph holds a node without a float kernel.
    """
    values: dict[str, torch.Tensor] = {}
    layers: dict[str, LayerTrace] = {}
    loops = graph.loops()  # recurrent layers step synapse and neuron together
    with torch.no_grad():
        for node in graph.nodes:
            if isinstance(node, SpikeInput):
                spikes = np.asarray(input_spikes, np.float32)
                values[node.name] = torch.from_numpy(spikes.reshape(*spikes.shape[:2], -1)).transpose(0, 1)
                continue
            kernel = FLOAT_KERNELS.get(type(node), subject=f"node {node.name!r}")
            if node.name in loops:
                loop = loops[node.name]
                kernel = partial(RECURRENT_STEPPERS.get(type(loop), subject=f"node {loop.name!r}"), loop=loop)
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
