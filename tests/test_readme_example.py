"""The README's "Bring your own model" example runs as written: its Python block, then its shell line.

The blocks are read from README.md (an edit of the README is what is tested). The example leaves
``x_test``/``y_test`` to the user; the test supplies a small random sensor set (64 intensities in [0, 1],
10 classes) and the untrained model the block builds (``torch.manual_seed(0)``). The shell line runs in
the same directory through the real ``latdeploy`` console script of this environment (``.venv`` links to
it), so the export runs on real Lava processes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Bring your own model"
SUPPLIED = (
    "import numpy as np\nimport torch\n\ntorch.manual_seed(0)\nrng = np.random.default_rng(0)\n"
    "x_test = rng.random((SAMPLES, 64)).astype(np.float32)\ny_test = rng.integers(0, 10, SAMPLES)\n"
)
SAMPLES = 12


def readme_example(readme: Path = ROOT / "README.md") -> tuple[str, list[str]]:
    """Return the section's Python block and the command lines of its shell block.

    Raises:
        AssertionError: if the section or either block is missing.
    """
    text = readme.read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)
    python = [body for language, body in blocks if language == "python"]
    shell = [body for language, body in blocks if language in ("", "sh", "bash", "console")]
    assert len(python) == 1 and len(shell) == 1, f"expected one python and one shell block, got {blocks}"
    return python[0], [line for line in shell[0].splitlines() if line.strip()]


def test_the_example_is_found_in_the_readme():
    python, commands = readme_example()
    assert "latdeploy.save(" in python and "np.savez(" in python
    assert len(commands) == 1 and "latdeploy export" in commands[0]


@pytest.mark.slow
def test_the_readme_example_runs_as_written(tmp_path):
    python, commands = readme_example()
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = SUPPLIED.replace("SAMPLES", str(SAMPLES)) + python
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=environment, check=True, timeout=300)
    with np.load(tmp_path / "test.npz") as data:
        assert data["x"].shape == (SAMPLES, 64) and data["y"].shape == (SAMPLES,)
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))  # the README's .venv/bin/latdeploy
    for command in commands:
        done = subprocess.run(
            command, shell=True, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600
        )
        output = done.stdout[-2000:] + done.stderr[-2000:]
        assert done.returncode == 0, f"{command!r} exited {done.returncode}:\n{output}"
    bundle = tmp_path / "my_model.latdeploy"
    assert (bundle / "graph.int.onnx").is_file() and (bundle / "parity.json").is_file()
    assert "Lava" in done.stdout and f"{SAMPLES}" in done.stdout
