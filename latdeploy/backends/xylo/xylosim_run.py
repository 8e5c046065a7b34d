"""Run a :class:`~latdeploy.sim.xylo_core.XyloCore` on SynSense's own simulator, ``xylosim``.

Drives ``xylosim.v2.XyloLayer`` directly, the way Rockpool 3.1's
``rockpool/devices/xylo/syns61201/xylo_sim.py`` (``XyloSim.from_specification``) does: one
list of ``XyloSynapse(target_neuron, target_synapse, weight)`` per presynaptic input, hidden
and readout source; ``rockpool.devices.xylo`` itself does not import without ``samna``. The
synapse objects must outlive the layer: ``XyloLayer`` keeps raw pointers to them (dropping the
lists crashes ``evolve``), so :func:`run_xylosim` holds them until the run ends.
"""

from __future__ import annotations

import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np

from latdeploy.errors import BackendError
from latdeploy.sim.xylo_core import XyloCore, XyloTrace


def _xylosim() -> Any:
    """Return ``xylosim.v2``.

    Raises:
        BackendError: if xylosim is not installed (the ``xylo`` extra, Python 3.10 only).
    """
    try:
        import xylosim.v2
    except ImportError as error:
        raise BackendError(
            f"xylosim is not installed ({error}); install the 'xylo' extra: pip install 'latdeploy[xylo]' (Python 3.10)"
        ) from error
    return xylosim.v2


def xylosim_version() -> str:
    """Return the installed xylosim's version.

    Raises:
        BackendError: if xylosim is not installed.
    """
    try:
        return version("xylosim")
    except PackageNotFoundError as error:
        raise BackendError("xylosim is not installed; install the 'xylo' extra") from error


def _synapses(v2: Any, weights: np.ndarray) -> list[list[Any]]:
    """Return one list of ``XyloSynapse`` per presynaptic row of ``weights`` ``[pre, post, syn]``."""
    return [
        [v2.XyloSynapse(int(post), int(syn), int(row[post, syn])) for post, syn in zip(*np.nonzero(row), strict=True)]
        for row in weights
    ]


def run_xylosim(core: XyloCore, spikes: np.ndarray, timeout: float | None = None) -> XyloTrace:
    """Run ``core`` on xylosim for input counts ``spikes`` ``[batch, steps, n_in]``, each sample from reset.

    ``timeout`` limits the wall-clock seconds of the whole run (None: no limit).

    Returns:
        The :class:`~latdeploy.sim.xylo_core.XyloTrace` xylosim records (``rec_*``, its output spikes).

    Raises:
        BackendError: if xylosim is missing, its run fails or takes longer than ``timeout``.
    """
    v2 = _xylosim()
    started = time.perf_counter()
    synapses_in = _synapses(v2, np.asarray(core.w_in))
    synapses_rec = _synapses(v2, np.asarray(core.w_rec))
    synapses_out = _synapses(v2, np.asarray(core.w_out)[..., None])
    try:
        layer = v2.XyloLayer(
            synapses_in,
            synapses_rec,
            synapses_out,
            [[] for _ in range(core.n_hidden)],
            np.asarray(core.threshold).tolist(),
            np.asarray(core.threshold_out).tolist(),
            True,
            np.asarray(core.bias).tolist(),
            np.asarray(core.bias_out).tolist(),
            int(core.weight_shift_in),
            int(core.weight_shift_rec),
            int(core.weight_shift_out),
            np.asarray(core.dash_mem).tolist(),
            np.asarray(core.dash_mem_out).tolist(),
            np.asarray(core.dash_syn).tolist(),
            [[int(d)] for d in np.asarray(core.dash_syn_out)],
            "latdeploy",
        )
        samples = []
        for sample in np.asarray(spikes):
            if timeout is not None and time.perf_counter() - started > timeout:
                raise BackendError(f"xylosim took longer than the timeout of {timeout:g} s")
            layer.reset_all()
            out = np.array(layer.evolve(sample.astype(int).tolist()), np.int64).reshape(len(sample), core.n_out)
            samples.append(
                (
                    np.array(layer.rec_i_syn, np.int64).reshape(core.n_hidden, -1).T,
                    np.array(layer.rec_i_syn2, np.int64).reshape(core.n_hidden, -1).T,
                    np.array(layer.rec_v_mem, np.int64).reshape(core.n_hidden, -1).T,
                    np.array(layer.rec_recurrent_spikes, np.int64).reshape(-1, core.n_hidden),
                    np.array(layer.rec_i_syn_out, np.int64).reshape(core.n_out, -1).T,
                    np.array(layer.rec_v_mem_out, np.int64).reshape(core.n_out, -1).T,
                    out,
                )
            )
    except (RuntimeError, TypeError, ValueError) as error:
        raise BackendError(f"xylosim failed: {error}") from error
    finally:
        del synapses_in, synapses_rec, synapses_out
    names = list(XyloTrace.__dataclass_fields__)
    return XyloTrace(**{name: np.stack([s[k] for s in samples]) for k, name in enumerate(names)})
