"""Norse 1.1 live modules -> IR: ``IAFCell``/``IAF``, ``LIFCell``/``LIF`` and ``LIFBoxCell`` exactly, the rest
refused.

Norse's steps (``norse/torch/functional/iaf.py``, ``lif.py``, ``lif_box.py``; ``c = dt * tau_inv`` in float32)::

    IAF:     v = v + x ;                                    z = v > v_th ; v <- (1 - z) v + z v_reset
    LIF:     i = i + x ; v = v + c_mem ((v_leak - v) + i) ; i <- i - c_syn i ; z, reset as IAF
    LIFBox:  v = v + c_mem ((x + v_leak) - v) ;             z, reset as IAF

* ``IAF`` -> the stock ``lif`` kind, ``voltage_decay = 0``, threshold the next float32 above ``v_th``
  (latdeploy's ``>=`` of it is Norse's ``>``): exact, bit for bit.
* ``LIF`` -> the ``norse_lif`` kind (:mod:`latdeploy.neurons.norse_lif`), whose float step is Norse's
  expression op for op (``current_decay = c_syn``, ``voltage_decay = c_mem``, threshold ``v_th``, ``>``):
  exact, bit for bit. It quantizes to Lava's stock LIF on ``v / c_mem`` (threshold ``v_th / c_mem``).
* ``LIFBoxCell`` -> the same kind with ``current_decay = 1`` (Norse's ``(x + v_leak) - v`` and the LIF's
  ``(v_leak - v) + i`` with ``i = x`` round alike): exact.
* A layer bias before a ``LIF``/``LIFBox`` joins the input current as in Norse (exact); before an ``IAF``
  it is added to ``v`` after the synaptic sum (Loihi's order: a ``RoundingOrderWarning``).

Refused, each with a one-line :class:`~latdeploy.errors.UnsupportedLayerError` naming the layer: ``v_reset``
or ``v_leak`` other than 0 (Norse starts ``v`` at ``v_leak`` and resets to ``v_reset``; latdeploy at 0), a
``LIFBox`` ``reset_method`` other than Norse's ``reset_value``, per-neuron parameters that differ, sparse or
adjoint methods, and a layer bias before a ``LIF`` whose current decays (``c_syn != 1``: Norse decays the
bias with the current). Recurrent cells (``LIFRecurrentCell``, ...) are not registered, so they are refused
as unsupported types. Each sample starts from Norse's initial state (``v = 0``, ``i = 0``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from norse.torch.functional.lif_box import LIFBoxParameters
from norse.torch.functional.reset import reset_value
from norse.torch.module.iaf import IAF, IAFCell
from norse.torch.module.lif import LIF as NorseLIFModule
from norse.torch.module.lif import LIFCell
from norse.torch.module.lif_box import LIFBoxCell
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.converters import ConversionState, register_converter
from latdeploy.frontend.frameworks.rounding import warn_bias_order
from latdeploy.frontend.sources import ParameterSource
from latdeploy.ir import LIF, NorseLIF


def _one_value(value: torch.Tensor | float, what: str, path: str) -> float:
    """Return ``value`` as one float32 number.

    Raises:
        UnsupportedLayerError: if it holds different values per neuron.
    """
    values = torch.as_tensor(value).detach().float().cpu().reshape(-1).numpy()
    if values.size == 0 or not np.all(values == values[0]):
        raise UnsupportedLayerError(f"layer {path!r}: Norse {what} differs per neuron; only one value per layer")
    return float(values[0])


def _step_factor(module: nn.Module, tau_inv: torch.Tensor, what: str, path: str) -> float:
    """Return Norse's float32 ``dt * tau_inv`` (as its step computes it).

    Raises:
        UnsupportedLayerError: if it differs per neuron or lies outside ``(0, 1]``.
    """
    factor = _one_value(module.dt * torch.as_tensor(tau_inv, dtype=torch.float32), f"dt * {what}", path)
    if not 0.0 < factor <= 1.0:
        raise UnsupportedLayerError(
            f"layer {path!r}: Norse dt * {what} = {factor} must lie in (0, 1] (dt {module.dt}); a larger step "
            "overshoots"
        )
    return factor


def _common(module: nn.Module, path: str) -> float:
    """Check what every Norse neuron shares and return its float32 ``v_th``.

    Raises:
        UnsupportedLayerError: for a non-zero ``v_reset``/``v_leak``, a sparse input or a method whose
            forward is not Heaviside's.
    """
    what = type(module).__name__
    p = module.p
    for name in ("v_reset", "v_leak"):
        if hasattr(p, name) and _one_value(getattr(p, name), name, path) != 0.0:
            raise UnsupportedLayerError(
                f"layer {path!r}: Norse {what} {name} must be 0 (latdeploy's neurons start at and reset to 0)"
            )
    if getattr(p, "method", "super") == "adjoint":
        raise UnsupportedLayerError(f"layer {path!r}: Norse {what}(method='adjoint') is not supported")
    return _one_value(p.v_th, "v_th", path)


def _add(
    module: nn.Module, state: ConversionState, path: str, threshold: float, current_decay: float, voltage_decay: float
) -> None:
    """Append the neuron: for ``IAF`` (``voltage_decay == 0``) the stock float ``LIF`` (``>=`` the next float32
    above ``threshold``: Norse's ``>``), else ``NorseLIF`` (Norse's own float step)."""
    what = type(module).__name__
    if state.previous.kind != "synapse":
        raise UnsupportedLayerError(f"layer {path!r}: a Norse {what} must follow a synaptic layer")
    size = math.prod(state.shape)
    folded = state.pending_paths
    bias = np.zeros(size, np.float32)
    leaky = voltage_decay > 0.0
    if state.pending_bias is not None:
        if current_decay != 1.0:
            raise UnsupportedLayerError(
                f"layer {path!r}: Norse {what} decays the layer bias with the current (dt * tau_syn_inv "
                f"{current_decay}); Loihi adds it to v; use bias=False"
            )
        pending, _ = state.take_pending_bias()
        bias = pending.reshape(-1).astype(np.float32)
        if not leaky:
            warn_bias_order("Norse", path, folded)
    if leaky:
        node = NorseLIF(
            state.name("lif"),
            (state.current,),
            threshold=threshold,
            current_decay=current_decay,
            voltage_decay=voltage_decay,
            bias=bias,
        )
    else:
        node = LIF(
            state.name("lif"),
            (state.current,),
            threshold=float(np.nextafter(np.float32(threshold), np.float32(np.inf))),
            current_decay=current_decay,
            voltage_decay=voltage_decay,
            bias=bias,
        )
    state.add(node, state.shape, ParameterSource(path, module, folded=folded))


@register_converter(IAFCell, IAF)
def convert_iaf(module: IAFCell | IAF, state: ConversionState, path: str) -> None:
    """Norse ``IAFCell``/``IAF`` -> the stock ``LIF`` with no leak, exactly.

    Raises:
        UnsupportedLayerError: for a non-zero ``v_reset`` or per-neuron values that differ.
    """
    threshold = _common(module, path)
    _add(module, state, path, threshold, 1.0, 0.0)


@register_converter(LIFCell, NorseLIFModule)
def convert_lif(module: LIFCell | NorseLIFModule, state: ConversionState, path: str) -> None:
    """Norse ``LIFCell``/``LIF`` -> ``NorseLIF`` (Norse's float step; exact).

    Raises:
        UnsupportedLayerError: for the refused options (module docstring), naming ``path``.
    """
    threshold = _common(module, path)
    mem = _step_factor(module, module.p.tau_mem_inv, "tau_mem_inv", path)
    syn = _step_factor(module, module.p.tau_syn_inv, "tau_syn_inv", path)
    _add(module, state, path, threshold, syn, mem)


@register_converter(LIFBoxCell)
def convert_lif_box(module: LIFBoxCell, state: ConversionState, path: str) -> None:
    """Norse ``LIFBoxCell`` -> ``NorseLIF`` with no current state (``current_decay = 1``; exact).

    Raises:
        UnsupportedLayerError: for the refused options (module docstring), naming ``path``.
    """
    p: LIFBoxParameters = module.p
    if p.reset_method is not reset_value:
        raise UnsupportedLayerError(
            f"layer {path!r}: Norse {type(module).__name__} reset_method {getattr(p.reset_method, '__name__', '?')} "
            "is not supported (only reset_value, to v_reset = 0)"
        )
    threshold = _common(module, path)
    mem = _step_factor(module, p.tau_mem_inv, "tau_mem_inv", path)
    _add(module, state, path, threshold, 1.0, mem)
