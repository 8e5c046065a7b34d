"""The ``xylo`` backend (target ``xylo-sim``): SynSense's bit-accurate simulator ``xylosim`` as the hardware.

The integer graph (:class:`~latdeploy.ir.xylo_nodes.XyloIAFInt` layers from
:mod:`latdeploy.passes.quantize_xylo`) becomes one Xylo core
(:func:`~latdeploy.backends.xylo.core_of_graph.xylo_core_of`), which xylosim runs for
``T + lag`` steps; each layer's records are shifted back by its lag (0 for the first hidden layer,
one more per layer after it) into algorithmic time, as the fixed-point simulator returns them.
"""

from __future__ import annotations

import time

import numpy as np

from latdeploy.backends.base import BACKENDS, BackendRun
from latdeploy.backends.xylo.core_of_graph import hidden_offsets, xylo_core_of, xylo_layers
from latdeploy.backends.xylo.xylosim_run import run_xylosim, xylosim_version
from latdeploy.errors import BackendError
from latdeploy.hw.arithmetic import XYLO
from latdeploy.ir import Graph
from latdeploy.sim.trace import LayerTrace, Trace


def _layer_trace(spikes: np.ndarray, isyn: np.ndarray, vmem: np.ndarray, threshold: np.ndarray) -> LayerTrace:
    """Return a layer's trace from xylosim's records (``v_pre = v + spikes * threshold``: the reset undone)."""
    v_pre = vmem + spikes * threshold[None, None]
    return LayerTrace(
        spikes=spikes.astype(np.uint8), v_pre=v_pre.astype(np.int32), u=isyn.astype(np.int32), v=vmem.astype(np.int32)
    )


def _at_limit(layer: LayerTrace) -> dict[str, int]:
    """Count the slots where ``Isyn`` or ``Vmem`` (before the reset) sat at a 16-bit limit, as the kernel does."""
    limits = (XYLO.v_min, XYLO.v_max)
    return {
        "u_saturations": int(np.isin(layer.u, limits).sum()),
        "v_saturations": int(np.isin(layer.v_pre, limits).sum()),
    }


class XyloBackend:
    """The integer Xylo graph on xylosim 0.1.3's ``XyloLayer`` (Xylo Audio 2 / IMU core)."""

    name = "xylo"
    target = "xylo-sim"
    label = "xylosim 0.1.3 (SynSense Xylo Audio 2, SYNS61201)"
    short_label = "Xylo"
    run_config = "xylosim.v2.XyloLayer"

    def run(self, graph: Graph, spikes: np.ndarray, timeout: float | None = None) -> BackendRun:
        """Run ``graph`` on ``spikes`` ``[B, T, n_in]`` in xylosim, every sample from reset.

        Returns:
            The :class:`BackendRun` (trace in algorithmic time; ``hardware_steps`` = ``T`` + the readout's lag).

        Raises:
            ResourceError: if the graph is not one Xylo core.
            BackendError: if xylosim is missing, its run fails or takes longer than ``timeout``.
        """
        started = time.perf_counter()
        layers = xylo_layers(graph)
        core = xylo_core_of(graph)
        spikes = np.asarray(spikes)
        batch, steps = spikes.shape[:2]
        lag = graph.lag(layers[-1].name)
        padded = np.zeros((batch, steps + lag, core.n_in), np.int64)
        padded[:, :steps] = spikes.reshape(batch, steps, -1)
        record = run_xylosim(core, padded, timeout)
        traces, overflow = {}, {}
        offsets = hidden_offsets(graph)
        for node in layers:
            at = graph.lag(node.name)
            window = slice(at, at + steps)
            if node.name in offsets:
                neurons = slice(offsets[node.name], offsets[node.name] + node.size)
                parts = (record.spikes[..., neurons], record.isyn[..., neurons], record.vmem[..., neurons])
            else:
                parts = (record.spikes_out, record.isyn_out, record.vmem_out)
            spikes_, isyn, vmem = (part[:, window] for part in parts)
            traces[node.name] = _layer_trace(spikes_, isyn, vmem, node.threshold.astype(np.int64))
            overflow[node.name] = _at_limit(traces[node.name])
        if len(traces) != len(layers):
            raise BackendError("xylosim returned fewer layers than the graph has")
        return BackendRun(
            trace=Trace(layers=traces, overflow=overflow),
            seconds=time.perf_counter() - started,
            hardware_steps=steps + lag,
        )

    def versions(self) -> dict[str, str]:
        """Return ``{"xylosim": version}`` (``{}`` when xylosim is not installed)."""
        try:
            return {"xylosim": xylosim_version()}
        except BackendError:
            return {}


BACKENDS.add(XyloBackend.name, XyloBackend())
