"""report.html: self-contained, deterministic, and rendered by a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from latdeploy.cli import cli
from latdeploy.flows.prepare import encode
from latdeploy.report import prerender
from latdeploy.report.html import render_report
from latdeploy.report.plots import pareto_plot
from latdeploy.report.prerender import prerendered

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


DRAWN_AHEAD: list[str | None] = []
"""The pages the export's report child sent back (None: it failed)."""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from tests.conftest import SHIPPED_MODEL

    out = tmp_path_factory.mktemp("html") / "digits.latdeploy"
    args = ["export", str(SHIPPED_MODEL), "-o", str(out), "--samples", "3", "--json"]
    receive = prerender.Prerender._receive

    def recorded(pending):
        DRAWN_AHEAD.append(receive(pending))
        return DRAWN_AHEAD[-1]

    with pytest.MonkeyPatch.context() as patch:  # record whether the page drawn ahead came back
        patch.setattr(prerender.Prerender, "_receive", recorded)
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


def _screenshot(page: Path, tmp_path: Path, height: int = 4200) -> Path:
    """Render ``page`` in headless Chromium to a PNG under ``tmp_path`` and print its path."""
    shot = tmp_path / f"{page.stem}.png"
    result = subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'shot-profile'}", f"--window-size=1200,{height}",
         f"--screenshot={shot}", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0 and shot.stat().st_size > 10_000, result.stderr[-2000:]
    print(f"screenshot: {shot}")
    return shot


class _Elements(HTMLParser):
    """The DOM as (tag, attributes, ancestors' ids) per element, and the visible text."""

    VOID = {"meta", "br", "img", "input", "link", "hr"}

    def __init__(self, dom: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], tuple[str, ...]]] = []
        self.text: list[str] = []
        self._open: list[tuple[str, str]] = []
        self.feed(dom)

    def handle_starttag(self, tag, attrs):
        attributes = {key: value or "" for key, value in attrs}
        self.elements.append((tag, attributes, tuple(i for _, i in self._open if i)))
        if tag not in self.VOID:
            self._open.append((tag, attributes.get("id", "")))

    def handle_startendtag(self, tag, attrs):
        attributes = {key: value or "" for key, value in attrs}
        self.elements.append((tag, attributes, tuple(i for _, i in self._open if i)))

    def handle_endtag(self, tag):
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if not any(tag in ("style", "title") for tag, _ in self._open):
            self.text.append(data)

    def inside(self, element_id: str, tag: str = "path") -> int:
        """How many ``tag`` elements lie inside the element with id ``element_id``."""
        return sum(1 for t, _, ancestors in self.elements if t == tag and element_id in ancestors)

    def ids(self) -> set[str]:
        return {attributes["id"] for _, attributes, _ in self.elements if "id" in attributes}

    def svg_texts(self, svg_id: str) -> str:
        """The text drawn inside the svg element ``svg_id`` (axis titles, tick labels, legend)."""
        return _svg_text(self.dom_slice(svg_id))

    def dom_slice(self, svg_id: str) -> str:
        return self._dom[self._dom.index(f'id="{svg_id}"') :].split("</svg>", 1)[0]

    def feed(self, data):
        self._dom = data
        super().feed(data)


