"""Fixed-point simulator of the integer IR, bit-identical to Lava's ``fixed_pt`` models.

Layer at a time over all steps and samples: a ``DenseInt`` accumulates the input
events of every (sample, step) at once (event by event where fewer than a quarter
of the inputs are non-zero, else one float64 matrix product, exact for integers
below 2**53); only the neuron recurrence loops over time, compiled and run in
parallel over (sample, block of neurons) tasks (:mod:`latdeploy.sim.kernels`). Every
cast follows lava-nc 0.10.0 (``lava/proc/dense/models.py``, ``lava/proc/lif/models.py``):

* Dense: weights clipped and truncated as ``lava.utils.weightutils`` does, the sum
  in int64, shifted by ``weight_exp`` (left, or arithmetic right), then sent
  through an int32 port (wraps modulo 2**32).
* LIF: ``u`` and ``v`` are int32; decays round toward zero; ``a << 6`` is done in
  int32; ``u`` wraps once at +-2**23; ``v`` is clipped to +-(2**23 - 1) after an
  int32 sum; spike if ``v > vth << 6``; spiking neurons get ``v = 0``.

Time is algorithmic: each sample starts from zero state (the Lava backend resets
every layer at its own phase so that it does the same), and a layer with lag ``k``
appears on hardware ``k`` steps later (:meth:`latdeploy.ir.Graph.lag`).

Registry contract: :func:`register_fixed_kernel` maps an integer node type to
``kernel(node, *inputs) -> output``, one ``[B, T, size]`` integer array per name in
``node.inputs`` (neurons flattened in C order, ``(C, H, W)`` after a convolution).
A ``"neuron"`` node's kernel returns ``(LayerTrace, overflow counts)`` and starts
every sample from zero state; any other node returns one ``[B, T, size]`` array
(int32 currents for synapses, spikes for pass-through nodes such as delays).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from latdeploy.errors import ModelFormatError
from latdeploy.ir import DenseInt, Graph, LIFInt, Node, SpikeInput
from latdeploy.sim.kernels import dense_accumulate, lif_int_kernel
from latdeploy.sim.trace import LayerTrace, Trace

FixedKernel = Callable[..., Any]
FIXED_KERNELS: dict[type[Node], FixedKernel] = {}

STATE_LIMIT = 1 << 23  # Lava's max_uv_val
DECAY_SHIFT = 12
ACTIVATION_SHIFT = 6
THRESHOLD_SHIFT = 6


def register_fixed_kernel(node_type: type[Node]) -> Callable[[FixedKernel], FixedKernel]:
    """Decorator: register ``kernel`` as the fixed-point kernel of ``node_type``; returns the kernel."""

    def decorate(kernel: FixedKernel) -> FixedKernel:
        FIXED_KERNELS[node_type] = kernel
        return kernel

    return decorate


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


@register_fixed_kernel(DenseInt)
def dense_int(node: DenseInt, spikes: np.ndarray) -> np.ndarray:
    """Return the synaptic input ``a`` ``[B, T, out]`` (int32) for ``spikes`` ``[B, T, in]``."""
    weight = lava_weights(node.weight, node.num_weight_bits)
    batch, steps, fan_in = spikes.shape
    return dense_accumulate(spikes.reshape(-1, fan_in), weight, node.weight_exp).reshape(batch, steps, -1)


def _decay(state: np.ndarray, factor: int) -> np.ndarray:
    product = state.astype(np.int64) * factor
    return (np.sign(product) * np.right_shift(np.abs(product), DECAY_SHIFT)).astype(np.int32)


@register_fixed_kernel(LIFInt)
def lif_int(node: LIFInt, current: np.ndarray) -> tuple[LayerTrace, dict[str, int]]:
    """Integrate ``current`` ``[B, T, N]`` (int32) from zero state.

    Returns:
        ``(trace, overflow)``: spikes, ``v_pre``, ``u`` and ``v`` per step, and the
        counts of 24-bit wraps of ``u`` and saturations of ``v``.
    """
    bias = np.left_shift(node.bias_mant.astype(np.int32), np.int32(node.bias_exp)).astype(np.int64)
    spikes, v_pre, u, v, wraps, saturations = lif_int_kernel(
        np.ascontiguousarray(current, dtype=np.int32),
        (1 << DECAY_SHIFT) - (node.du + 1),
        (1 << DECAY_SHIFT) - node.dv,
        node.vth << THRESHOLD_SHIFT,
        bias,
    )
    trace = LayerTrace(spikes=spikes, v_pre=v_pre, u=u, v=v)
    return trace, {"u_wraps": int(wraps), "v_saturations": int(saturations)}


KERNELS = FIXED_KERNELS  # the registry's former name


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
    for node in graph.nodes:
        if isinstance(node, SpikeInput):
            spikes = np.asarray(input_spikes, dtype=np.uint8)
            values[node.name] = spikes.reshape(*spikes.shape[:2], -1)
            continue
        kernel = FIXED_KERNELS.get(type(node))
        if kernel is None:
            raise ModelFormatError(
                f"node {node.name!r}: {type(node).__name__} has no fixed-point kernel; quantize first"
            )
        result = kernel(node, *(values[name] for name in node.inputs))
        if node.kind == "neuron":
            layers[node.name], overflow[node.name] = result
            values[node.name] = result[0].spikes
        else:
            values[node.name] = result
    return Trace(layers=layers, overflow=overflow)


from latdeploy.sim import fixed_conv as _fixed_conv  # noqa: E402,F401  (registers conv kinds)
from latdeploy.sim import fixed_delay as _fixed_delay  # noqa: E402,F401  (registers DelayDenseInt)
from latdeploy.sim import fixed_neurons as _fixed_neurons  # noqa: E402,F401  (registers soft-reset, TTFS, multi-threshold)
