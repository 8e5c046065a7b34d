"""Lava Process that passes a neuron layer's payloads only inside its sample windows.

The runner puts many samples in one Lava run and resets each layer every ``period``
steps at its lag, but a neuron with a positive bias can still fire before its first
reset (hardware steps ``< lag``) and in the padding after each window. Without a delay
the next layer resets after those spikes arrive; behind an axonal delay they would
arrive inside the next layer's window, which the fixed-point simulator (every sample
from zero state) never sees. :class:`WindowGate` sits between such a neuron and its
delay and drops them. Its ``fixed_pt`` model lives in :mod:`.window_gate_models`.
"""

from __future__ import annotations

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess


class WindowGate(AbstractProcess):
    """Pass ``s_in`` to ``s_out`` in the same step at hardware steps ``h`` (0-based) with
    ``h >= lag`` and ``(h - lag) % period < timesteps``; send zeros otherwise.

    Args (keyword only): ``shape``, ``lag``, ``period``, ``timesteps``, ``name``.
    """

    def __init__(self, *, shape: tuple[int, ...], lag: int, period: int, timesteps: int, name: str | None = None):
        super().__init__(shape=shape, lag=int(lag), period=int(period), timesteps=int(timesteps), name=name)
        self.s_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
