"""The package layout and its import rules (docs/layout.md, "Layout and import rules").

Read from the source with ``ast`` (nothing is imported): the modules allowed at the package
root, module-level import cycles, private names imported across packages, imports below
the first definition, and imports inside functions (allowed for the deferred optional
dependencies, :data:`DEFERRED_IMPORTS`, and in the CLI commands, :data:`DEFERRING_MODULES`).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import latdeploy

PACKAGE = Path(latdeploy.__file__).parent
ROOT = PACKAGE.parent

ROOT_MODULES = {"__init__.py", "errors.py", "registry.py"}
"""The only modules directly under ``latdeploy/``; everything else lives in a package."""
DEFERRED_IMPORTS = ("h5py", "lava", "latdeploy.backends.lava.processes", "ray", "scipy.ndimage", "sklearn", "xylosim")
"""Heavy optional dependencies (the 'lava', 'ray' and 'xylo' extras, and latdeploy's Lava processes,
which import lava-nc on import; scikit-learn and scipy.ndimage, needed only when the digits or the
event split is not in the data cache) that may be imported inside a function."""

DEFERRING_MODULES = {
    "latdeploy",  # the package root and the CLI entry: signal handlers are installed before torch loads
    "latdeploy.backends.lava",  # run_lava and its builders (torch) on first use: registering the backend is light
    "latdeploy.backends.lava.backend",
    "latdeploy.cli",
    "latdeploy.cli.format",  # the verdict and the graph description (neuron kinds, torch) when printed
    "latdeploy.cli.options",  # the executors (simulators, torch) when a command builds its Execution
    "latdeploy.hw.profile",  # the profile schema (pydantic) when a profile is loaded
    "latdeploy.report.prerender",  # the HTML report (matplotlib) where a report is drawn: export's child
    "latdeploy.frontend.model_file",  # each format's reader where that format is read (torch for a checkpoint)
    "latdeploy.nn.checkpoint",  # onnx where save() writes a graph, not when a checkpoint is loaded
    "latdeploy.sim.fixed",  # the compiled kernels (numba) where a layer is too large for numpy
    "latdeploy.sim.fixed_conv",
    "latdeploy.sim.fixed_delay",
    "latdeploy.cli.energy_cmd",
    "latdeploy.cli.export_cmd",
    "latdeploy.cli.finetune_cmd",
    "latdeploy.cli.inspect_cmd",
    "latdeploy.cli.map_cmd",
    "latdeploy.cli.run_cmd",
    "latdeploy.cli.sweep_cmd",
    "latdeploy.cli.verify_cmd",
}
"""The CLI commands: each imports its flow (and torch) when it runs, so that ``latdeploy --help`` and a
command's ``--help`` stay light; ``latdeploy`` and ``latdeploy.cli`` load ``save``/``load`` and the commands
on first use, so that a signal during those imports is handled; the Lava backend registers without its runner.
The only modules that import latdeploy or required dependencies inside functions (docs/layout.md, "Deferred
imports")."""

HEAVY_MODULES = ("torch", "lava", "numba", "matplotlib", "onnx", "onnxruntime", "scipy", "sklearn", "h5py", "pydantic")
"""What ``latdeploy --help``, a command's ``--help`` and an option error must not import (``profiles list``: all
but pydantic, which validates the profiles)."""


@dataclass(frozen=True)
class Import:
    """One import statement's target module (and names, for ``from`` imports) in a latdeploy module."""

    module: str
    names: tuple[str, ...]
    line: int
    module_level: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def package_of(module: str) -> str:
    """Return the package a module belongs to (a package's ``__init__`` belongs to that package)."""
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def _type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _module_level_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements run on import: the body, with ``try``/``if`` blocks opened (``if TYPE_CHECKING`` skipped)."""
    statements = []
    for node in body:
        if isinstance(node, ast.Try):
            statements += _module_level_statements(node.body + [s for h in node.handlers for s in h.body])
        elif isinstance(node, ast.If) and not _type_checking(node):
            statements += _module_level_statements(node.body + node.orelse)
        elif not _type_checking(node):
            statements.append(node)
    return statements


def imports_of(module: str) -> list[Import]:
    """Return every import statement ``module`` runs (absolute names; relative ones resolved;
    ``if TYPE_CHECKING`` blocks, which never run, left out)."""
    tree = ast.parse(MODULES[module].read_text())
    top = {id(node) for node in _module_level_statements(tree.body)}
    typing_only = {id(n) for block in tree.body if _type_checking(block) for n in ast.walk(block)}
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found += [Import(alias.name, (), node.lineno, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = tuple(alias.name for alias in node.names)
            found.append(Import(base, names, node.lineno, id(node) in top))
    return found


def _targets(statement: Import) -> set[str]:
    """The latdeploy modules an import statement loads (``from package import submodule`` loads the submodule)."""
    targets = set()
    for name in statement.names or ("",):
        submodule = f"{statement.module}.{name}"
        if submodule in MODULES:
            targets.add(submodule)
        elif statement.module in MODULES:
            targets.add(statement.module)
    return targets


def import_graph() -> dict[str, set[str]]:
    """Return the module-level import graph of latdeploy: module -> latdeploy modules it imports on import."""
    return {
        module: {target for s in imports_of(module) if s.module_level for target in _targets(s)} for module in MODULES
    }


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Return the cycles of ``graph``: its strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(start: str) -> None:
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return components


def test_the_package_root_holds_only_errors_registry_and_packages():
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ROOT_MODULES)
    assert not loose, f"modules at the package root belong in a package: {loose}"


def test_no_import_cycle_between_modules_of_different_packages():
    across = [sorted(c) for c in strongly_connected(import_graph()) if len({package_of(m) for m in c}) > 1]
    assert not across, f"import cycles across packages: {across}"


def test_no_import_cycle_inside_a_package():
    cycles = [sorted(c) for c in strongly_connected(import_graph())]
    assert not cycles, f"import cycles: {cycles}"


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [{"a", "b", "c"}]


def test_no_private_name_is_imported_from_another_package():
    private = set()
    for module in MODULES:
        for statement in imports_of(module):
            if statement.module not in MODULES or package_of(statement.module) == package_of(module):
                continue
            for name in statement.names:
                if name.startswith("_") and not name.startswith("__") and f"{statement.module}.{name}" not in MODULES:
                    private.add((module, statement.module, name))
    assert not private, f"make these public: {sorted(private)}"


def test_no_import_below_the_first_definition():
    late = {}
    for module, path in MODULES.items():
        body = ast.parse(path.read_text()).body
        first = next((n.lineno for n in body if isinstance(n, (ast.FunctionDef, ast.ClassDef))), None)
        lines = [s.line for s in imports_of(module) if s.module_level and first is not None and s.line > first]
        if lines:
            late[module] = lines
    assert not late, f"imports below the first def/class (use the package's plugin-import module): {late}"


def test_imports_inside_functions_are_deferred_optional_dependencies_only():
    nested = {}
    for module in MODULES:
        if module in DEFERRING_MODULES:
            continue
        hidden = [
            f"{s.module} (line {s.line})"
            for s in imports_of(module)
            if not s.module_level and not any(s.module == d or s.module.startswith(f"{d}.") for d in DEFERRED_IMPORTS)
        ]
        if hidden:
            nested[module] = hidden
    assert not nested, f"import these at module top: {nested}"


def _imported_after(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; return the :data:`HEAVY_MODULES` it left in ``sys.modules``."""
    heavy = f"sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY_MODULES!r})"
    probe = f"{code}\nimport json, sys\nprint(json.dumps({heavy}))"
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=environment, check=True)
    return sorted({name.split(".")[0] for name in json.loads(done.stdout.strip().splitlines()[-1])})


