"""snnTorch 1.0 live modules -> IR: ``Leaky``, ``Synaptic``, ``RLeaky`` and ``RSynaptic``, exactly or refused.

snnTorch's step (``snntorch/_neurons/leaky.py``, ``synaptic.py``; ``reset_delay=True``, the default)::

    r[t]   = mem[t-1] > threshold                   (the previous step's spike, detached)
    syn[t] = alpha syn[t-1] + input[t]              (Synaptic only; Leaky: syn[t] = input[t])
    subtract: mem[t] = beta mem[t-1] + syn[t] - r[t] threshold
    zero:     mem[t] = beta (1 - r[t]) mem[t-1] + input[t]      (Leaky)
    s[t]   = mem[t] > threshold                     (Heaviside of every snnTorch surrogate: ``> 0``)

* ``reset_mechanism="subtract"`` -> the ``delayed_reset_lif`` kind (the threshold is subtracted
  after the decay, one step late; ``>``), ``current_decay = 1 - alpha``, ``voltage_decay = 1 - beta``.
* Leaky ``reset_mechanism="zero"`` -> the stock ``lif`` kind: the same update; its float test
  ``v >= threshold'`` with ``threshold'`` the next float32 above snnTorch's threshold is
  snnTorch's ``v > threshold`` exactly. With ``reset_delay=False`` a zero reset is the same
  neuron (the stored membrane never exceeds the threshold, so the late reset never fires twice).

``RLeaky``/``RSynaptic`` (subtract reset) add ``recurrent(spk[t-1])`` to the input of step ``t``: the same
neuron followed by a :class:`~latdeploy.ir.RecurrentDense` (:mod:`latdeploy.ir.recurrent`) whose weight is
the ``nn.Linear`` (``all_to_all``) or ``diag(V)`` (one-to-one); the recurrent ``Linear``'s bias joins the
neuron bias. Refused: a convolutional recurrence, a zero reset (``base - reset * base`` discards the
input of the step after a spike too), and a recurrent bias into an ``RSynaptic`` with ``alpha > 0``.

Refused, each with a one-line :class:`~latdeploy.errors.UnsupportedLayerError` naming the layer:
subtract with ``reset_delay=False`` (snnTorch then tests the next step against twice the threshold
where the remainder exceeds it), ``reset_mechanism="none"``, Synaptic with a zero reset (it discards
the input of the step after a spike too), ``inhibition``, ``state_quant``, graded spikes
(``graded_spikes_factor != 1``), per-neuron ``beta``/``alpha``/``threshold`` that differ, and a
synaptic bias before a ``Synaptic`` with ``alpha > 0`` (snnTorch decays it with the current; Loihi
adds it to ``v``). Learnable ``beta``/``threshold`` are read at their trained values (``beta``
clamped to ``[0, 1]`` as snnTorch's forward does). Each sample starts from zero state, as after
``snntorch.utils.reset``.
"""

from __future__ import annotations

import math

import numpy as np
import snntorch
import torch
from torch import nn

from latdeploy.errors import UnsupportedLayerError
from latdeploy.frontend.converters import ConversionState, register_converter
from latdeploy.frontend.frameworks.rounding import warn_bias_order
from latdeploy.frontend.sources import ParameterSource
from latdeploy.ir import LIF, DelayedResetLIF, RecurrentDense

SUBTRACT, ZERO = 0, 1  # snnTorch's reset_mechanism_val


def _scalar(module: nn.Module, name: str, path: str, clamp: bool = False) -> float:
    """Return ``module.<name>`` as one float32 value (clamped to [0, 1] if ``clamp``).

    Raises:
        UnsupportedLayerError: if it holds different values per neuron.
    """
    value = torch.as_tensor(getattr(module, name)).detach().float().cpu()
    if clamp:
        value = value.clamp(0, 1)
    values = value.reshape(-1).numpy()
    if values.size == 0 or not np.all(values == values[0]):
        raise UnsupportedLayerError(f"layer {path!r}: snnTorch {name} differs per neuron; only one value per layer")
    return float(values[0])


