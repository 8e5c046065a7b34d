"""The package as ``pip install .`` ships it: a wheel built from this checkout holds every module, the
hardware profiles and the report templates, and, installed into a fresh virtual environment, finds its
profiles and exports the shipped model (issue 14: "profiles ship as package data").

The wheel is built with ``pip wheel --no-deps --no-build-isolation`` (no network) and installed by
extracting it into a new venv's ``site-packages`` (a pure-Python wheel installs that way); the venv
reaches the third-party packages of the interpreter running the tests through a ``.pth`` file, and
the checkout is not on its path (the commands run outside it, and ``latdeploy.__file__`` is checked).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHIPPED_MODEL

PACKAGE = ROOT / "latdeploy"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout's sources, built without network access."""
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("source")
    # setuptools writes build/ and *.egg-info beside the sources: build from a copy, not the checkout
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(PACKAGE, source / "latdeploy", ignore=shutil.ignore_patterns("__pycache__"))
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), "."]
    subprocess.run(command, cwd=source, check=True, capture_output=True, timeout=300)
    (built,) = out.glob("latdeploy-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed in it; returns its Python."""
    root = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(root)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(purelib)
    # the test interpreter's third-party packages, after the venv's own (latdeploy comes from the wheel)
    Path(purelib, "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def test_wheel_holds_every_module_profile_and_template(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = [
        path.relative_to(ROOT).as_posix()
        for pattern in ("**/*.py", "hw/profiles/*.yaml", "report/templates/*.j2")
        for path in PACKAGE.glob(pattern)
        if "__pycache__" not in path.parts
    ]
    assert any(name.endswith(".yaml") for name in wanted)
    missing = sorted(set(wanted) - names)
    assert not missing, f"the wheel lacks {missing}"


def _run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run(
        [str(python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_installed_wheel_lists_the_shipped_profiles(installed: Path, tmp_path: Path) -> None:
    where = _run(installed, "-c", "import latdeploy; print(latdeploy.__file__)", cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(installed.parent.parent), where.stdout
    listed = _run(installed, "-m", "latdeploy.cli", "profiles", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    shipped = sorted(path.stem for path in (PACKAGE / "hw" / "profiles").glob("*.yaml"))
    assert [line.split()[0] for line in listed.stdout.splitlines() if line.strip()] == shipped


@pytest.mark.slow
def test_installed_wheel_exports_the_shipped_model_to_lava(installed: Path, tmp_path: Path) -> None:
    model = tmp_path / "digits_mlp.pt"
    model.write_bytes(SHIPPED_MODEL.read_bytes())
    done = _run(installed, "-m", "latdeploy.cli", "export", str(model), "--samples", "10", "-o", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "verdict     PASSED" in done.stdout
    assert (tmp_path / "out" / "profile.yaml").is_file()