def _svg_text(fragment: str) -> str:
    return " ".join(unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", fragment))


def test_report_renders_in_headless_chromium_with_every_plot_and_number(bundle, tmp_path):
    dom = _dump_dom(bundle / "report.html", tmp_path / "chromium-profile")
    _screenshot(bundle / "report.html", tmp_path)
    parity = json.loads((bundle / "parity.json").read_text())
    energy = json.loads((bundle / "energy.json").read_text())
    page = _Elements(dom)
    assert "<h1>latdeploy export digits_mlp.pt</h1>" in dom
    rasters = re.findall(r'<svg id="raster-[^"]+" class="raster" data-layer="([^"]+)"', dom)
    assert rasters == ["input", "lif1", "lif2"]
    for chart in ("agreement-bars", "energy-bars", "latency-histogram"):
        assert f'id="{chart}"' in dom
    ids = page.ids()
    # one bar per algorithmic step, and the undecided samples in their own, labelled bar
    assert len([i for i in ids if re.fullmatch(r"latency-histogram-step-\d+", i)]) == parity["timesteps"]
    assert "latency-histogram-undecided" in ids and page.inside("latency-histogram-undecided") == 1
    histogram_text = page.svg_texts("latency-histogram")
    assert "undecided" in histogram_text and str(parity["decision_latency"]["fixed"]["undecided"]) in histogram_text
    # every plot has its axis titles (with units) and a legend
    titles = {
        "agreement-bars": ("layer", "spike slots that agree (%)", "float vs fixed", "fixed vs Lava"),
        "energy-bars": ("layer", "energy per inference (uJ)", "loihi2"),
        "latency-histogram": ("decision step (algorithmic time step)", "samples", "decided at this step"),
        **{
            f"raster-{name}": ("time step (algorithmic)", "neuron index", "float model")
            for name in ("input", "lif1", "lif2")
        },
    }
    for svg_id, expected in titles.items():
        text = page.svg_texts(svg_id)
        assert all(title in text for title in expected), (svg_id, text)
        assert f"{svg_id}-legend_1" in ids, svg_id
    assert "hardware (lava)" in page.svg_texts("raster-lif1") and "hardware" not in page.svg_texts("raster-input")
    compared = parity["fixed_vs_hardware"]["compared"]
    assert f"<td>0 / {compared}</td>" in dom and '<span class="ok">OK</span>' in dom
    assert f"{energy['energy_j'] * 1e6:.4f}" in dom
    assert f"<td>{energy['ann_equivalent']['macs']}</td>" in dom and energy["caveat"] in dom
    samples = parity["samples"]
    assert f"100.00 % ({samples}) / 100.00 % ({samples}) / 100.00 % ({parity['hardware_samples']})" in dom
    # no Python reprs in the visible text
    visible = " ".join(page.text)
    assert not re.search(r"\{'|\b(True|False|None)\b", visible), re.findall(
        r".{30}(?:\{'|True|False|None).{30}", visible
    )
    assert "u wraps 0" in visible
    # sample 0's spikes: one hollow float circle per float spike, one dot per Lava spike, no red mismatch
    from latdeploy.data import load_split
    from latdeploy.nn.checkpoint import load
    from tests.conftest import SHIPPED_MODEL

    model, metadata = load(SHIPPED_MODEL)
    input_spikes = encode(model, load_split(metadata["dataset"], "test").x[:1])
    assert page.inside("raster-input-spike-float") == int(np.sum(input_spikes[0]))
    assert page.inside("raster-lif1-spike-float") == page.inside("raster-lif1-spike-hardware") > 0
    assert "#d62728" not in page.dom_slice("raster-lif1") and "only" not in page.svg_texts("raster-lif1")


def test_report_is_self_contained_and_deterministic(bundle):
    page = (bundle / "report.html").read_text()
    assert "<script" not in page and "src=" not in page and "href=" not in page and "@import" not in page
    assert set(re.findall(r"https?://[^\s\"']+", page)) == {"http://www.w3.org/2000/svg"}
    parity = json.loads((bundle / "parity.json").read_text())
    energy = json.loads((bundle / "energy.json").read_text())
    assert render_report(parity, [energy], None) == render_report(parity, [energy], None)


def test_the_export_took_the_report_drawn_ahead_while_lava_ran(bundle):
    """Lava equals the fixed-point simulator, so the expected parity was the real one and the
    child's page is the bundle's report."""
    assert len(DRAWN_AHEAD) == 1 and DRAWN_AHEAD[0] is not None
    assert (bundle / "report.html").read_text() == DRAWN_AHEAD[0]


def test_the_report_drawn_ahead_in_a_child_is_the_one_drawn_here(bundle):
    """latdeploy.report.prerender: matplotlib imported and the page drawn in a forked child."""
    arguments = (json.loads((bundle / "parity.json").read_text()), [json.loads((bundle / "energy.json").read_text())])
    with prerendered(*arguments, None, "ahead") as pending:
        assert pending.take(*arguments, None, "ahead") == render_report(*arguments, None, title="ahead")


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
            "threshold_fixed": 0.998,
            "scale": 50.0,
        },
        "cause": {"factors": ["weight_rounding"], "method": "one_factor_exact", "fixes": {"weight_rounding": True}},
    }
    page = tmp_path / "divergence.html"
    page.write_text(render_report(parity, [], None, title="divergence <check>"))
    dom = _dump_dom(page, tmp_path / "chromium-profile")
    _screenshot(page, tmp_path, height=1600)
    elements = _Elements(dom)
    assert "<title>divergence &lt;check&gt;</title>" in dom
    assert "Likely cause: <b>weight_rounding</b>" in dom
    assert "<td>yes</td>" in dom and "True" not in " ".join(elements.text)
    ids = elements.ids()
    assert {"membrane-trace-float", "membrane-trace-fixed", "membrane-divergence"} <= ids
    # 1.000 vs 0.998: two threshold lines, each labelled in the legend
    assert {"membrane-threshold-float", "membrane-threshold-fixed"} <= ids and "membrane-threshold" not in ids
    text = elements.svg_texts("membrane")
    assert "float threshold 1.000" in text and "fixed threshold > 0.998" in text and "first divergence" in text
    assert "time step (algorithmic)" in text and "membrane v (threshold units)" in text
    # the divergence marker is visible: at least 6 px across
    marker = elements.dom_slice("membrane-divergence")
    xs = [float(x) for x in re.findall(r"(-?\d+\.?\d*) -?\d+\.?\d*", re.search(r' d="([^"]+)"', marker).group(1))]
    assert max(xs) - min(xs) >= 6


