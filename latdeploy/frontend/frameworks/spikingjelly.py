"""SpikingJelly 0.0.0.0.14 live modules -> IR (it has no NIR export): ``IFNode`` and ``LIFNode`` with
``layer.Linear``/``layer.Conv2d``/``layer.Flatten`` (single- or multi-step), exactly or refused.

SpikingJelly's step (``spikingjelly/activation_based/neuron.py``; every surrogate's forward is ``x >= 0``)::

    IFNode:                       v = v + x
    LIFNode(decay_input=False):   v = v (1 - 1/tau) + x          (1 - 1/tau in float64, then float32)
    LIFNode(decay_input=True):    v = v + (x - v) / tau
    s = v >= v_threshold ;  v_reset=None: v <- v - s v_threshold ;  v_reset=0: v <- (1 - s) v

* ``v_reset=0`` -> the stock ``lif`` kind (float test ``>=``, reset to zero); ``v_reset=None`` (soft reset)
  -> ``soft_reset_lif`` (``>=``, subtract). ``voltage_decay = 1/tau`` (``0`` for ``IFNode``): latdeploy's
  ``v (1 - voltage_decay) + u`` is SpikingJelly's expression bit for bit (``decay_input=False``).
* ``decay_input=True`` -> the ``decay_input_lif`` (``v_reset=0``) or ``decay_input_soft_lif`` (``None``) kind
  (:mod:`latdeploy.neurons.decay_input_lif`), whose float step is SpikingJelly's ``v + (x - v) / tau`` op for
  op (``voltage_decay = 1/tau``; torch divides by float32 ``tau``): exact. They quantize to the stock kinds on
  ``tau v``. The node holds ``1/tau``; a ``tau`` whose float32 is not ``float32(1 / (1 / tau))`` would be
  refused (a guard: none among 6e7 random taus in [1, 1e7]).
* A layer bias joins ``x`` before a ``decay_input=True`` neuron as in SpikingJelly (exact); before the stock
  kinds it is added to ``v`` after the synaptic sum (Loihi's order; a ``RoundingOrderWarning``).
* ``layer.Linear``, ``layer.Conv2d``, ``layer.Flatten``, ``layer.AvgPool2d`` subclass torch's and convert
  as those (in either ``step_mode``).

Refused, with a one-line :class:`~latdeploy.errors.UnsupportedLayerError` naming the layer: a ``v_reset``
other than ``None`` or 0 (SpikingJelly then also leaks towards ``v_reset``), ``tau`` below 1 (a decay above
1), and every other neuron type (``ParametricLIFNode``, ``QIFNode``, ...: not registered, so refused as
unsupported types; ``ParametricLIFNode``'s ``tau = 1/sigmoid(w)`` is not a constant SpikingJelly states).
Each sample starts from zero state, as after ``functional.reset_net``.
"""

from __future__ import annotations

import math

import numpy as np
from spikingjelly.activation_based import neuron
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.converters import ConversionState, register_converter
from latdeploy.frontend.frameworks.rounding import warn_bias_order
from latdeploy.frontend.sources import ParameterSource
from latdeploy.ir import LIF, DecayInputLIF, DecayInputSoftLIF, SoftResetLIF


def _reset(module: neuron.BaseNode, path: str) -> str:
    """Return ``"subtract"`` (``v_reset=None``) or ``"zero"`` (``v_reset=0``).

    Raises:
        UnsupportedLayerError: for another ``v_reset``.
    """
    if module.v_reset is None:
        return "subtract"
    if float(module.v_reset) == 0.0:
        return "zero"
    raise UnsupportedLayerError(
        f"layer {path!r}: SpikingJelly {type(module).__name__}(v_reset={module.v_reset}) resets and leaks towards a "
        "non-zero potential; only v_reset=None (soft) or 0"
    )


def _threshold(module: neuron.BaseNode, path: str) -> float:
    threshold = float(module.v_threshold)
    if not (math.isfinite(threshold) and threshold > 0):
        raise UnsupportedLayerError(f"layer {path!r}: SpikingJelly v_threshold must be positive, got {threshold}")
    return threshold


def _add(
    module: nn.Module, state: ConversionState, path: str, threshold: float, voltage_decay: float, decay_input: bool
) -> None:
    """Append ``LIF``/``DecayInputLIF`` (zero reset) or ``SoftResetLIF``/``DecayInputSoftLIF`` (soft reset);
    all compare ``v >= threshold``."""
    what = type(module).__name__
    if state.previous.kind != "synapse":
        raise UnsupportedLayerError(f"layer {path!r}: a SpikingJelly {what} must follow a synaptic layer")
    size = math.prod(state.shape)
    folded = state.pending_paths
    pending, _ = state.take_pending_bias()
    bias = np.zeros(size, np.float32) if pending is None else pending.reshape(-1).astype(np.float32)
    if pending is not None and not decay_input:
        warn_bias_order("SpikingJelly", path, folded)
    soft = _reset(module, path) == "subtract"
    if decay_input:
        node_type = DecayInputSoftLIF if soft else DecayInputLIF
    else:
        node_type = SoftResetLIF if soft else LIF
    node = node_type(
        state.name("lif"),
        (state.current,),
        threshold=threshold,
        current_decay=1.0,
        voltage_decay=voltage_decay,
        bias=bias,
    )
    state.add(node, state.shape, ParameterSource(path, module, folded=folded))


@register_converter(neuron.IFNode)
def convert_if(module: neuron.IFNode, state: ConversionState, path: str) -> None:
    """SpikingJelly ``IFNode`` -> ``LIF``/``SoftResetLIF`` with no leak, exactly.

    Raises:
        UnsupportedLayerError: for a non-zero ``v_reset`` or a non-positive threshold.
    """
    _add(module, state, path, _threshold(module, path), 0.0, False)


@register_converter(neuron.LIFNode)
def convert_lif(module: neuron.LIFNode, state: ConversionState, path: str) -> None:
    """SpikingJelly ``LIFNode`` -> ``LIF``/``SoftResetLIF`` (``decay_input=False``) or
    ``DecayInputLIF``/``DecayInputSoftLIF`` (``decay_input=True``), ``voltage_decay = 1/tau``; exact.

    Raises:
        UnsupportedLayerError: for a non-zero ``v_reset``, ``tau < 1``, a ``tau`` that ``1/tau`` does not give
            back in float32 (``decay_input=True``) or a non-positive threshold.
    """
    tau = float(module.tau)
    if not (math.isfinite(tau) and tau >= 1.0):
        raise UnsupportedLayerError(f"layer {path!r}: SpikingJelly LIFNode tau must be >= 1 (decay 1/tau), got {tau}")
    threshold = _threshold(module, path)
    if module.decay_input and np.float32(1.0 / (1.0 / tau)) != np.float32(tau):
        raise UnsupportedLayerError(
            f"layer {path!r}: SpikingJelly LIFNode(decay_input=True) tau {tau!r} is not float32(1 / (1 / tau)); "
            "latdeploy holds 1/tau and would divide by another float32 tau (choose a nearby tau)"
        )
    _add(module, state, path, threshold, 1.0 / tau, bool(module.decay_input))