def _refuse_unsupported(module: nn.Module, path: str) -> None:
    """Raise :class:`UnsupportedLayerError` for the options no neuron kind reproduces."""
    what = type(module).__name__
    if module.inhibition:
        raise UnsupportedLayerError(f"layer {path!r}: snnTorch {what}(inhibition=True) is not supported")
    if module.state_quant:
        raise UnsupportedLayerError(f"layer {path!r}: snnTorch {what}(state_quant=...) is not supported")
    if _scalar(module, "graded_spikes_factor", path) != 1.0:
        raise UnsupportedLayerError(f"layer {path!r}: snnTorch {what} graded_spikes_factor must be 1")
    mechanism = int(module.reset_mechanism_val)
    if mechanism not in (SUBTRACT, ZERO):
        raise UnsupportedLayerError(f"layer {path!r}: snnTorch {what}(reset_mechanism='none') is not supported")
    if mechanism == SUBTRACT and not module.reset_delay:
        raise UnsupportedLayerError(
            f"layer {path!r}: snnTorch {what}(reset_mechanism='subtract', reset_delay=False) tests the next step "
            "against twice the threshold where the remainder exceeds it; no neuron kind does"
        )


def _add_neuron(
    module: nn.Module, state: ConversionState, path: str, threshold: float, current_decay: float, voltage_decay: float
) -> None:
    """Append the float neuron node (the delayed-reset kind for subtract, the stock LIF for zero)."""
    if state.previous.kind != "synapse":
        raise UnsupportedLayerError(f"layer {path!r}: a {type(module).__name__} must follow a synaptic layer")
    size = math.prod(state.shape)
    bias = np.zeros(size, np.float32)
    folded = state.pending_paths
    if state.pending_bias is not None:
        if current_decay != 1.0:
            raise UnsupportedLayerError(
                f"layer {path!r}: snnTorch {type(module).__name__} decays the synaptic bias with the current "
                f"(alpha {1.0 - current_decay}); Loihi adds it to v; use bias=False or alpha=0"
            )
        pending, _ = state.take_pending_bias()
        bias = pending.reshape(-1).astype(np.float32)
        warn_bias_order("snnTorch", path, folded)
    if int(module.reset_mechanism_val) == SUBTRACT:
        node_type, node_threshold = DelayedResetLIF, threshold
    else:
        node_type = LIF  # compares >= : the next float32 above the threshold is snnTorch's >
        node_threshold = float(np.nextafter(np.float32(threshold), np.float32(np.inf)))
    node = node_type(
        state.name("lif"),
        (state.current,),
        threshold=node_threshold,
        current_decay=current_decay,
        voltage_decay=voltage_decay,
        bias=bias,
    )
    state.add(node, state.shape, ParameterSource(path, module, folded=folded))


def _decay(factor: float) -> float:
    """Return the latdeploy decay ``1 - factor`` of snnTorch's retention ``factor`` (as float64)."""
    return 1.0 - factor


@register_converter(snntorch.Leaky)
def convert_leaky(module: snntorch.Leaky, state: ConversionState, path: str) -> None:
    """snnTorch ``Leaky`` -> ``DelayedResetLIF`` (subtract) or ``LIF`` (zero); see the module docstring.

    Raises:
        UnsupportedLayerError: for the refused options (module docstring), naming ``path``.
    """
    _refuse_unsupported(module, path)
    threshold = _scalar(module, "threshold", path)
    beta = _scalar(module, "beta", path, clamp=True)
    _add_neuron(module, state, path, threshold, 1.0, _decay(beta))


@register_converter(snntorch.Synaptic)
def convert_synaptic(module: snntorch.Synaptic, state: ConversionState, path: str) -> None:
    """snnTorch ``Synaptic`` (subtract reset) -> ``DelayedResetLIF`` with ``current_decay = 1 - alpha``.

    Raises:
        UnsupportedLayerError: for a zero reset and the refused options (module docstring).
    """
    _refuse_unsupported(module, path)
    if int(module.reset_mechanism_val) == ZERO:
        raise UnsupportedLayerError(
            f"layer {path!r}: snnTorch Synaptic(reset_mechanism='zero') discards the input of the step after a "
            "spike too; no neuron kind does (use 'subtract')"
        )
    threshold = _scalar(module, "threshold", path)
    alpha = _scalar(module, "alpha", path, clamp=True)
    beta = _scalar(module, "beta", path, clamp=True)
    _add_neuron(module, state, path, threshold, _decay(alpha), _decay(beta))


