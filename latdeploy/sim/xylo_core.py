"""Bit-exact fixed-point simulator of one SynSense Xylo core (the reference for ``xylo-sim``).

A Xylo core has ``n_in`` input channels, ``n_hidden`` hidden neurons (each with two synaptic
currents ``Isyn``, ``Isyn2``) connected feed-forward from the inputs and recurrently among
themselves, and ``n_out`` readout neurons fed by the hidden neurons. Every width and limit is
read from :data:`latdeploy.hw.arithmetic.XYLO`. One step ``t`` computes, in this order
(established against xylosim 0.1.3 ``v2`` by experiment, ``docs/xylo.md``):

1. Synaptic input, one presynaptic source at a time in index order (inputs, then hidden
   neurons' spikes of step ``t - 1``), each saturating:
   ``Isyn_k = sat(Isyn_k + count * (w << weight_shift))``; an input count saturates at
   ``max_input_spikes_per_step`` (15). Readout currents take the hidden spikes of ``t - 1``.
2. Current decay: ``Isyn -= step(Isyn, dash_syn)`` where ``step(x, d) = x >> d`` (arithmetic
   shift), but at least 1 for ``x > 0``: a state always moves toward zero.
3. Membrane: ``dv = sat(sat(Isyn + Isyn2 - step(Vmem, dash_mem)) + bias)``;
   ``Vmem = sat(Vmem + dv)``. The negated step is 16-bit: ``-(-32768)`` stays ``-32768``.
4. Spikes: a hidden neuron with ``Vmem >= threshold`` emits
   ``n = min(Vmem // threshold, 31)`` spikes and ``Vmem -= n * threshold``; a readout neuron
   emits one spike and subtracts ``threshold`` once.

``sat`` clips to the two's-complement 16-bit range. Aliasing (a neuron reset by another's
spike) is not modelled; :class:`XyloCore` has no field for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latdeploy.errors import QuantizationRangeError
from latdeploy.hw.arithmetic import XYLO

OUTPUT_SPIKES_PER_STEP = 1
"""A readout neuron emits at most one spike a step (xylosim 0.1.3, measured)."""


@dataclass(frozen=True)
class XyloCore:
    """The integer parameters of one Xylo core, in xylosim's own terms.

    ``w_in`` is ``[n_in, n_hidden, 2]`` (last axis: ``Isyn``, ``Isyn2``), ``w_rec``
    ``[n_hidden, n_hidden, 2]`` (pre, post, synapse), ``w_out`` ``[n_hidden, n_out]``; each
    matrix is shifted left by its ``weight_shift_*``. ``dash_syn`` is ``[n_hidden, 2]``.
    """

    w_in: np.ndarray
    w_rec: np.ndarray
    w_out: np.ndarray
    weight_shift_in: int
    weight_shift_rec: int
    weight_shift_out: int
    dash_syn: np.ndarray
    dash_mem: np.ndarray
    threshold: np.ndarray
    bias: np.ndarray
    dash_syn_out: np.ndarray
    dash_mem_out: np.ndarray
    threshold_out: np.ndarray
    bias_out: np.ndarray

    def __post_init__(self) -> None:
        """Check shapes and that every value fits Xylo's registers.

        Raises:
            QuantizationRangeError: naming the field, its offending value and the limit.
        """
        n_in, n_hidden = np.shape(self.w_in)[:2]
        n_out = np.shape(self.w_out)[1]
        shapes = {
            "w_in": (n_in, n_hidden, 2),
            "w_rec": (n_hidden, n_hidden, 2),
            "w_out": (n_hidden, n_out),
            "dash_syn": (n_hidden, 2),
            "dash_mem": (n_hidden,),
            "threshold": (n_hidden,),
            "bias": (n_hidden,),
            "dash_syn_out": (n_out,),
            "dash_mem_out": (n_out,),
            "threshold_out": (n_out,),
            "bias_out": (n_out,),
        }
        weight = (-(1 << (XYLO.weight_bits - 1)), (1 << (XYLO.weight_bits - 1)) - 1)
        dash = (0, XYLO.decay_unity - 1)
        threshold = (1, XYLO.vth_max)
        bias = (-(1 << (XYLO.bias_mantissa_bits - 1)), (1 << (XYLO.bias_mantissa_bits - 1)) - 1)
        limits = {
            "w_in": weight,
            "w_rec": weight,
            "w_out": weight,
            "dash_syn": dash,
            "dash_mem": dash,
            "dash_syn_out": dash,
            "dash_mem_out": dash,
            "threshold": threshold,
            "threshold_out": threshold,
            "bias": bias,
            "bias_out": bias,
        }
        for name, shape in shapes.items():
            value = np.asarray(getattr(self, name))
            if value.shape != shape:
                raise QuantizationRangeError(f"Xylo core field {name!r} has shape {value.shape}, expected {shape}")
            if value.size and not np.issubdtype(value.dtype, np.integer):
                raise QuantizationRangeError(f"Xylo core field {name!r} must hold integers, got {value.dtype}")
            low, high = limits[name]
            if value.size and (value.min() < low or value.max() > high):
                bad = value.min() if value.min() < low else value.max()
                raise QuantizationRangeError(
                    f"Xylo core field {name!r} holds {int(bad)}, outside Xylo's [{low}, {high}]"
                )
        for name in ("weight_shift_in", "weight_shift_rec", "weight_shift_out"):
            value = getattr(self, name)
            low, high = XYLO.weight_exp_min, XYLO.weight_exp_max
            if not low <= int(value) <= high:
                raise QuantizationRangeError(f"Xylo core field {name!r} is {value}, outside Xylo's [{low}, {high}]")

    @property
    def n_in(self) -> int:
        """Input channels."""
        return int(np.shape(self.w_in)[0])

    @property
    def n_hidden(self) -> int:
        """Hidden neurons."""
        return int(np.shape(self.w_in)[1])

    @property
    def n_out(self) -> int:
        """Readout neurons."""
        return int(np.shape(self.w_out)[1])


@dataclass(frozen=True)
class XyloTrace:
    """Every state of a Xylo run, each ``[batch, steps, neurons]`` int64, recorded after step ``t``."""

    isyn: np.ndarray
    isyn2: np.ndarray
    vmem: np.ndarray
    spikes: np.ndarray
    """Hidden spike counts (0..31)."""
    isyn_out: np.ndarray
    vmem_out: np.ndarray
    spikes_out: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        """Return the fields by name (for slot-by-slot comparison)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def saturate(x: np.ndarray) -> np.ndarray:
    """Return ``x`` clipped to Xylo's 16-bit two's-complement state range."""
    return np.clip(x, XYLO.v_min, XYLO.v_max)


