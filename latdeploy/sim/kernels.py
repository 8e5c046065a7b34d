"""Compiled (numba) kernels of the fixed-point simulator: pure functions on arrays.

Each kernel reproduces one lava-nc 0.10.0 ``fixed_pt`` process model bit for bit
(see :mod:`latdeploy.sim.fixed` for the node-level wrappers and every cast). All
arithmetic is done in int64 and brought back to int32 exactly where Lava's numpy
code wraps (:func:`wrap_int32`), so the kernels equal the numpy reference on every
input, overflowing ones included.

Layout: currents and spikes are ``[B, T, N]`` (samples, steps, neurons), C order.
A neuron kernel loops over time per sample; the work is split into tasks of
(sample, block of :data:`BLOCK` neurons) run in parallel (``prange``) on all
cores, the inner loop running over one step's contiguous neurons. A kernel with
less work than :data:`PARALLEL_NEURONS` neuron updates (:data:`PARALLEL_ADDS`
synaptic additions) runs the same loops on the calling thread (:func:`run_in_parallel`):
starting the threads and waiting for the last one costs more than such work.

Every CUBA neuron kind with a ``mode`` runs in :func:`cuba_neuron_kernel` (the update
:func:`cuba_step`, then the kind's firing and reset rule chosen by ``mode``, the rule its
module writes once for numpy and torch: :mod:`latdeploy.neurons`); a kind without one runs its
numpy rule. Widths and shifts are :data:`latdeploy.hw.arithmetic.LOIHI`'s, taken into module
constants that numba compiles in.
"""

from __future__ import annotations

import multiprocessing
import os

import numba
import numpy as np
from numba import njit, prange

from latdeploy.hw.arithmetic import LOIHI
from latdeploy.sim.fixed_weights import DenseWeights
from latdeploy.sim.kernel_modes import HARD_RESET, MULTI_ZERO, SOFT_RESET, TTFS_MODE

STATE_LIMIT = LOIHI.state_limit  # Lava's max_uv_val: u wraps above it, v saturates below it
DECAY_SHIFT = LOIHI.decay_bits
ACTIVATION_SHIFT = LOIHI.activation_shift
BLOCK = 64  # neurons per parallel task
EVENT_DENSITY = 0.25  # below this fraction of non-zero inputs, Dense accumulates events
# work from which a kernel runs on all cores (about a millisecond on one; below it, starting the threads and
# waiting for the last of them, which a busy machine may have descheduled, costs more than it saves)
PARALLEL_NEURONS = 1 << 20  # neuron updates (samples x steps x neurons)
PARALLEL_ADDS = 1 << 23  # synaptic additions (input events x fan-out)


def start_threads() -> None:
    """Start numba's thread pool, leaving multiprocessing's start method as it was.

    The pool is numba's ``workqueue`` layer unless ``NUMBA_THREADING_LAYER`` chooses
    another: OpenMP's spinning barriers made the kernels ten times slower on a
    2-core machine shared with other busy processes. ``workqueue`` runs one parallel
    kernel at a time: do not call the kernels from several threads at once.
    numba's first parallel launch calls ``multiprocessing.get_start_method()``, which
    fixes the process's start method; lava-nc sets it itself when imported and fails
    ("context has already been set") if it is fixed already. Without this, a
    simulation run before the first ``import lava`` would break every later Lava run.
    """
    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "workqueue"
    before = multiprocessing.get_start_method(allow_none=True)
    numba.get_num_threads()
    if before is None:
        multiprocessing.set_start_method(None, force=True)


start_threads()


@njit(inline="always", cache=True)
def wrap_int32(x: int) -> int:
    """Return int64 ``x`` wrapped to int32 (numpy's ``astype(np.int32)``), as int64."""
    return ((x + 0x80000000) & 0xFFFFFFFF) - 0x80000000


# The helpers below are branch-free (comparisons used as 0/1 integers, min/max) so that the
# compiler vectorizes the loops over neurons; each equals the branching form in its docstring.


@njit(inline="always", cache=True)
def decay_toward_zero(state: int, factor: int) -> int:
    """Return ``int32(sign(p) * (|p| >> 12))`` for ``p = state * factor`` (Lava's decay): ``-((-p) >> 12)``
    for ``p < 0``, else ``p >> 12``."""
    product = state * factor
    return wrap_int32((abs(product) >> DECAY_SHIFT) * (1 - 2 * np.int64(product < 0)))


