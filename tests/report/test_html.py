"""report.html: self-contained, deterministic, and rendered by a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from latdeploy.cli import cli
from latdeploy.flows.prepare import encode
from latdeploy.report.html import render_report

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from tests.conftest import SHIPPED_MODEL

    out = tmp_path_factory.mktemp("html") / "digits.latdeploy"
    args = ["export", str(SHIPPED_MODEL), "-o", str(out), "--samples", "3", "--json"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)  # export --json: nothing but the machine-readable summary on stdout
    assert summary["bundle"] == str(out) and summary["parity_ok"] is True
    assert summary["parity"] == json.loads((out / "parity.json").read_text())
    return out


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("LATDEPLOY_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is not installed (.ci/run installs it with apt-get install chromium)")
        pytest.skip("chromium is not installed; set LATDEPLOY_REQUIRE_CHROMIUM=1 to make this a failure")
    return found


def _dump_dom(page, profile_dir) -> str:
    result = subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_report_renders_in_headless_chromium_with_every_plot_and_number(bundle, tmp_path):
    dom = _dump_dom(bundle / "report.html", tmp_path / "chromium-profile")
    parity = json.loads((bundle / "parity.json").read_text())
    energy = json.loads((bundle / "energy.json").read_text())
    assert "<h1>latdeploy export digits_mlp.pt</h1>" in dom
    rasters = re.findall(r'<svg class="raster" data-layer="([^"]+)"', dom)
    assert rasters == ["input", "lif1", "lif2"]
    for chart in ("agreement-bars", "energy-bars", "latency-histogram"):
        assert f'id="{chart}"' in dom
    assert len(re.findall(r'<rect class="bar" data-step="\d+"', dom)) == parity["timesteps"]
    compared = parity["fixed_vs_hardware"]["compared"]
    assert f"<td>0 / {compared}</td>" in dom and '<span class="ok">OK</span>' in dom
    assert f"{energy['energy_j'] * 1e6:.4f}" in dom
    # sample 0's spikes: one hollow float circle per float spike, one dot per Lava spike, no red mismatch
    from latdeploy.data import load_split
    from latdeploy.nn.checkpoint import load
    from tests.conftest import SHIPPED_MODEL

    model, metadata = load(SHIPPED_MODEL)
    input_spikes = encode(model, load_split(metadata["dataset"], "test").x[:1])
    input_svg = dom[dom.index('data-layer="input"') : dom.index('data-layer="lif1"')]
    assert input_svg.count('class="spike-float"') == int(np.sum(input_spikes[0]))
    lif1_svg = dom[dom.index('data-layer="lif1"') : dom.index('data-layer="lif2"')]
    assert lif1_svg.count('class="spike-float"') == lif1_svg.count('class="spike-hardware"') > 0
    assert "#d62728" not in lif1_svg


def test_report_is_self_contained_and_deterministic(bundle):
    page = (bundle / "report.html").read_text()
    assert "<script" not in page and "src=" not in page and "href=" not in page and "@import" not in page
    assert set(re.findall(r"https?://[^\s\"']+", page)) == {"http://www.w3.org/2000/svg"}
    parity = json.loads((bundle / "parity.json").read_text())
    energy = json.loads((bundle / "energy.json").read_text())
    assert render_report(parity, [energy], None) == render_report(parity, [energy], None)


def test_a_divergence_with_its_cause_and_membrane_plot_is_rendered(bundle, tmp_path):
    parity = json.loads((bundle / "parity.json").read_text())
    parity["float_vs_fixed"]["first_divergence"] = {
        "sample": 2,
        "step": 3,
        "layer": "lif1",
        "neuron": 7,
        "float_fired": 1,
        "fixed_fired": 0,
        "membrane": {
            "steps": [1, 2, 3],
            "float": [0.2, 0.6, 1.01],
            "fixed": [0.2, 0.59, 0.99],
            "fixed_int": [10, 30, 50],
            "threshold_float": 1.0,
            "threshold_fixed": 1.0,
            "scale": 50.0,
        },
        "cause": {"factors": ["weight_rounding"], "method": "one_factor_exact", "fixes": {"weight_rounding": True}},
    }
    page = tmp_path / "divergence.html"
    page.write_text(render_report(parity, [], None, title="divergence <check>"))
    dom = _dump_dom(page, tmp_path / "chromium-profile")
    assert "<title>divergence &lt;check&gt;</title>" in dom
    assert "Likely cause: <b>weight_rounding</b>" in dom
    assert 'class="trace-float"' in dom and 'class="trace-fixed"' in dom
