"""Fixed-point simulator of the integer IR, bit-identical to Lava's ``fixed_pt`` models.

Layer at a time over all steps and samples: a ``DenseInt`` accumulates the input
events of every (sample, step) at once (event by event where fewer than a quarter
of the inputs are non-zero, else one float64 matrix product, exact for integers
below 2**53); only the neuron recurrence loops over time, compiled and run in
parallel over (sample, block of neurons) tasks where a layer is large, on the calling
thread where it is smaller (:mod:`latdeploy.sim.kernels`), in numpy where it is small enough
that loading the compiled kernels would cost more (:mod:`latdeploy.sim.numpy_kernels`). Each Dense's weights are
prepared once per node (:mod:`latdeploy.sim.fixed_weights`). Every
cast follows lava-nc 0.10.0 (``lava/proc/dense/models.py``, ``lava/proc/lif/models.py``):

* Dense: weights clipped and truncated as ``lava.utils.weightutils`` does, the sum
  in int64, shifted by ``weight_exp`` (left, or arithmetic right), then sent
  through an int32 port (wraps modulo 2**32).
* neurons: ``u`` and ``v`` are int32; decays round toward zero; ``a << 6`` is done in
  int32; ``u`` wraps once at +-2**23; ``v`` is clipped to +-(2**23 - 1) after an
  int32 sum (:data:`latdeploy.hw.arithmetic.LOIHI`); then the kind's firing rule (Lava's
  stock LIF: spike if ``v > vth << 6``, spiking neurons get ``v = 0``).

Time is algorithmic: each sample starts from zero state (the Lava backend resets
every layer at its own phase so that it does the same), and a layer with lag ``k``
appears on hardware ``k`` steps later (:meth:`latdeploy.ir.Graph.lag`).

Registry contract: :data:`FIXED_KERNELS` (:func:`register_fixed_kernel`) maps an integer node type to
``kernel(node, *inputs) -> output``, one ``[B, T, size]`` integer array per name in
``node.inputs`` (neurons flattened in C order, ``(C, H, W)`` after a convolution).
A ``"neuron"`` node's kernel returns ``(LayerTrace, overflow counts)`` and starts
every sample from zero state; any other node returns one ``[B, T, size]`` array
(int32 currents for synapses, spikes for pass-through nodes such as delays). Every neuron
kind's integer node gets its kernel when the kind is registered
(:data:`latdeploy.neurons.registry.NEURON_KINDS`): the compiled one of its ``mode`` (numpy for a
small layer, :func:`neuron_int_sized`), else its numpy rule.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from latdeploy.errors import ModelFormatError
from latdeploy.ir import DenseInt, Graph, Node, SpikeInput
from latdeploy.neurons.base import NeuronKind
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.registry import Registry
from latdeploy.sim.fixed_neurons import neuron_int
from latdeploy.sim.fixed_weights import DenseWeights, prepared
from latdeploy.sim.numpy_kernels import NUMPY_DENSE_MACS, NUMPY_NEURON_STEPS, dense_numpy, in_numpy
from latdeploy.sim.trace import LayerTrace, Trace

FixedKernel = Callable[..., Any]
FIXED_KERNELS: Registry[type[Node], FixedKernel] = Registry(
    "fixed-point kernel", ModelFormatError, hint="quantize first", plugins="latdeploy.sim.plugins"
)
RECURRENT_STEPPERS: Registry[type[Node], FixedKernel] = Registry(
    "recurrent layer stepper", ModelFormatError, plugins="latdeploy.sim.plugins"
)
"""How a neuron layer with a recurrent node of each type runs (``stepper(neuron, current, loop=node)``, returning
what the neuron's kernel returns; :mod:`latdeploy.sim.fixed_recurrent`): synapse and neuron step together."""


def register_fixed_kernel(node_type: type[Node]) -> Callable[[FixedKernel], FixedKernel]:
    """Decorator: register ``kernel`` as the fixed-point kernel of ``node_type``; returns the kernel."""
    return FIXED_KERNELS.register(node_type)


def neuron_int_sized(node: Node, current: np.ndarray) -> tuple[LayerTrace, dict[str, int]]:
    """Run the neuron ``node`` of a kind with a compiled ``mode`` on ``current`` ``[B, T, N]``: in numpy
    (:func:`latdeploy.sim.fixed_neurons.neuron_int`) where :func:`~latdeploy.sim.numpy_kernels.in_numpy` says
    so, else compiled (:func:`latdeploy.sim.kernels_neurons.neuron_int_compiled`); the same returns."""
    if in_numpy(current.shape[1], current.size, NUMPY_NEURON_STEPS):
        return neuron_int(node, current)
    from latdeploy.sim.kernels_neurons import neuron_int_compiled

    return neuron_int_compiled(node, current)


def _add_kind(kind: NeuronKind) -> None:
    FIXED_KERNELS.add(kind.int_node, neuron_int if kind.mode is None else neuron_int_sized)


NEURON_KINDS.subscribe(_add_kind, lambda kind: FIXED_KERNELS.remove(kind.int_node))


def lava_weights(weight: np.ndarray, num_weight_bits: int) -> np.ndarray:
    """Return ``weight`` as Lava's bit-accurate Dense stores it (int32).

    Sign mode as ``determine_sign_mode``; ``clip_weights(..., num_bits=8)``; then
    ``truncate_weights`` drops ``8 - num_weight_bits (+1 if mixed)`` low bits.
    """
    weight = np.asarray(weight).astype(np.int32)
    mixed = weight.min() < 0 < weight.max()
    inhibitory = not mixed and weight.max() <= 0 and weight.min() < 0
    signed = -weight if inhibitory else weight
    signed = np.clip(signed, -256 if mixed else 0, 255).astype(np.int32)
    drop = 8 - num_weight_bits + int(mixed)
    signed = (signed >> drop) << drop
    return -signed if inhibitory else signed


def lava_dense_weights(node: Node) -> DenseWeights:
    """Return ``node``'s ``weight`` as Lava stores it (:func:`lava_weights`), prepared for the kernels; kept
    per node while ``weight`` and ``num_weight_bits`` are unchanged (:func:`latdeploy.sim.fixed_weights.prepared`)."""
    return prepared(
        node,
        "lava_weights",
        (node.weight, node.num_weight_bits),
        lambda: DenseWeights.of(lava_weights(node.weight, node.num_weight_bits)),
    )


@register_fixed_kernel(DenseInt)
def dense_int(node: DenseInt, spikes: np.ndarray) -> np.ndarray:
    """Return the synaptic input ``a`` ``[B, T, out]`` (int32) for ``spikes`` ``[B, T, in]``."""
    batch, steps, fan_in = spikes.shape
    rows, weights = spikes.reshape(-1, fan_in), lava_dense_weights(node)
    if in_numpy(steps, rows.shape[0] * weights.weight.size, NUMPY_DENSE_MACS):
        return dense_numpy(rows, weights, node.weight_exp).reshape(batch, steps, -1)
    from latdeploy.sim.kernels import dense_accumulate

    return dense_accumulate(rows, weights, node.weight_exp).reshape(batch, steps, -1)


def simulate_fixed(graph: Graph, input_spikes: np.ndarray) -> Trace:
    """Run the integer ``graph`` on ``input_spikes`` ``[B, T, n_in]`` (0/1).

    Returns:
        A :class:`Trace` with every neuron layer and its overflow counts.

    Raises:
        ModelFormatError: if the graph holds a node without an integer kernel
            (e.g. a float node that was not quantized).
    """
    values: dict[str, np.ndarray] = {}
    layers: dict[str, LayerTrace] = {}
    overflow: dict[str, dict[str, int]] = {}
    loops = graph.loops()  # recurrent layers step synapse and neuron together
    for node in graph.nodes:
        if isinstance(node, SpikeInput):
            spikes = np.asarray(input_spikes, dtype=np.uint8)
            values[node.name] = spikes.reshape(*spikes.shape[:2], -1)
            continue
        kernel = FIXED_KERNELS.get(type(node), subject=f"node {node.name!r}")
        if node.name in loops:
            loop = loops[node.name]
            kernel = partial(RECURRENT_STEPPERS.get(type(loop), subject=f"node {loop.name!r}"), loop=loop)
        result = kernel(node, *(values[name] for name in node.inputs))
        if node.kind == "neuron":
            layers[node.name], overflow[node.name] = result
            values[node.name] = result[0].spikes
        else:
            values[node.name] = result
    return Trace(layers=layers, overflow=overflow)
