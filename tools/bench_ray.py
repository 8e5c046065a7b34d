"""Benchmark of the ``ray`` executor against the ``local`` one, measured side by side in one run.

A shipped model (``--model``, default ``models/digits_ttfs_convnet.pt``; the seed-scale
``models/shapes_vgg11.pt`` and ``models/shapes_dvs128_convnet.pt`` too) runs its first ``--samples`` test samples
on Lava (``Loihi2SimCfg(select_tag="fixed_pt")``) in chunks of ``--chunk`` samples, once on the
local executor (chunks one after another in this process) and once on a local Ray cluster of
``--workers`` worker CPUs started here (``ray.init(num_cpus=...)``; its start-up is timed apart).
Both runs must give the same spikes (exit code 3 otherwise). Printed: Lava samples per minute of
each (wall time of the whole evaluation: building, compiling and running Lava, reading back,
joining) and their ratio, and the memory high-water mark (PSS of a process and its Lava child
processes together, sampled every 0.2 s with psutil) of this process in the local run and of
every Ray worker process that ran a chunk (title ``ray::evaluate_chunk``), each by pid with the
number of child processes (Lava's runtime and process models) it had at its mark; idle workers
(``ray::IDLE``) and Ray's own agent processes are listed apart. Usage::

    .venv/bin/python tools/bench_ray.py [--model models/shapes_vgg11.pt] [--samples 8] [--chunk 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import ray

from latdeploy.executors.evaluate import Execution, open_evaluator
from latdeploy.flows.prepare import spikes_of
from latdeploy.flows.verify import load_subject

MODEL = Path(__file__).resolve().parents[1] / "models" / "digits_ttfs_convnet.pt"
TASK_TITLE = "ray::"
CHUNK_TITLE = "ray::evaluate_chunk"


def worker_groups(titles: dict[int, set[str]]) -> dict[str, list[int]]:
    """Return the ``ray::`` processes by pid in three groups: ``"ran a chunk"`` (titled
    :data:`CHUNK_TITLE` at some sample), ``"Ray agent"`` (Ray's own ``...Agent`` processes) and ``"idle"``."""
    groups: dict[str, list[int]] = {"ran a chunk": [], "idle": [], "Ray agent": []}
    for pid, seen in titles.items():
        if CHUNK_TITLE in seen:
            groups["ran a chunk"].append(pid)
        elif all(title.endswith("Agent") for title in seen):
            groups["Ray agent"].append(pid)
        else:
            groups["idle"].append(pid)
    return groups


class MemoryWatch:
    """Samples the proportional set size (PSS: pages shared between forked processes counted once) of
    processes, each with its children, until stopped; keeps each one's high-water mark by pid
    (``peaks``), the number of its child processes then (``children``) and every process title it had
    (``titles``)."""

    def __init__(self, select) -> None:
        self.select, self.stop = select, threading.Event()
        self.peaks: dict[int, int] = {}
        self.children: dict[int, int] = {}
        self.titles: dict[int, set[str]] = {}
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            for process in self.select():
                try:
                    children = process.children(recursive=True)
                    pss = sum(member.memory_full_info().pss for member in [process, *children])
                    title = " ".join(process.cmdline()[:1])
                except psutil.Error:
                    continue
                self.titles.setdefault(process.pid, set()).add(title)
                if pss > self.peaks.get(process.pid, 0):
                    self.peaks[process.pid], self.children[process.pid] = pss, len(children)
            time.sleep(0.2)

    def __enter__(self) -> MemoryWatch:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        self.thread.join()


def is_ray_worker(process: psutil.Process | None) -> bool:
    """Return whether ``process`` has a Ray worker's title (``ray::...``; Lava's processes forked
    from a worker carry it too)."""
    try:
        return process is not None and (process.cmdline() or [""])[0].startswith(TASK_TITLE)
    except psutil.Error:
        return False


def ray_workers() -> list[psutil.Process]:
    """Return the Ray worker processes on this machine (not the Lava processes forked from them)."""
    return [p for p in psutil.process_iter() if is_ray_worker(p) and not is_ray_worker(p.parent())]


def timed_run(subject, spikes, execution: Execution):
    """Return (seconds, Lava run, executor record) of the hardware part on ``spikes``."""
    started = time.perf_counter()
    with open_evaluator(execution) as evaluator:
        run = evaluator.evaluate(
            subject.int_graph, spikes, simulators=(), backend="lava", hardware_samples=len(spikes)
        ).hardware
    return time.perf_counter() - started, run, evaluator.record.as_dict()


def main() -> int:
    """Run the benchmark; return 3 if the two executors' spikes differ, else 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=MODEL, help="a model file (default: %(default)s)")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--chunk", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()

    subject = load_subject(options.model)
    spikes = spikes_of(subject.model, subject.data.test, options.samples)
    me = psutil.Process()
    print(
        f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, ray {ray.__version__}, "
        f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}"
    )
    print(f"model {options.model.name}, {options.samples} Lava samples in chunks of {options.chunk}")

    with MemoryWatch(lambda: [me]) as local_memory:
        local_seconds, local_run, local_record = timed_run(subject, spikes, Execution(chunk_samples=options.chunk))
    started = time.perf_counter()
    ray.init(num_cpus=options.workers, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    ray_start = time.perf_counter() - started
    try:
        with MemoryWatch(ray_workers) as ray_memory:
            ray_seconds, ray_run, ray_record = timed_run(
                subject, spikes, Execution(executor="ray", chunk_samples=options.chunk)
            )
    finally:
        ray.shutdown()

    same = all(
        np.array_equal(layer.spikes, ray_run.trace.layers[name].spikes)
        for name, layer in local_run.trace.layers.items()
    )
    local_rate, ray_rate = 60 * options.samples / local_seconds, 60 * options.samples / ray_seconds
    print(f"local  {local_seconds:7.1f} s  {local_rate:6.1f} Lava samples/min  ({local_record['chunks']} chunks)")
    print(
        f"ray    {ray_seconds:7.1f} s  {ray_rate:6.1f} Lava samples/min  ({ray_record['chunks']} chunks, "
        f"{options.workers} workers; Ray start-up {ray_start:.1f} s not included)"
    )
    print(f"ratio  ray / local = {ray_rate / local_rate:.2f}x")
    local_children, local_peak = local_memory.children.get(me.pid, 0), local_memory.peaks.get(me.pid, 0)
    print(
        f"memory high-water, local executor: this process (pid {me.pid}) + its {local_children} child processes "
        f"(Lava's runtime and process models) at its mark: {local_peak / 2**20:.0f} MiB"
    )
    groups = worker_groups(ray_memory.titles)
    for pid in sorted(groups["ran a chunk"], key=lambda pid: -ray_memory.peaks[pid]):
        print(
            f"memory high-water, Ray worker pid {pid} ({CHUNK_TITLE}) + its {ray_memory.children[pid]} child "
            f"processes (Lava's runtime and process models) at its mark: {ray_memory.peaks[pid] / 2**20:.0f} MiB"
        )
    for group in ("idle", "Ray agent"):
        pids = groups[group]
        peak = max((ray_memory.peaks[pid] for pid in pids), default=0) / 2**20
        titles = ", ".join(sorted({title for pid in pids for title in ray_memory.titles[pid]}))
        print(f"  ({len(pids)} {group} processes{f' ({titles})' if titles else ''}: at most {peak:.0f} MiB each)")
    print(f"spikes identical: {same}; retries: {ray_record['retries']}")
    return 0 if same else 3


if __name__ == "__main__":
    sys.exit(main())