def decay_step(x: np.ndarray, dash: np.ndarray) -> np.ndarray:
    """Return what one bit-shift decay removes from ``x``: ``x >> dash``, at least 1 where ``x > 0``."""
    step = x >> dash
    return np.where((x > 0) & (step == 0), 1, step)


def membrane_step(v: np.ndarray, dash: np.ndarray, current: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Return the next membrane: ``sat(v + sat(sat(current - step(v, dash)) + bias))`` (16-bit negation)."""
    step = decay_step(v, dash)
    negated = np.where(step == XYLO.v_min, XYLO.v_min, -step)
    return saturate(v + saturate(saturate(current + negated) + bias))


def deliver(state: np.ndarray, counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Add ``counts[:, j] * weights[j]`` for each source ``j`` in order, saturating after each."""
    for j in np.flatnonzero(np.any(weights.reshape(weights.shape[0], -1) != 0, axis=1)):
        increment = counts[:, j].reshape((-1,) + (1,) * (state.ndim - 1)) * weights[j][None]
        state = saturate(state + increment)
    return state


def _per_neuron(core: XyloCore, name: str) -> np.ndarray:
    """Return the per-neuron field ``name`` as int64 with a leading batch axis of 1."""
    return np.asarray(getattr(core, name), np.int64)[None]


def simulate_xylo_core(core: XyloCore, spikes: np.ndarray) -> XyloTrace:
    """Run ``core`` on input event counts ``spikes`` ``[batch, steps, n_in]``, each sample from reset.

    Returns:
        The :class:`XyloTrace` of every state after every step.

    Raises:
        QuantizationRangeError: if ``spikes`` has the wrong shape or negative counts.
    """
    spikes = np.asarray(spikes)
    if spikes.ndim != 3 or spikes.shape[2] != core.n_in:
        raise QuantizationRangeError(f"Xylo input must be [batch, steps, {core.n_in}], got {spikes.shape}")
    if spikes.size and spikes.min() < 0:
        raise QuantizationRangeError("Xylo input event counts must be >= 0")
    batch, steps, _ = spikes.shape
    counts_in = np.minimum(spikes.astype(np.int64), XYLO.max_input_spikes_per_step)
    w_in = np.asarray(core.w_in, np.int64) << int(core.weight_shift_in)
    w_rec = np.asarray(core.w_rec, np.int64) << int(core.weight_shift_rec)
    w_out = np.asarray(core.w_out, np.int64) << int(core.weight_shift_out)
    dash_syn, dash_mem, threshold, bias = (_per_neuron(core, n) for n in ("dash_syn", "dash_mem", "threshold", "bias"))
    dash_syn_out, dash_mem_out, threshold_out, bias_out = (
        _per_neuron(core, n) for n in ("dash_syn_out", "dash_mem_out", "threshold_out", "bias_out")
    )
    isyn = np.zeros((batch, core.n_hidden, 2), np.int64)
    vmem = np.zeros((batch, core.n_hidden), np.int64)
    isyn_out = np.zeros((batch, core.n_out), np.int64)
    vmem_out = np.zeros((batch, core.n_out), np.int64)
    fired = np.zeros((batch, core.n_hidden), np.int64)
    record: dict[str, list[np.ndarray]] = {name: [] for name in XyloTrace.__dataclass_fields__}
    for t in range(steps):
        isyn = deliver(isyn, counts_in[:, t], w_in)
        isyn = deliver(isyn, fired, w_rec)
        isyn_out = deliver(isyn_out, fired, w_out)
        isyn = isyn - decay_step(isyn, dash_syn)
        vmem = membrane_step(vmem, dash_mem, isyn[..., 0] + isyn[..., 1], bias)
        fired = np.where(vmem >= threshold, np.minimum(vmem // threshold, XYLO.max_spikes_per_step), 0)
        vmem = vmem - fired * threshold
        isyn_out = isyn_out - decay_step(isyn_out, dash_syn_out)
        vmem_out = membrane_step(vmem_out, dash_mem_out, isyn_out, bias_out)
        fired_out = (vmem_out >= threshold_out).astype(np.int64) * OUTPUT_SPIKES_PER_STEP
        vmem_out = vmem_out - fired_out * threshold_out
        for name, value in zip(
            record, (isyn[..., 0], isyn[..., 1], vmem, fired, isyn_out, vmem_out, fired_out), strict=True
        ):
            record[name].append(value)
    empty = {"isyn": core.n_hidden, "isyn2": core.n_hidden, "vmem": core.n_hidden, "spikes": core.n_hidden}
    return XyloTrace(
        **{
            name: np.stack(values, axis=1) if values else np.zeros((batch, 0, empty.get(name, core.n_out)), np.int64)
            for name, values in record.items()
        }
    )