def _recurrent_weights(module: nn.Module, path: str, size: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Return the recurrent weight of an ``RLeaky``/``RSynaptic`` of ``size`` neurons and its bias (``None``: none).

    Raises:
        UnsupportedLayerError: for a convolutional recurrence.
    """
    recurrent = module.recurrent
    if isinstance(recurrent, nn.Linear):
        bias = None if recurrent.bias is None else recurrent.bias.detach().float().cpu().numpy()
        return recurrent.weight.detach().float().cpu().numpy(), bias
    if not module.all_to_all:  # RecurrentOneToOne: spk * V
        values = torch.as_tensor(recurrent.V).detach().float().cpu().reshape(-1).numpy()
        return np.diag(np.broadcast_to(values, (size,)) if values.size == 1 else values), None
    raise UnsupportedLayerError(
        f"layer {path!r}: snnTorch {type(module).__name__} with a {type(recurrent).__name__} recurrence is not "
        "supported; only an all-to-all nn.Linear or one-to-one V"
    )


def _add_recurrent(module: nn.Module, state: ConversionState, path: str, current_decay: float) -> None:
    """Append the recurrent node after the neuron just added, its ``Linear`` bias folded into the neuron's."""
    if int(module.reset_mechanism_val) == ZERO:
        raise UnsupportedLayerError(
            f"layer {path!r}: snnTorch {type(module).__name__}(reset_mechanism='zero') discards the input of the "
            "step after a spike too (base - reset * base); no neuron kind does (use 'subtract')"
        )
    neuron = state.previous
    weight, bias = _recurrent_weights(module, path, neuron.size)
    if weight.shape != (neuron.size, neuron.size):
        raise UnsupportedLayerError(
            f"layer {path!r}: recurrent weight of shape {weight.shape} does not map the layer's {neuron.size} neurons"
        )
    if bias is not None and np.any(bias != 0):
        if current_decay != 1.0:
            raise UnsupportedLayerError(
                f"layer {path!r}: snnTorch RSynaptic decays the recurrent bias with the current "
                f"(alpha {1.0 - current_decay}); Loihi adds it to v; use a recurrent Linear without bias or alpha=0"
            )
        state.nodes[-1] = neuron.replace(bias=(neuron.bias + bias.reshape(-1)).astype(np.float32))
        warn_bias_order("snnTorch", path, (f"{path}.recurrent",))
    state.nodes.append(RecurrentDense(state.name("recurrent"), (neuron.name,), weight=weight))


@register_converter(snntorch.RLeaky)
def convert_rleaky(module: snntorch.RLeaky, state: ConversionState, path: str) -> None:
    """snnTorch ``RLeaky`` (subtract reset) -> ``DelayedResetLIF`` + ``RecurrentDense``; see the module docstring.

    Raises:
        UnsupportedLayerError: for a zero reset, a convolutional recurrence and the refused options.
    """
    _refuse_unsupported(module, path)
    threshold = _scalar(module, "threshold", path)
    beta = _scalar(module, "beta", path, clamp=True)
    _add_neuron(module, state, path, threshold, 1.0, _decay(beta))
    _add_recurrent(module, state, path, 1.0)


@register_converter(snntorch.RSynaptic)
def convert_rsynaptic(module: snntorch.RSynaptic, state: ConversionState, path: str) -> None:
    """snnTorch ``RSynaptic`` (subtract reset) -> ``DelayedResetLIF`` (``current_decay = 1 - alpha``) and a
    ``RecurrentDense``.

    Raises:
        UnsupportedLayerError: for a zero reset, a convolutional recurrence, a recurrent bias with
            ``alpha > 0`` and the refused options.
    """
    _refuse_unsupported(module, path)
    threshold = _scalar(module, "threshold", path)
    alpha = _scalar(module, "alpha", path, clamp=True)
    beta = _scalar(module, "beta", path, clamp=True)
    _add_neuron(module, state, path, threshold, _decay(alpha), _decay(beta))
    _add_recurrent(module, state, path, _decay(alpha))
