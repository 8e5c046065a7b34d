"""Benchmark of one ``latdeploy export``, end to end: a commit against a previous one, side by side in one run.

The README's command (a), ``latdeploy export models/digits_mlp.pt --target loihi2-sim`` (100 test
samples), runs as the user runs it: a fresh ``python -m latdeploy.cli`` process, timed from its
start to its exit (imports, model loading, quantization, the Lava run, the bundle, the
interpreter's exit all included). The previous code path is the code of ``--base`` (default: the
commit this work started from), extracted with ``git archive`` into a temporary directory, byte-compiled
as ``pip install`` does, and run
the same way by the same Python, so that nothing of it is reconstructed by hand; the new code path is
``--new`` (default: ``HEAD``), extracted the same way (so that edits to the working tree during the
run cannot touch it). The two run
alternately (``--runs`` each, after one untimed warm-up each that lets numba compile or load its
cached kernels), each in its own fresh working directory, with the same model file, the same
arguments and the same data cache directory; the ratios printed are median(base) / median(new) of the
wall time and of the CPU time (user + system of the process and every process it started, Lava's
included: on a machine shared with other busy processes the wall time mostly measures the others).

Artefacts: every run of each tree must give byte-identical bundles (determinism: every file, names
included; the bundle holds no timing field, and ``manifest.json``'s command line is the same because the
output directory has the same name). New and base are compared on what both define, since the bundle's
format changed on purpose since the base (issue 15 added ``profile.yaml``, ``model.pt`` and
``schema_version`` keys; the report changed): every value under the keys both have of ``parity.json``,
``energy.json``, ``quantization.json`` and ``mapping.json`` (spike counts, mismatches, accuracies, scales,
thresholds, ...), and every initializer (weights, thresholds, decays) both ONNX graphs of a name have; the
files that differ byte for byte are listed. Exit code 3 on a non-deterministic tree or a value that differs.
Usage::

    .venv/bin/python tools/bench_export.py [--base COMMIT] [--new COMMIT] [--runs 3] [--samples 100]
"""

from __future__ import annotations

import argparse
import datetime
import json
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
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BASE_COMMIT = "0a9b7c1"
"""The commit before the export speed-ups (issue 17): Lava's Var.get read-back, the meta-device shape
check that imports torch._dynamo, the interpreter's full teardown, event splits generated on every load."""
MODEL = ROOT / "models" / "digits_mlp.pt"
EXIT_MISMATCH = 3


def extract(commit: str, into: Path) -> Path:
    """Extract the tree of ``commit`` of this repository into ``into`` and byte-compile its package, as
    ``pip install`` does (where ``PYTHONDONTWRITEBYTECODE`` is set, as on this machine, every run would
    otherwise compile every module from source); returns ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(into / "latdeploy")], check=True)
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


def _content(data: Any) -> Any:
    """Return a JSON file's data without its ``schema_version`` wrapper (``{schema_version, layers}`` -> layers)."""
    if isinstance(data, dict) and "layers" in data and set(data) <= {"schema_version", "layers"}:
        return data["layers"]
    return data


def common_differences(base: Any, new: Any, where: str = "") -> tuple[int, list[str]]:
    """Compare ``base`` and ``new`` (JSON data) on what both define: the keys of a dict both have
    (but ``schema_version``), every item of lists of equal length, equal leaves (floats exactly).

    Returns:
        ``(leaves compared, [path: base value != new value, ...])``.
    """
    if isinstance(base, dict) and isinstance(new, dict):
        compared, found = 0, []
        for key in base.keys() & new.keys() - {"schema_version"}:
            count, differing = common_differences(base[key], new[key], f"{where}.{key}")
            compared, found = compared + count, found + differing
        return compared, found
    if isinstance(base, list) and isinstance(new, list) and len(base) == len(new):
        compared, found = 0, []
        for index, (first, second) in enumerate(zip(base, new, strict=True)):
            count, differing = common_differences(first, second, f"{where}[{index}]")
            compared, found = compared + count, found + differing
        return compared, found
    return 1, ([] if base == new else [f"{where}: {str(base)[:80]} != {str(new)[:80]}"])


