"""The bring-your-own-model example of ``docs/frameworks.md`` ("Python API"), executed as written: a model
trained on the user's own 100-feature, 5-class data exports to loihi2-sim with 0 fixed-vs-Lava mismatches,
and the bundle verifies and prices through ``latdeploy.verify``/``latdeploy.energy``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "frameworks.md"


def example() -> str:
    """Return the first Python block after the "Python API" heading of ``docs/frameworks.md``."""
    text = DOC.read_text()
    section = text[text.index("## Python API") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "docs/frameworks.md: no python example under '## Python API'"
    return match.group(1)


@pytest.mark.slow
def test_the_documented_user_example_runs_as_written(tmp_path, monkeypatch):
    pytest.importorskip("lava.magma.core.run_configs")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "docs_example"}
    exec(compile(example(), str(DOC), "exec"), namespace)  # the user's code, as the docs show it
    result = namespace["result"]
    assert result.out == Path("sensor.latdeploy") and (tmp_path / "sensor.latdeploy" / "manifest.json").is_file()
    assert (tmp_path / "sensor.pt").is_file()  # the live model, saved next to the bundle for verify
    assert result.parity["fixed_vs_hardware"]["mismatches"] == 0 and result.parity_ok
    assert result.data  # the user's data was used and recorded
    report = namespace["report"]
    assert report.report["fixed_vs_hardware"]["mismatches"] == 0
    assert set(namespace["table"]) >= {"counts", "profiles"}


def test_a_live_model_without_its_metadata_is_refused_before_anything_is_written(tmp_path):
    import latdeploy
    from latdeploy.errors import LatdeployError
    from latdeploy.nn import build_model

    model = build_model({"arch": "mlp", "sizes": [10, 4, 2], "timesteps": 4, "threshold": 1.0})
    with pytest.raises(LatdeployError, match="give input_shape, timesteps, classes"):
        latdeploy.export(model, out=tmp_path / "b.latdeploy", data=tmp_path / "none.npz")
    assert list(tmp_path.iterdir()) == []