@njit(inline="always", cache=True)
def wrap_u24(summed: int) -> tuple[int, int]:
    """Return ``(u, wrapped)``: Lava's single 24-bit wrap of ``u`` (``summed - 2^24`` above ``2^23``,
    ``summed + 2^24`` at or below ``-2^23``) and 1 if it applied."""
    over = np.int64(summed > STATE_LIMIT)
    under = np.int64(summed <= -STATE_LIMIT)
    return summed - 2 * STATE_LIMIT * over + 2 * STATE_LIMIT * under, over | under


@njit(inline="always", cache=True)
def saturate_v(updated: int) -> tuple[int, int]:
    """Return ``(v, saturated)``: ``updated`` clipped to +-(2^23 - 1) and 1 if it was."""
    saturated = np.int64(updated > STATE_LIMIT - 1) | np.int64(updated < -STATE_LIMIT + 1)
    return min(max(updated, -STATE_LIMIT + 1), STATE_LIMIT - 1), saturated


@njit(inline="always", cache=True)
def cuba_step(u: int, v: int, current: int, decay_u: int, decay_v: int, bias: int) -> tuple[int, int, int, int]:
    """One step of Lava's CUBA update before any firing rule, on int64 state ``u``, ``v``.

    ``current`` is the neuron's int32 input, ``decay_u``/``decay_v``/``bias`` as in
    :func:`lif_int_kernel`.

    Returns:
        ``(u, wrapped, v, saturated)``: the new ``u`` (24-bit wrap) and ``v`` (saturated,
        before reset) and 1 where the wrap or saturation applied.
    """
    shifted = wrap_int32(np.int64(current) << ACTIVATION_SHIFT)
    new_u, wrapped = wrap_u24(wrap_int32(decay_toward_zero(u, decay_u) + shifted))
    updated = wrap_int32(wrap_int32(decay_toward_zero(v, decay_v) + new_u) + bias)
    new_v, saturated = saturate_v(updated)
    return new_u, wrapped, new_v, saturated


@njit(inline="always", cache=True)
def task_block(task: int, blocks: int, size: int) -> tuple[int, int, int]:
    """Return ``(sample, start, stop)``: the sample and neuron range ``[start, stop)`` of parallel ``task``."""
    start = (task % blocks) * BLOCK
    return task // blocks, start, min(start + BLOCK, size)