def test_equal_thresholds_draw_one_line(bundle):
    parity = json.loads((bundle / "parity.json").read_text())
    membrane = {
        "steps": [0, 1],
        "float": [0.5, 1.1],
        "fixed": [0.5, 1.1],
        "threshold_float": 1.0,
        "threshold_fixed": 1.0,
    }
    parity["float_vs_fixed"]["first_divergence"] = {
        "sample": 0,
        "step": 1,
        "layer": "lif1",
        "neuron": 0,
        "membrane": membrane,
    }
    html = render_report(parity, [], None)
    assert 'id="membrane-threshold"' in html and "membrane-threshold-fixed" not in html
    assert "threshold 1.000 (float = fixed)" in html


def test_pareto_svg_is_zoomed_with_a_legend_in_headless_chromium(tmp_path):
    points = [
        {"label": "8 bit", "energy_j": 2.0e-7, "accuracy": 0.95},
        {"label": "6 bit", "energy_j": 1.8e-7, "accuracy": 0.9444},
        {"label": "5 bit", "energy_j": 1.9e-7, "accuracy": 0.93},
        {"label": "2 bit", "energy_j": 0.5e-7, "accuracy": 0.075},
    ]
    svg = pareto_plot(points, ["8 bit", "6 bit", "2 bit"], "digits_mlp.pt on loihi2")
    assert svg == pareto_plot(points, ["8 bit", "6 bit", "2 bit"], "digits_mlp.pt on loihi2")
    path = tmp_path / "pareto.svg"
    path.write_text(svg)
    dom = _dump_dom(path, tmp_path / "chromium-profile")
    _screenshot(path, tmp_path, height=450)
    elements = _Elements(dom)
    ids = elements.ids()
    assert {"pareto-front", "pareto-dominated", "pareto-below-floor", "pareto-legend_1"} <= ids
    text = _svg_text(dom)
    for expected in (
        "energy per inference (uJ)",
        "accuracy, fixed point (%)",
        "Pareto front",
        "dominated",
        "below floor",
    ):
        assert expected in text
    assert "2 bit (7.5 %)" in text
    # the y axis spans the accuracies that matter, not 0-100 %
    ticks = [
        float(t)
        for t in re.findall(r"<text[^>]*>(\d+(?:\.\d+)?)</text>", elements.dom_slice("pareto-matplotlib.axis_2"))
    ]
    assert ticks and min(ticks) >= 80 and max(ticks) <= 100
