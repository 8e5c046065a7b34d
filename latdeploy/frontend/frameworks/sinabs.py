"""Sinabs 3.1 live modules -> IR: ``IAF``/``IAFSqueeze``/``LIF``/``LIFSqueeze`` and ``SumPool2d``, exactly or refused.

Sinabs' step (``sinabs/layers/functional/lif.py``; ``IAF`` is ``LIF`` with ``alpha = 1``,
``norm_input=False``)::

    v[t] = alpha v[t-1] + input[t]                 (alpha = exp(-1/tau_mem), or alpha_mem if train_alphas)
    SingleSpike:  s[t] = (v[t] - thr >= 0)
    MaxSpike(L):  s[t] = min(L, (v[t] > 0) trunc(v[t] / thr))
    MultiSpike:   s[t] = (v[t] > 0) trunc(v[t] / thr)          (no upper bound)
    MembraneSubtract: v[t] <- v[t] - s[t] thr ;  MembraneReset(0): v[t] <- v[t] (s[t] == 0)

* ``SingleSpike`` + ``MembraneSubtract`` -> ``soft_reset_lif`` (``>=``, subtract); ``SingleSpike`` +
  ``MembraneReset(0)`` -> the stock ``lif`` (its float test is ``>=``, reset to zero).
* ``MaxSpike(L)`` (``L <= 255``) -> ``multi_threshold_lif`` with ``levels = L`` and the same reset: its
  payload ``#{k <= L : v >= k thr}`` equals ``trunc(v / thr)`` when ``thr`` is a power of two (the
  division and every ``k thr`` are exact then); another threshold is refused, since Sinabs' rounded
  division and latdeploy's comparisons can then disagree by one level.
* ``voltage_decay = 1 - alpha`` (latdeploy's ``v (1 - voltage_decay)`` is Sinabs' ``alpha v`` in float32).
* ``SumPool2d`` (``LPPool2d(p=1)``: Sinabs averages, then multiplies by the window size) -> a sum
  :class:`~latdeploy.ir.conv.Pool2d` once Sinabs' own module is checked to return every reachable
  integer window sum exactly.

Refused, each with a one-line :class:`~latdeploy.errors.UnsupportedLayerError` naming the layer:
``MultiSpike`` (unbounded spike count per step; latdeploy's graded neurons send at most 255: use
``MaxSpike(max_num_spikes_per_bin=L)``), ``tau_syn`` (Sinabs scales the input by ``alpha_syn`` too),
``LIF(norm_input=True)`` (the ``(1 - alpha)`` input gain, folded into the weights, rounds differently;
use ``norm_input=False``), ``min_v_mem``, ``MembraneReset(reset_value != 0)``, a
``MembraneSubtract(subtract_value)`` other than the threshold, thresholds that are not one positive
value, per-neuron time constants that differ, and any other ``spike_fn``/``reset_fn``. Each sample
starts from zero state, as after ``sinabs.reset_states``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sinabs import activation, layers

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.converters import ConversionState, register_converter
from latdeploy.frontend.frameworks.rounding import warn_bias_order
from latdeploy.frontend.sources import ParameterSource
from latdeploy.frontend.torch_layers import pool_node
from latdeploy.ir import LIF, MultiThresholdLIF, SoftResetLIF
from latdeploy.ir.neurons_ext import MAX_LEVELS


def _one_value(value: torch.Tensor | float, what: str, path: str) -> float:
    """Return ``value`` as one float32 number.

    Raises:
        UnsupportedLayerError: if it holds different values per neuron.
    """
    values = torch.as_tensor(value).detach().float().cpu().reshape(-1).numpy()
    if values.size == 0 or not np.all(values == values[0]):
        raise UnsupportedLayerError(f"layer {path!r}: Sinabs {what} differs per neuron; only one value per layer")
    return float(values[0])


def _power_of_two(value: float) -> bool:
    mantissa, _ = math.frexp(value)
    return value > 0 and mantissa == 0.5


def _refuse_dynamics(module: layers.LIF, path: str) -> None:
    """Raise :class:`UnsupportedLayerError` for the sub-threshold options no neuron kind reproduces."""
    what = type(module).__name__
    if module.alpha_syn_calculated is not None:
        raise UnsupportedLayerError(
            f"layer {path!r}: Sinabs {what}(tau_syn=...) scales the input by alpha_syn as well "
            "(i = alpha (i + x)); latdeploy's current adds it unscaled"
        )
    if module.norm_input and not isinstance(module, layers.IAF):
        raise UnsupportedLayerError(
            f"layer {path!r}: Sinabs {what}(norm_input=True) multiplies the summed input by (1 - alpha), which "
            "folded into the weights rounds differently in float32; use norm_input=False"
        )
    if module.min_v_mem is not None:
        raise UnsupportedLayerError(f"layer {path!r}: Sinabs {what}(min_v_mem=...) clips v from below; no kind does")


def _reset(module: layers.LIF, threshold: float, path: str) -> str:
    """Return ``"subtract"`` or ``"zero"`` for the module's ``reset_fn``.

    Raises:
        UnsupportedLayerError: for another reset function or value.
    """
    reset = module.reset_fn
    what = type(module).__name__
    if isinstance(reset, activation.MembraneSubtract):
        if reset.subtract_value is not None and float(reset.subtract_value) != threshold:
            raise UnsupportedLayerError(
                f"layer {path!r}: Sinabs {what} MembraneSubtract(subtract_value={reset.subtract_value}) differs "
                f"from the threshold {threshold}; latdeploy subtracts the threshold"
            )
        return "subtract"
    if isinstance(reset, activation.MembraneReset):
        if float(reset.reset_value) != 0.0:
            raise UnsupportedLayerError(
                f"layer {path!r}: Sinabs {what} MembraneReset(reset_value={reset.reset_value}) adds the value to "
                "every neuron each step; only reset_value=0 is supported"
            )
        return "zero"
    raise UnsupportedLayerError(f"layer {path!r}: Sinabs {what} reset_fn {type(reset).__name__} is not supported")


def _spike_levels(module: layers.LIF, threshold: float, path: str) -> int:
    """Return 1 for ``SingleSpike`` or ``L`` for ``MaxSpike(L)``.

    Raises:
        UnsupportedLayerError: for ``MultiSpike``, an unbounded or too large ``MaxSpike``, a ``MaxSpike``
            threshold that is not a power of two, or another spike function.
    """
    spike_fn = module.spike_fn
    what = type(module).__name__
    if spike_fn is activation.SingleSpike:
        return 1
    if spike_fn is activation.MultiSpike:
        raise UnsupportedLayerError(
            f"layer {path!r}: Sinabs {what}(spike_fn=MultiSpike) sends any number of spikes per step; latdeploy's "
            f"graded neurons send at most {MAX_LEVELS}: use SingleSpike or MaxSpike(max_num_spikes_per_bin=L)"
        )
    if isinstance(spike_fn, activation.MaxSpike):
        levels = spike_fn.max_num_spikes_per_bin
        if levels is None or not 1 <= int(levels) <= MAX_LEVELS:
            raise UnsupportedLayerError(
                f"layer {path!r}: Sinabs {what} MaxSpike(max_num_spikes_per_bin={levels}) must lie in 1..{MAX_LEVELS}"
            )
        if not _power_of_two(threshold):
            raise UnsupportedLayerError(
                f"layer {path!r}: Sinabs {what} MaxSpike divides v by the threshold {threshold} in float32, which "
                "equals latdeploy's k x threshold comparisons only for a power-of-two threshold (e.g. 1.0)"
            )
        return int(levels)
    raise UnsupportedLayerError(f"layer {path!r}: Sinabs {what} spike_fn {spike_fn!r} is not supported")


@register_converter(layers.LIF)
def convert_lif(module: layers.LIF, state: ConversionState, path: str) -> None:
    """Sinabs ``IAF``/``LIF`` (and their ``Squeeze`` forms) -> ``SoftResetLIF``, ``LIF`` or ``MultiThresholdLIF``.

    Raises:
        UnsupportedLayerError: for the refused options (module docstring), naming ``path``.
    """
    what = type(module).__name__
    if isinstance(module, (layers.LIFRecurrent, layers.IAFRecurrent)):
        raise UnsupportedLayerError(f"layer {path!r}: Sinabs {what} (recurrent) is not supported")
    if state.previous.kind != "synapse":
        raise UnsupportedLayerError(f"layer {path!r}: a Sinabs {what} must follow a synaptic layer")
    _refuse_dynamics(module, path)
    if module.spike_threshold is None:
        raise UnsupportedLayerError(f"layer {path!r}: Sinabs {what}(spike_threshold=None) does not spike")
    threshold = _one_value(module.spike_threshold, "spike_threshold", path)
    if not threshold > 0:
        raise UnsupportedLayerError(f"layer {path!r}: Sinabs {what} spike_threshold must be positive, got {threshold}")
    alpha = _one_value(module.alpha_mem_calculated, "alpha_mem (tau_mem)", path)
    if not 0.0 <= alpha <= 1.0:
        raise UnsupportedLayerError(f"layer {path!r}: Sinabs {what} alpha_mem {alpha} must lie in [0, 1]")
    reset = _reset(module, threshold, path)
    levels = _spike_levels(module, threshold, path)
    size = math.prod(state.shape)
    folded = state.pending_paths
    pending, _ = state.take_pending_bias()
    bias = np.zeros(size, np.float32) if pending is None else pending.reshape(-1).astype(np.float32)
    if pending is not None:
        warn_bias_order("Sinabs", path, folded)
    fields = {"threshold": threshold, "current_decay": 1.0, "voltage_decay": 1.0 - alpha, "bias": bias}
    name = state.name("lif")
    if levels > 1:
        node = MultiThresholdLIF(name, (state.current,), levels=levels, reset=reset, **fields)
    elif reset == "subtract":
        node = SoftResetLIF(name, (state.current,), **fields)
    else:
        node = LIF(name, (state.current,), **fields)
    state.add(node, state.shape, ParameterSource(path, module, folded=folded))


def _exact_window_sums(module: layers.SumPool2d, kernel: tuple[int, int]) -> bool:
    """Return whether Sinabs' ``module`` returns every integer window sum ``0..255 area`` exactly."""
    sums = torch.arange(MAX_LEVELS * kernel[0] * kernel[1] + 1, dtype=torch.float32)
    window = torch.zeros(sums.numel(), 1, *kernel)
    window[:, 0, 0, 0] = sums
    with torch.no_grad():
        out = module(window).reshape(-1)
    return bool(torch.equal(out, sums))


@register_converter(layers.SumPool2d)
def convert_sum_pool(module: layers.SumPool2d, state: ConversionState, path: str) -> None:
    """Sinabs ``SumPool2d`` -> :class:`Pool2d` ``"sum"`` (checked exact on Sinabs' own module).

    Raises:
        UnsupportedLayerError: for ``ceil_mode``, a non-(C, H, W) input, or a window whose sums Sinabs
            rounds.
    """
    if module.ceil_mode:
        raise UnsupportedLayerError(f"layer {path!r}: Sinabs SumPool2d(ceil_mode=True) is not supported")
    node = pool_node(state, path, module, "sum")
    kernel = (node.kernel_h, node.kernel_w)
    if not _exact_window_sums(module, kernel):
        raise UnsupportedLayerError(
            f"layer {path!r}: Sinabs SumPool2d (average x {kernel[0] * kernel[1]}) rounds some window sums "
            "(checked on Sinabs' own module); use another window size, e.g. 2x2, 3x3 or 4x4"
        )
    state.add(node, node.out_shape, ParameterSource(path, module))