@njit(cache=True)
def _cuba_task(
    current: np.ndarray,
    outputs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    sample: int,
    start: int,
    stop: int,
    decays: tuple[int, int],
    theta: int,
    bias: np.ndarray,
    mode: int,
    levels: int,
) -> tuple[int, int]:
    """Run neurons ``[start, stop)`` of ``sample`` over every step (:func:`cuba_neuron_kernel`), writing
    ``outputs`` ``(payloads, v_pre, u, v)``; returns ``(u_wraps, v_saturations)`` of the range.

    The loops over neurons run on one step's contiguous rows (1-D views), so the compiler
    vectorizes them."""
    spikes, v_pre, u_out, v_out = outputs
    decay_u, decay_v = decays
    steps = current.shape[1]
    width = stop - start
    u = np.zeros(width, np.int64)
    v = np.zeros(width, np.int64)
    fired = np.zeros(width, np.bool_)
    bias_row = bias[start:stop]
    wraps = 0
    saturations = 0
    for step in range(steps):
        current_row = current[sample, step, start:stop]
        spikes_row = spikes[sample, step, start:stop]
        v_pre_row = v_pre[sample, step, start:stop]
        u_row = u_out[sample, step, start:stop]
        v_row = v_out[sample, step, start:stop]
        if mode == HARD_RESET:  # Lava's LIF, branch-free: the loop over neurons vectorizes
            for k in range(width):
                new_u, wrapped, new_v, saturated = cuba_step(u[k], v[k], current_row[k], decay_u, decay_v, bias_row[k])
                wraps += wrapped
                saturations += saturated
                payload = np.int64(new_v > theta)
                v_pre_row[k] = new_v
                new_v *= 1 - payload
                spikes_row[k] = payload
                u[k] = new_u
                v[k] = new_v
                u_row[k] = new_u
                v_row[k] = new_v
            continue
        for k in range(width):
            new_u, wrapped, new_v, saturated = cuba_step(u[k], v[k], current_row[k], decay_u, decay_v, bias_row[k])
            wraps += wrapped
            payload = 0
            if mode == TTFS_MODE:
                if fired[k]:
                    new_v = 0
                else:
                    saturations += saturated
                    if new_v >= theta:
                        payload = 1
                v_pre_row[k] = new_v
                if payload:
                    new_v = 0
                    fired[k] = True
            else:
                saturations += saturated
                if new_v >= theta:
                    payload = 1 if mode == SOFT_RESET else min(new_v // theta, levels)
                v_pre_row[k] = new_v
                if payload:
                    if mode == MULTI_ZERO:
                        new_v = 0
                    else:
                        new_v -= payload * theta
            spikes_row[k] = payload
            u[k] = new_u
            v[k] = new_v
            u_row[k] = new_u
            v_row[k] = new_v
    return wraps, saturations


@njit(parallel=True, cache=True)
def _cuba_parallel(
    current: np.ndarray,
    outputs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    decays: tuple[int, int],
    theta: int,
    bias: np.ndarray,
    mode: int,
    levels: int,
) -> tuple[int, int]:
    """:func:`_cuba_task` over (sample, block of :data:`BLOCK` neurons) tasks on all cores; returns the counts."""
    batch, _, size = current.shape
    blocks = (size + BLOCK - 1) // BLOCK
    wraps = np.zeros(batch * blocks, np.int64)
    saturations = np.zeros(batch * blocks, np.int64)
    for task in prange(batch * blocks):
        sample, start, stop = task_block(task, blocks, size)
        wraps[task], saturations[task] = _cuba_task(
            current, outputs, sample, start, stop, decays, theta, bias, mode, levels
        )
    return wraps.sum(), saturations.sum()


@njit(cache=True)
def _cuba_serial(
    current: np.ndarray,
    outputs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    decays: tuple[int, int],
    theta: int,
    bias: np.ndarray,
    mode: int,
    levels: int,
) -> tuple[int, int]:
    """:func:`_cuba_task` sample by sample, all neurons at once, on this thread; returns the counts."""
    batch, _, size = current.shape
    wraps = 0
    saturations = 0
    for sample in range(batch):
        task_wraps, task_saturations = _cuba_task(current, outputs, sample, 0, size, decays, theta, bias, mode, levels)
        wraps += task_wraps
        saturations += task_saturations
    return wraps, saturations


def run_in_parallel(work: int, threshold: int, parallel: bool | None) -> bool:
    """Return whether a kernel with ``work`` runs on all cores: ``parallel`` if given, else whether
    ``work`` reaches ``threshold`` (:data:`PARALLEL_NEURONS`, :data:`PARALLEL_ADDS`)."""
    return work >= threshold if parallel is None else parallel


def cuba_neuron_kernel(
    current: np.ndarray,
    decay_u: int,
    decay_v: int,
    theta: int,
    bias: np.ndarray,
    mode: int,
    levels: int,
    parallel: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Run CUBA neurons firing by rule ``mode`` over ``current`` ``[B, T, N]`` (int32) from zero state.

    ``decay_u = 2**12 - (du + 1)``, ``decay_v = 2**12 - dv``, ``theta = vth << 6``, ``bias`` =
    ``bias_mant << bias_exp`` per neuron (int32 values, any integer array); ``mode`` one of
    :data:`HARD_RESET` (Lava's ``LIF``), :data:`SOFT_RESET`, :data:`TTFS_MODE`, :data:`MULTI_ZERO`,
    :data:`MULTI_SUBTRACT` (``levels`` the most a multi-threshold payload can be). ``parallel``:
    run on all cores (True), on this thread (False) or by size (None, :func:`run_in_parallel`);
    the results are the same.

    Returns:
        ``(payloads, v_pre, u, v, u_wraps, v_saturations)``: uint8 payloads and int32
        ``v`` before reset, ``u`` and ``v`` per step, each ``[B, T, N]``, and the counts.
    """
    current = np.ascontiguousarray(current, dtype=np.int32)
    bias = np.ascontiguousarray(bias, dtype=np.int64)
    outputs = (
        np.empty(current.shape, np.uint8),
        np.empty(current.shape, np.int32),
        np.empty(current.shape, np.int32),
        np.empty(current.shape, np.int32),
    )
    run = _cuba_parallel if run_in_parallel(current.size, PARALLEL_NEURONS, parallel) else _cuba_serial
    wraps, saturations = run(current, outputs, (int(decay_u), int(decay_v)), int(theta), bias, int(mode), int(levels))
    return (*outputs, int(wraps), int(saturations))


def lif_int_kernel(
    current: np.ndarray,
    decay_u: int,
    decay_v: int,
    threshold: int,
    bias: np.ndarray,
    parallel: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """CUBA LIF (Lava ``LIF`` ``fixed_pt``) over ``current`` ``[B, T, N]`` (int32) from zero state.

    ``decay_u = 4096 - (du + 1)``, ``decay_v = 4096 - dv``, ``threshold = vth << 6``,
    ``bias`` = ``bias_mant << bias_exp`` per neuron (int32 values); ``parallel`` as
    :func:`cuba_neuron_kernel`.

    Returns:
        ``(spikes, v_pre, u, v, u_wraps, v_saturations)``: uint8 spikes and int32
        ``v`` before reset, ``u`` and ``v`` per step, each ``[B, T, N]``, and the counts.
    """
    return cuba_neuron_kernel(current, decay_u, decay_v, threshold, bias, HARD_RESET, 1, parallel)


@njit(inline="always", cache=True)
def shift_to_int32(accumulated: int, weight_exp: int) -> int:
    """Return Lava Dense's output: ``accumulated`` shifted by ``weight_exp`` (floor right), wrapped to int32."""
    if weight_exp > 0:
        return wrap_int32(accumulated << weight_exp)
    return wrap_int32(accumulated >> -weight_exp)


@njit(cache=True)
def _dense_row(spikes: np.ndarray, row: int, weight_t: np.ndarray, accumulated: np.ndarray, events: np.ndarray) -> None:
    """Sum ``payload * weight_t[i]`` over the non-zero inputs ``i`` of ``spikes[row]`` into ``accumulated``
    (zeroed first). The non-zero inputs are listed first (branch-free, into ``events``), then added two
    weight rows per pass over ``accumulated`` (without a multiply where both payloads are 1)."""
    accumulated[:] = 0
    fan_out = weight_t.shape[1]
    spikes_row = spikes[row]
    count = 0
    for i in range(spikes_row.shape[0]):
        events[count] = i
        count += spikes_row[i] != 0
    p = 0
    while p + 1 < count:
        first, second = events[p], events[p + 1]
        payload_first, payload_second = np.int64(spikes_row[first]), np.int64(spikes_row[second])
        row_first, row_second = weight_t[first], weight_t[second]
        if payload_first == 1 and payload_second == 1:
            for j in range(fan_out):
                accumulated[j] += row_first[j] + row_second[j]
        else:
            for j in range(fan_out):
                accumulated[j] += payload_first * row_first[j] + payload_second * row_second[j]
        p += 2
    if p < count:
        last = events[p]
        payload, weight_row = np.int64(spikes_row[last]), weight_t[last]
        for j in range(fan_out):
            accumulated[j] += payload * weight_row[j]


@njit(cache=True)
def _dense_rows(
    spikes: np.ndarray,
    first: int,
    last: int,
    weight_t: np.ndarray,
    weight_exp: int,
    delays: np.ndarray,
    out: np.ndarray,
) -> None:
    """Lava Dense on rows ``[first, last)`` of ``spikes`` ``[B * T, in]``, one sample's steps in order, into
    ``out`` ``[B * T, out]``: with ``delays`` empty, row by row; else output ``j`` of a step lands
    ``delays[j]`` rows later (within the sample: ``last``; ``out`` zero there before)."""
    fan_out = weight_t.shape[1]
    accumulated = np.zeros(fan_out, weight_t.dtype)
    events = np.empty(spikes.shape[1], np.int64)
    delayed = delays.size > 0
    for row in range(first, last):
        _dense_row(spikes, row, weight_t, accumulated, events)
        if not delayed:
            out_row = out[row]
            for j in range(fan_out):
                out_row[j] = shift_to_int32(accumulated[j], weight_exp)
            continue
        for j in range(fan_out):
            target = row + delays[j]
            if target < last:
                out[target, j] = shift_to_int32(accumulated[j], weight_exp)


@njit(parallel=True, cache=True)
def _dense_parallel(
    spikes: np.ndarray, weight_t: np.ndarray, weight_exp: int, delays: np.ndarray, out: np.ndarray, steps: int
) -> None:
    """:func:`_dense_rows` on all cores: one task per row, or per sample of ``steps`` rows with ``delays``."""
    per_task = steps if delays.size else 1
    for task in prange(spikes.shape[0] // per_task):
        _dense_rows(spikes, task * per_task, (task + 1) * per_task, weight_t, weight_exp, delays, out)


@njit(cache=True)
def _dense_serial(
    spikes: np.ndarray, weight_t: np.ndarray, weight_exp: int, delays: np.ndarray, out: np.ndarray, steps: int
) -> None:
    """:func:`_dense_rows` on this thread, sample by sample."""
    for sample in range(spikes.shape[0] // steps):
        _dense_rows(spikes, sample * steps, (sample + 1) * steps, weight_t, weight_exp, delays, out)


def dense_events_kernel(
    spikes: np.ndarray,
    weight_t: np.ndarray,
    weight_exp: int,
    delays: np.ndarray | None = None,
    steps: int = 1,
    parallel: bool | None = None,
) -> np.ndarray:
    """Event-driven Dense: per row of ``spikes`` ``[R, in]`` sum ``payload * weight_t[i]`` over non-zero inputs.

    ``weight_t`` is the transposed Lava weight ``[in, out]``; sums are accumulated in its integer
    type (int64, or int32 where the caller has bounded every sum below 2**31: half the memory
    traffic and twice the SIMD lanes; every partial sum is bounded by the same sum, so none wraps either).
    With ``delays`` (``[out]``, steps), the rows are ``R / steps``
    samples of ``steps`` steps and output ``j`` arrives ``delays[j]`` steps later (zero before, cut at
    the sample's last step): Lava's ``DelayDense`` with axonal delays. ``parallel`` as
    :func:`cuba_neuron_kernel`, the work being the number of synaptic adds.

    Returns:
        ``[R, out]`` int32: the sums shifted by ``weight_exp`` and wrapped as Lava's Dense does.
    """
    spikes = np.ascontiguousarray(spikes)
    weight_t = np.ascontiguousarray(weight_t)
    rows, fan_out = spikes.shape[0], weight_t.shape[1]
    if delays is None:
        delays, steps = np.zeros(0, np.int64), 1
        out = np.empty((rows, fan_out), np.int32)
    else:
        delays = np.ascontiguousarray(delays, dtype=np.int64)
        out = np.zeros((rows, fan_out), np.int32)
    work = np.count_nonzero(spikes) * fan_out if rows // steps > 1 else 0  # one sample with delays: one task
    run = _dense_parallel if run_in_parallel(work, PARALLEL_ADDS, parallel) else _dense_serial
    run(spikes, weight_t, int(weight_exp), delays, out, int(steps))
    return out


@njit(cache=True)
def _shift_wrap_serial(accumulated: np.ndarray, weight_exp: int, out: np.ndarray) -> None:
    """:func:`shift_wrap_kernel`'s loop on this thread."""
    rows, fan_out = accumulated.shape
    for row in range(rows):
        for j in range(fan_out):
            out[row, j] = shift_to_int32(np.int64(accumulated[row, j]), weight_exp)


@njit(parallel=True, cache=True)
def _shift_wrap_parallel(accumulated: np.ndarray, weight_exp: int, out: np.ndarray) -> None:
    """:func:`shift_wrap_kernel`'s loop on all cores, row by row."""
    rows, fan_out = accumulated.shape
    for row in prange(rows):
        for j in range(fan_out):
            out[row, j] = shift_to_int32(np.int64(accumulated[row, j]), weight_exp)


def shift_wrap_kernel(accumulated: np.ndarray, weight_exp: int, parallel: bool | None = None) -> np.ndarray:
    """Return float64 integer sums ``[R, out]`` (exact) shifted by ``weight_exp`` and wrapped to int32
    (``parallel`` as :func:`cuba_neuron_kernel`)."""
    accumulated = np.ascontiguousarray(accumulated)
    out = np.empty(accumulated.shape, np.int32)
    run = _shift_wrap_parallel if run_in_parallel(accumulated.size, PARALLEL_NEURONS, parallel) else _shift_wrap_serial
    run(accumulated, int(weight_exp), out)
    return out


@njit(parallel=True, cache=True)
def delay_dense_events_kernel(
    indptr: np.ndarray,
    columns: np.ndarray,
    payloads: np.ndarray,
    batch: int,
    steps: int,
    weight: np.ndarray,
    delay: np.ndarray,
    weight_exp: int,
) -> np.ndarray:
    """Event-driven Lava ``DelayDense``: inputs as CSR over the ``B * T`` rows (``indptr``, ``columns``, ``payloads``).

    For every step with input events and every output neuron, the contributions
    ``payload * weight[j, i]`` are summed per delay value ``delay[j, i]`` (int64),
    each sum is shifted by ``weight_exp`` and added ``delay`` steps later; contributions
    past the last step are dropped. ``weight`` and ``delay`` are ``[out, in]`` (int64).

    Returns:
        ``[B, T, out]`` int32: the int32 wrap of the summed contributions, as Lava's ring buffer holds it.
    """
    fan_out = weight.shape[0]
    groups = delay.max() + 1 if delay.size else 1
    blocks = (fan_out + BLOCK - 1) // BLOCK
    total = np.zeros((batch, steps, fan_out), np.int64)
    for task in prange(batch * blocks):
        sample, start, stop = task_block(task, blocks, fan_out)
        partial = np.zeros(groups, np.int64)
        touched = np.zeros(groups, np.bool_)
        order = np.empty(groups, np.int64)
        for step in range(steps):
            row = sample * steps + step
            first, last = indptr[row], indptr[row + 1]
            if first == last:
                continue
            for j in range(start, stop):
                count = 0
                for p in range(first, last):
                    i = columns[p]
                    group = delay[j, i]
                    if not touched[group]:
                        touched[group] = True
                        order[count] = group
                        count += 1
                    partial[group] += payloads[p] * weight[j, i]
                for q in range(count):
                    group = order[q]
                    if step + group < steps:
                        if weight_exp > 0:
                            total[sample, step + group, j] += partial[group] << weight_exp
                        else:
                            total[sample, step + group, j] += partial[group] >> -weight_exp
                    partial[group] = 0
                    touched[group] = False
    out = np.empty((batch, steps, fan_out), np.int32)
    for task in prange(batch):
        for step in range(steps):
            for j in range(fan_out):
                out[task, step, j] = wrap_int32(total[task, step, j])
    return out


def events_csr(spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(indptr, columns, payloads)``: the non-zero entries of ``spikes`` ``[R, in]`` row by row (int64)."""
    rows, columns = np.nonzero(spikes)
    indptr = np.zeros(spikes.shape[0] + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=spikes.shape[0]), out=indptr[1:])
    return indptr, columns.astype(np.int64), spikes[rows, columns].astype(np.int64)


@njit(cache=True)
def delay_columns_kernel(values: np.ndarray, delays: np.ndarray) -> np.ndarray:
    """Return ``values`` ``[B, T, N]`` with column ``j`` moved ``delays[j]`` steps later (zeros before, cut at T)."""
    batch, steps, size = values.shape
    out = np.zeros_like(values)
    for sample in range(batch):
        for step in range(steps):
            for j in range(size):
                if step + delays[j] < steps:
                    out[sample, step + delays[j], j] = values[sample, step, j]
    return out


def axonal_delays(delay: np.ndarray) -> np.ndarray | None:
    """Return the delay of each output neuron (int64 ``[out]``) if every synapse of an output has the same
    delay in ``delay`` ``[out, in]`` (axonal delays, as lava-dl's netx writes them), else None."""
    row_delay = delay[:, 0]
    return row_delay.astype(np.int64) if (delay == row_delay[:, None]).all() else None


def delay_dense_accumulate(
    spikes: np.ndarray, weight: np.ndarray | DenseWeights, delay: np.ndarray, weight_exp: int
) -> np.ndarray:
    """Lava ``DelayDense`` on ``spikes`` ``[B, T, in]`` (binary or graded) with Lava-stored ``weight`` and ``delay``.

    When each output neuron has one delay for all its synapses (:func:`axonal_delays`), that is a
    Dense whose output columns arrive later (:func:`dense_accumulate` with ``delays``); any other
    layout is accumulated per delay group, event by event.

    Returns:
        ``[B, T, out]`` int32: the synaptic input each step, each sample from an empty buffer.
    """
    batch, steps, fan_in = spikes.shape
    flat = spikes.reshape(batch * steps, fan_in)
    delays = axonal_delays(delay)
    if delays is not None:
        return dense_accumulate(flat, weight, weight_exp, delays, steps).reshape(batch, steps, -1)
    weights = weight if isinstance(weight, DenseWeights) else DenseWeights.of(weight)
    indptr, columns, payloads = events_csr(flat)
    return delay_dense_events_kernel(
        indptr, columns, payloads, batch, steps, weights.weight.astype(np.int64), delay.astype(np.int64), weight_exp
    )


@njit(inline="always", cache=True)
def wrap_signed24(x: int) -> int:
    """Return int64 ``x`` wrapped to signed 24 bits (Lava's ``signed_clamp(x, 24)``, of ``x`` or of
    its int32 wrap alike: ``(x + 2**23) mod 2**24 - 2**23``)."""
    return ((x + (1 << 23)) & ((1 << 24) - 1)) - (1 << 23)


@njit(cache=True)
def _conv_row(
    spikes: np.ndarray,
    row: int,
    weight_t: np.ndarray,
    groups: int,
    stride: tuple[int, int],
    padding: tuple[int, int],
    accumulated: np.ndarray,
) -> None:
    """Add the convolution of ``spikes[row]`` to ``accumulated`` ``[OH, OW, C_out]`` event by event
    (:func:`conv_events_kernel`)."""
    _, in_channels, height, width = spikes.shape
    per_group_in, kernel_h, kernel_w, out_channels = weight_t.shape
    per_group_out = out_channels // groups
    out_h, out_w = accumulated.shape[0], accumulated.shape[1]
    stride_h, stride_w = stride
    pad_h, pad_w = padding
    for c in range(in_channels):
        first = (c // per_group_in) * per_group_out
        ci = c % per_group_in
        for y in range(height):
            for x in range(width):
                payload = spikes[row, c, y, x]
                if payload == 0:
                    continue
                for dy in range((y + pad_h) % stride_h, kernel_h, stride_h):
                    oy = (y + pad_h - dy) // stride_h
                    if y + pad_h - dy < 0:
                        break
                    if oy >= out_h:
                        continue
                    for dx in range((x + pad_w) % stride_w, kernel_w, stride_w):
                        ox = (x + pad_w - dx) // stride_w
                        if x + pad_w - dx < 0:
                            break
                        if ox >= out_w:
                            continue
                        if payload == 1:
                            for o in range(first, first + per_group_out):
                                accumulated[oy, ox, o] += weight_t[ci, dy, dx, o]
                        else:
                            for o in range(first, first + per_group_out):
                                accumulated[oy, ox, o] += payload * weight_t[ci, dy, dx, o]


@njit(parallel=True, cache=True)
def conv_events_kernel(
    spikes: np.ndarray,
    weight_t: np.ndarray,
    groups: int,
    stride: tuple[int, int],
    padding: tuple[int, int],
    out_size: tuple[int, int],
) -> np.ndarray:
    """Event-driven exact 2-D convolution (torch's cross-correlation) of ``spikes`` ``[R, C_in, H, W]``.

    ``weight_t`` is the weight ``[C_out, C_in/groups, kH, kW]`` transposed to
    ``[C_in/groups, kH, kW, C_out]``; sums are accumulated in its integer type (the
    caller picks one that cannot overflow). Each non-zero input adds
    ``payload * weight`` to the outputs whose window covers it.

    Returns:
        ``[R, C_out, OH, OW]`` int64 sums.
    """
    rows = spikes.shape[0]
    out_channels = weight_t.shape[3]
    out_h, out_w = out_size
    out = np.empty((rows, out_channels, out_h, out_w), np.int64)
    for row in prange(rows):
        accumulated = np.zeros((out_h, out_w, out_channels), weight_t.dtype)
        _conv_row(spikes, row, weight_t, groups, stride, padding, accumulated)
        for o in range(out_channels):
            for oy in range(out_h):
                for ox in range(out_w):
                    out[row, o, oy, ox] = accumulated[oy, ox, o]
    return out


@njit(parallel=True, cache=True)
def conv_events_wrapped_kernel(
    spikes: np.ndarray,
    weight_t: np.ndarray,
    groups: int,
    stride: tuple[int, int],
    padding: tuple[int, int],
    out_size: tuple[int, int],
) -> np.ndarray:
    """:func:`conv_events_kernel` with Lava ``Conv``'s output casts fused in: each sum wrapped to int32,
    then to signed 24 bits (:func:`wrap_signed24`), in the same pass that reorders it.

    Returns:
        ``[R, C_out * OH * OW]`` int32.
    """
    rows = spikes.shape[0]
    out_channels = weight_t.shape[3]
    out_h, out_w = out_size
    out = np.empty((rows, out_channels * out_h * out_w), np.int32)
    for row in prange(rows):
        accumulated = np.zeros((out_h, out_w, out_channels), weight_t.dtype)
        _conv_row(spikes, row, weight_t, groups, stride, padding, accumulated)
        for o in range(out_channels):
            for oy in range(out_h):
                for ox in range(out_w):
                    out[row, (o * out_h + oy) * out_w + ox] = wrap_signed24(np.int64(accumulated[oy, ox, o]))
    return out


@njit(parallel=True, cache=True)
def wrap_signed24_kernel(sums: np.ndarray) -> np.ndarray:
    """Return exact integer ``sums`` ``[R, N]`` (float64 or int64) wrapped to int32, then to signed 24 bits
    (:func:`wrap_signed24`), as int32 in one pass."""
    rows, size = sums.shape
    out = np.empty((rows, size), np.int32)
    for row in prange(rows):
        for j in range(size):
            out[row, j] = wrap_signed24(np.int64(sums[row, j]))
    return out


def _accumulator(spikes: np.ndarray, weight: np.ndarray) -> type:
    """Return ``np.int32`` if no sum of ``|payload| * |weight|`` over one output's fan-in (``weight``
    ``[out, ...]``) can reach 2**31, else ``np.int64``: the accumulator that cannot overflow."""
    if not weight.size:
        return np.int32
    fan_in_sum = int(np.abs(weight.astype(np.int64)).reshape(weight.shape[0], -1).sum(axis=1).max())
    return np.int32 if largest_payload(spikes) * fan_in_sum < 1 << 31 else np.int64


def largest_payload(spikes: np.ndarray) -> int:
    """Return the largest ``|payload|`` in ``spikes`` (0 if empty)."""
    if not spikes.size:
        return 0
    if spikes.dtype.kind == "u":
        return int(spikes.max())
    return int(np.abs(spikes.astype(np.int64)).max())


def conv_accumulate(
    spikes: np.ndarray,
    weight: np.ndarray,
    groups: int,
    stride: tuple[int, int],
    padding: tuple[int, int],
    out_size: tuple[int, int],
) -> np.ndarray:
    """Exact convolution sums of ``spikes`` ``[R, C_in, H, W]`` (binary or graded), event by event.

    Returns:
        ``[R, C_out, OH, OW]`` int64.
    """
    weight_t = np.ascontiguousarray(weight.transpose(1, 2, 3, 0), dtype=_accumulator(spikes, weight))
    return conv_events_kernel(np.ascontiguousarray(spikes), weight_t, groups, stride, padding, out_size)


def conv_input_wrapped(
    spikes: np.ndarray,
    weight: np.ndarray,
    groups: int,
    stride: tuple[int, int],
    padding: tuple[int, int],
    out_size: tuple[int, int],
) -> np.ndarray:
    """Lava ``Conv``'s output for ``spikes`` ``[R, C_in, H, W]``: the exact sums of :func:`conv_accumulate`
    wrapped to int32, then to signed 24 bits, in the kernel's own pass.

    Returns:
        ``[R, C_out * OH * OW]`` int32.
    """
    weight_t = np.ascontiguousarray(weight.transpose(1, 2, 3, 0), dtype=_accumulator(spikes, weight))
    return conv_events_wrapped_kernel(np.ascontiguousarray(spikes), weight_t, groups, stride, padding, out_size)


def dense_accumulate(
    spikes: np.ndarray,
    weight: np.ndarray | DenseWeights,
    weight_exp: int,
    delays: np.ndarray | None = None,
    steps: int = 1,
) -> np.ndarray:
    """Lava Dense for every row of ``spikes`` ``[R, in]`` (binary or graded payloads) and ``weight`` ``[out, in]``
    (or its :class:`~latdeploy.sim.fixed_weights.DenseWeights`).

    Sparse inputs (fewer than :data:`EVENT_DENSITY` non-zero) are accumulated event by
    event; denser ones by a float64 matrix product (exact below 2**53). With ``delays``
    (``[out]``), output ``j`` arrives ``delays[j]`` steps later within each sample of ``steps``
    rows (:func:`dense_events_kernel`).

    Returns:
        ``[R, out]`` int32, as Lava's ``Dense`` (``fixed_pt``) sends it.
    """
    weights = weight if isinstance(weight, DenseWeights) else DenseWeights.of(weight)
    spikes = np.ascontiguousarray(spikes)
    if spikes.size and np.count_nonzero(spikes) < EVENT_DENSITY * spikes.size:
        weight_t = weights.transposed(weights.accumulator(largest_payload(spikes)))
        return dense_events_kernel(spikes, weight_t, weight_exp, delays, steps)
    out = shift_wrap_kernel(spikes.astype(np.float64) @ weights.matrix(), weight_exp)
    if delays is None:
        return out
    return delay_columns_kernel(out.reshape(-1, steps, out.shape[1]), delays).reshape(out.shape)