def test_the_cli_imports_no_heavy_dependency_before_a_command_runs():
    # every command registered, as `latdeploy --help` and `latdeploy <command> --help` need
    assert _imported_after("from latdeploy.cli.commands import cli") == []


def test_profiles_list_imports_no_heavy_dependency():
    code = (
        "import sys\nfrom latdeploy.cli.commands import cli\n"
        "try:\n    cli.main(['profiles', 'list'], standalone_mode=False)\nexcept SystemExit:\n    pass"
    )
    assert _imported_after(code) == ["pydantic"]


INSPECT_HEAVY = {"netx": ["h5py"], "nir": ["h5py"], "onnx": ["onnx"], "bundle": ["onnx"], "checkpoint": ["torch"]}
"""What ``latdeploy inspect`` of each format may import of :data:`HEAVY_MODULES`: its own reader only (no torch,
numba, scipy or sklearn for a graph file; torch alone for a checkpoint: docs/layout.md, "Deferred imports")."""


def test_inspect_of_each_model_format_imports_only_its_reader(tmp_path):
    from latdeploy.backends.netx import write_netx
    from latdeploy.backends.nir import write_nir
    from latdeploy.frontend.torch_module import graph_from_module
    from latdeploy.ir.onnx_io import write_onnx
    from latdeploy.nn.checkpoint import load
    from tests.conftest import SHIPPED_MODEL, int_graph

    integer = int_graph(np.random.default_rng(0), (4, 3), timesteps=5)
    bundle = tmp_path / "model.latdeploy"
    bundle.mkdir()
    files = {
        "netx": write_netx(integer, tmp_path / "model.net"),
        "nir": write_nir(graph_from_module(*load(SHIPPED_MODEL)), tmp_path / "model.nir"),
        "onnx": write_onnx(integer, tmp_path / "model.onnx"),
        "bundle": write_onnx(integer, bundle / "graph.int.onnx").parent,
        "checkpoint": SHIPPED_MODEL,
    }
    for kind, path in files.items():
        code = (
            "from latdeploy.cli.commands import cli\n"
            f"try:\n    cli.main(['inspect', {str(path)!r}], standalone_mode=False)\nexcept SystemExit:\n    pass"
        )
        assert _imported_after(code) == INSPECT_HEAVY[kind], kind


def test_the_probe_sees_a_heavy_import():
    assert {"numba", "torch"} <= set(_imported_after("import latdeploy.sim.kernels_neurons"))
