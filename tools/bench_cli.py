"""How long the light commands take from the shell: ``latdeploy --help``, ``latdeploy profiles list`` and
``latdeploy inspect FILE``, each against the 0.5 s goal.

    .venv/bin/python tools/bench_cli.py [--repeats 5] [--file models/digits_mlp.pt [--file B/graph.net ...]]
                                        [--baseline CHECKOUT] [--json out.json]

Each command runs as a fresh process (``python -c "from latdeploy.cli import main; main()" ...``, what the
``latdeploy`` console script runs) once unmeasured (a warm environment: files in the page cache, numba's cache
compiled), then ``--repeats`` times (``--file`` repeatable: one ``inspect`` line per file, e.g. a checkpoint
and a bundle's ``graph.net``, ``graph.nir`` and ``graph.int.onnx``); printed: the median wall time with its
ratio to the goal, the median CPU time (user + system; close to the wall time on an idle core, and much less
inflated by other processes' load) and the heavy modules it imported (``tests/test_layout.py`` keeps
``--help`` and ``profiles list`` free of them). ``--baseline`` measures another checkout (e.g. a worktree of
the commit before) in the same run, its runs interleaved with this one's, and prints the ratio. Exit status 0;
the numbers are for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 0.5
HEAVY = ("torch", "lava", "numba", "matplotlib", "onnx", "onnxruntime", "scipy", "sklearn", "pydantic")
ENTRY = (
    "import atexit, json, sys\n"
    "def _report():\n"
    f"    heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
    "    sys.stderr.write('HEAVY ' + json.dumps(heavy) + '\\n')\n"
    "atexit.register(_report)\n"
    "sys.argv[0] = 'latdeploy'\n"
    "from latdeploy.cli import main\n"
    "main()\n"
)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(arguments: list[str], root: Path = ROOT) -> tuple[float, float, list[str]]:
    """Run ``latdeploy ARGUMENTS`` in a fresh interpreter.

    Returns:
        The wall time and the CPU time (user + system) in seconds, and the heavy modules it imported.

    Raises:
        RuntimeError: if the command fails.
    """
    environment = {**os.environ, "PYTHONPATH": str(root)}
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        [sys.executable, "-c", ENTRY, *arguments], capture_output=True, text=True, env=environment, cwd=root
    )
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"latdeploy {' '.join(arguments)} exited {done.returncode}: {done.stderr[-500:]}")
    heavy = next((json.loads(line[6:]) for line in done.stderr.splitlines() if line.startswith("HEAVY ")), [])
    return seconds, cpu, heavy


def main(argv: list[str] | None = None) -> int:
    """Measure the three commands; print one line each; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--file", action="append", default=None, help="a file 'inspect' describes (repeatable) [models/digits_mlp.pt]"
    )
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout to measure beside this one")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    arguments = parser.parse_args(argv)
    files = arguments.file or ["models/digits_mlp.pt"]
    commands = {"--help": ["--help"], "profiles list": ["profiles", "list"]}
    commands.update({f"inspect {name}" if len(files) > 1 else "inspect": ["inspect", name] for name in files})
    results = {}
    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load:.1f}; median of {arguments.repeats}")
    for label, command in commands.items():
        roots = [ROOT] if arguments.baseline is None else [ROOT, arguments.baseline.resolve()]
        runs: dict[Path, list[tuple[float, float, list[str]]]] = {root: [] for root in roots}
        for root in roots:
            run_once(command, root)  # warm-up, not measured
        for _ in range(arguments.repeats):
            for root in roots:
                runs[root].append(run_once(command, root))
        median = statistics.median(wall for wall, _, _ in runs[ROOT])
        cpu = statistics.median(cpu for _, cpu, _ in runs[ROOT])
        heavy = runs[ROOT][-1][2]
        results[label] = {"median_s": median, "median_cpu_s": cpu, "runs_s": [w for w, _, _ in runs[ROOT]]}
        results[label]["heavy_imports"] = heavy
        verdict = "within" if median <= GOAL_SECONDS else "OVER"
        line = (
            f"latdeploy {' '.join(command):<30} wall {median:6.3f} s = {median / GOAL_SECONDS:5.2f} x the "
            f"{GOAL_SECONDS} s goal ({verdict}), CPU {cpu:6.3f} s; heavy imports: {', '.join(heavy) or 'none'}"
        )
        if arguments.baseline is not None:
            before = statistics.median(wall for wall, _, _ in runs[roots[1]])
            before_cpu = statistics.median(cpu for _, cpu, _ in runs[roots[1]])
            results[label].update(baseline_median_s=before, baseline_median_cpu_s=before_cpu)
            line += f"; baseline wall {before:.3f} s, CPU {before_cpu:.3f} s ({before_cpu / cpu:.1f}x the CPU)"
        print(line)
    if arguments.json is not None:
        arguments.json.write_text(json.dumps({"load_average": load, "commands": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