def onnx_differences(base: bytes, new: bytes) -> tuple[int, list[str]]:
    """Compare two ONNX graphs on the initializers (weights, thresholds, decays, ...) both have by name.

    Returns:
        ``(initializers compared, [name: differs, ...])``; no initializer in common is a difference.
    """
    import onnx
    from onnx import numpy_helper

    def initializers(data: bytes) -> dict[str, Any]:
        graph = onnx.load_from_string(data).graph
        return {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}

    first, second = initializers(base), initializers(new)
    names = sorted(first.keys() & second.keys())
    if not names and (first or second):
        return 0, ["no initializer in common"]
    found = [
        f"initializer {name}: differs"
        for name in names
        if first[name].dtype != second[name].dtype or not np.array_equal(first[name], second[name])
    ]
    return len(names), found


COMPARED_JSON = ("parity.json", "energy.json", "quantization.json", "mapping.json")
COMPARED_ONNX = ("graph.onnx", "graph.int.onnx", "host.onnx")


def compare_trees(base: dict[str, bytes], new: dict[str, bytes]) -> tuple[list[str], list[str]]:
    """Compare a base bundle with a new one on what both define (module docstring).

    Returns:
        ``(one line per file compared or changed in format, one line per value that differs)``.
    """
    lines, found = [], []
    for name in sorted(base.keys() | new.keys()):
        if name not in base or name not in new:
            lines.append(f"{name}: only in {'new' if name in new else 'base'}")
            continue
        same_bytes = base[name] == new[name]
        if name in COMPARED_JSON:
            compared, differing = common_differences(_content(json.loads(base[name])), _content(json.loads(new[name])))
        elif name in COMPARED_ONNX:
            compared, differing = onnx_differences(base[name], new[name])
        else:
            lines.append(f"{name}: {'byte for byte identical' if same_bytes else 'format differs (not compared)'}")
            continue
        found += [f"{name} {entry}" for entry in differing]
        state = "byte for byte identical" if same_bytes else "format differs"
        unit = "initializers" if name in COMPARED_ONNX else "values"
        lines.append(f"{name}: {state}; {compared} common {unit}, {len(differing)} differ")
    return lines, found


def main() -> int:
    """Run the benchmark, print the table, the ratios and the artefact checks; returns the exit code
    (3: a tree gave different bundles in two runs, or new and base differ in a value both define)."""
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
    print(f"trees     base {base_label} vs new {head} (each extracted with git archive and byte-compiled)")
    times: dict[str, list[float]] = {"base": [], "new": []}
    cpu_times: dict[str, list[float]] = {"base": [], "new": []}
    first: dict[str, dict[str, bytes]] = {}
    nondeterministic: list[str] = []
    with tempfile.TemporaryDirectory(prefix="latdeploy-bench-export.") as scratch:
        scratch_path = Path(scratch)
        trees = {
            label: extract(commit, scratch_path / label)
            for label, commit in (("base", arguments.base), ("new", arguments.new))
        }
        cache = scratch_path / "cache"
        for round_index in range(runs + 1):  # round 0: the warm-up of each
            for label, tree in trees.items():
                workdir = Path(tempfile.mkdtemp(dir=scratch_path, prefix="run."))
                seconds, cpu, bundle = export_once(tree, workdir, arguments.samples, cache)
                reference = first.setdefault(label, bundle)
                differing = differences(reference, bundle)
                if differing:
                    nondeterministic.append(f"{label} run {round_index}: {', '.join(differing)}")
                state = "warm-up" if round_index == 0 else f"run {round_index}"
                verdict = ", DIFFER from its first run" if differing else ""
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
    for label in ("base", "new"):
        if not any(entry.startswith(f"{label} ") for entry in nondeterministic):
            print(f"bundles   {label}: all {runs + 1} runs byte for byte identical ({len(first[label])} files each)")
    lines, found = compare_trees(first["base"], first["new"])
    print("new/base  compared on what both define:")
    for line in lines:
        print(f"            {line}")
    if nondeterministic:
        print("bundles   NOT DETERMINISTIC: " + "; ".join(nondeterministic))
    if found:
        print("new/base  DIFFER: " + "; ".join(found[:20]) + (f" (+{len(found) - 20} more)" if len(found) > 20 else ""))
    return EXIT_MISMATCH if nondeterministic or found else 0


if __name__ == "__main__":
    sys.exit(main())
