"""Benchmark of one ``latdeploy export``, end to end: a commit against a previous one, side by side in one run.

The README's command (a), ``latdeploy export models/digits_mlp.pt --target loihi2-sim`` (100 test
samples), runs as the user runs it: a fresh ``python -m latdeploy.cli`` process, timed from its
start to its exit (imports, model loading, quantization, the Lava run, the bundle, the
interpreter's exit all included). The previous code path is the code of ``--base`` (default: the
commit this work started from), extracted with ``git archive`` into a temporary directory and run
the same way by the same Python, so that nothing of it is reconstructed by hand; the new code path is
``--new`` (default: ``HEAD``), extracted the same way (so that edits to the working tree during the
run cannot touch it). The two run
alternately (``--runs`` each, after one untimed warm-up each that lets numba compile or load its
cached kernels), each in its own fresh working directory, with the same model file, the same
arguments and the same data cache directory; the ratios printed are median(base) / median(new) of the
wall time and of the CPU time (user + system of the process and every process it started, Lava's
included: on a machine shared with other busy processes the wall time mostly measures the others).

Every bundle of every run must equal the first base bundle byte for byte (every file, names
included; the bundle holds no timing field, and ``manifest.json``'s command line is the same
because the output directory has the same name); exit code 3 otherwise. Usage::

    .venv/bin/python tools/bench_export.py [--base COMMIT] [--new COMMIT] [--runs 3] [--samples 100]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE_COMMIT = "0a9b7c1"
"""The commit before the export speed-ups (issue 17): Lava's Var.get read-back, the meta-device shape
check that imports torch._dynamo, the interpreter's full teardown, event splits generated on every load."""
MODEL = ROOT / "models" / "digits_mlp.pt"
EXIT_MISMATCH = 3


def extract(commit: str, into: Path) -> Path:
    """Extract the tree of ``commit`` of this repository into ``into``; returns ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _children_cpu() -> float:
    """Return the CPU seconds (user + system) of every finished, reaped descendant of this process."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def export_once(tree: Path, workdir: Path, samples: int, cache: Path) -> tuple[float, float, dict[str, bytes]]:
    """Run ``latdeploy export`` of the code in ``tree`` in the empty ``workdir``.

    Returns:
        ``(wall seconds from process start to exit, CPU seconds of the process and of every process
        it started (Lava's), {file name: bytes} of the bundle)``.

    Raises:
        RuntimeError: if the export fails.
    """
    environment = {**os.environ, "PYTHONPATH": str(tree), "LATDEPLOY_CACHE_DIR": str(cache)}
    command = [sys.executable, "-m", "latdeploy.cli", "export", str(MODEL), "--target", "loihi2-sim"]
    command += ["--samples", str(samples), "-o", "bundle"]
    started, cpu = time.perf_counter(), _children_cpu()
    result = subprocess.run(command, cwd=workdir, env=environment, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - started, _children_cpu() - cpu
    if result.returncode != 0:
        raise RuntimeError(f"export of {tree} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    bundle = workdir / "bundle"
    return seconds, cpu, {path.name: path.read_bytes() for path in sorted(bundle.iterdir())}


def differences(reference: dict[str, bytes], other: dict[str, bytes]) -> list[str]:
    """Return the names of the files that differ between two bundles (or exist in only one)."""
    return sorted(name for name in set(reference) | set(other) if reference.get(name) != other.get(name))


def main() -> int:
    """Run the benchmark, print the table and the ratio; returns the exit code (3: bundles differ)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=BASE_COMMIT, help="the previous code path's commit (default %(default)s)")
    parser.add_argument("--new", default="HEAD", help="the new code path's commit (default %(default)s)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (default %(default)s, at least 3)")
    parser.add_argument("--samples", type=int, default=100, help="test samples (default %(default)s)")
    arguments = parser.parse_args()
    runs = max(3, arguments.runs)
    base_label = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", arguments.base], capture_output=True, text=True, check=True
    ).stdout.strip()
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", arguments.new], capture_output=True, text=True, check=True
    ).stdout.strip()
    print(f"date      {datetime.datetime.now().isoformat(timespec='seconds')}")
    machine = f"{platform.machine()} {platform.processor() or ''}".strip()
    print(f"machine   {machine}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"load      {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min) before")
    print(f"command   latdeploy export {MODEL.relative_to(ROOT)} --target loihi2-sim --samples {arguments.samples}")
    print(f"trees     base {base_label} vs new {head} (each extracted with git archive)")
    times: dict[str, list[float]] = {"base": [], "new": []}
    cpu_times: dict[str, list[float]] = {"base": [], "new": []}
    mismatches: list[str] = []
    with tempfile.TemporaryDirectory(prefix="latdeploy-bench-export.") as scratch:
        scratch_path = Path(scratch)
        trees = {
            label: extract(commit, scratch_path / label)
            for label, commit in (("base", arguments.base), ("new", arguments.new))
        }
        cache = scratch_path / "cache"
        reference: dict[str, bytes] | None = None
        for round_index in range(runs + 1):  # round 0: the warm-up of each
            for label, tree in trees.items():
                workdir = Path(tempfile.mkdtemp(dir=scratch_path, prefix="run."))
                seconds, cpu, bundle = export_once(tree, workdir, arguments.samples, cache)
                reference = reference if reference is not None else bundle
                differing = differences(reference, bundle)
                if differing:
                    mismatches.append(f"{label} run {round_index}: {', '.join(differing)}")
                state = "warm-up" if round_index == 0 else f"run {round_index}"
                verdict = ", DIFFER" if differing else ""
                print(f"  {label:4s} {state:8s} {seconds:7.2f} s wall {cpu:7.2f} s CPU  ({len(bundle)} files{verdict})")
                if round_index > 0:
                    times[label].append(seconds)
                    cpu_times[label].append(cpu)
    base, new = statistics.median(times["base"]), statistics.median(times["new"])
    print(f"load      {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min) after")
    print(f"median    base {base:.2f} s, new {new:.2f} s over {runs} runs each (wall, process start to exit)")
    base_cpu, new_cpu = statistics.median(cpu_times["base"]), statistics.median(cpu_times["new"])
    print(f"median    base {base_cpu:.2f} s, new {new_cpu:.2f} s CPU (user + system, with its Lava children)")
    print(f"speed-up  {base / new:.2f}x wall (goal >= 3x), {base_cpu / new_cpu:.2f}x CPU")
    if mismatches:
        print("bundles   DIFFER from the first base bundle: " + "; ".join(mismatches))
        return EXIT_MISMATCH
    print(f"bundles   all {2 * (runs + 1)} byte for byte identical ({len(reference or {})} files each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
