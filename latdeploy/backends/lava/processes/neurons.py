"""Lava Processes of latdeploy's custom neurons: soft reset, TTFS single spike, multi-threshold graded.

Each declares the ports and state of Lava's ``LIF`` (``a_in``, ``s_out``, ``u``, ``v``,
``du``, ``dv``, ``vth``, ``bias_mant``, ``bias_exp``) plus the per-sample reset of
``LIFReset`` (every ``reset_interval`` steps at ``reset_offset``, counting steps from
1). Their ``fixed_pt`` models live in :mod:`.neuron_models`; the integer IR nodes of
:mod:`latdeploy.ir.neurons_ext` state the equations.
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class LatencyNeuronProcess(AbstractProcess):
    """Base of latdeploy's neuron Processes: CUBA LIF state with a per-sample reset.

    Args (keyword only): ``shape``, ``du``, ``dv`` (12-bit decays), ``vth`` (17-bit,
    compared as ``v >= vth << 6``), ``bias_mant`` and ``bias_exp`` (per neuron or
    scalar), ``reset_interval`` (steps per sample), ``reset_offset`` (phase), ``name``.
    """

    def __init__(
        self,
        *,
        shape: tuple[int, ...],
        du: int = 4095,
        dv: int = 0,
        vth: int = 1,
        bias_mant: int | np.ndarray = 0,
        bias_exp: int | np.ndarray = 6,
        reset_interval: int = 1,
        reset_offset: int = 0,
        name: str | None = None,
        **params: int | str,
    ) -> None:
        super().__init__(shape=shape, reset_interval=reset_interval, reset_offset=reset_offset, name=name, **params)
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.u = Var(shape=shape, init=0)
        self.v = Var(shape=shape, init=0)
        self.du = Var(shape=(1,), init=du)
        self.dv = Var(shape=(1,), init=dv)
        self.vth = Var(shape=(1,), init=vth)
        self.bias_mant = Var(shape=shape, init=bias_mant)
        self.bias_exp = Var(shape=shape, init=bias_exp)


class SoftResetLIFProcess(LatencyNeuronProcess):
    """CUBA LIF with subtractive reset: spike if ``v >= vth << 6``, then ``v -= vth << 6``."""


class TTFSProcess(LatencyNeuronProcess):
    """TTFS neuron: spike if ``v >= vth << 6`` and it has not fired this sample; then ``v``
    stays 0. The extra state ``fired`` (0/1 per neuron) is cleared with ``u`` and ``v``."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fired = Var(shape=kwargs["shape"], init=0)


class MultiThresholdLIFProcess(LatencyNeuronProcess):
    """Multi-threshold LIF with a graded output: payload ``min(levels, v // (vth << 6))``
    once ``v >= vth << 6``; ``reset`` ``"zero"`` or ``"subtract"`` (``v -= payload * (vth << 6)``).

    Connect ``s_out`` to a ``Dense``/``Conv`` with ``num_message_bits`` >= the bits of ``levels``.
    """

    def __init__(self, *, levels: int = 2, reset: str = "zero", **kwargs) -> None:
        if reset not in ("zero", "subtract"):
            raise ValueError(f"reset must be 'zero' or 'subtract', got {reset!r}")
        super().__init__(levels=int(levels), reset=reset, **kwargs)
