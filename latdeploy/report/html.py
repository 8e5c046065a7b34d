"""``report.html``: one self-contained page (inline CSS and SVG, no script, no network).

Tables of parity, accuracy, latency, robustness and energy, and plots drawn as
inline SVG: spike rasters per layer with the float run and the hardware run
overlaid, per-layer agreement bars, per-layer energy bars per profile, the
decision-latency histogram and the membrane traces around the first divergence.
The output is deterministic (the same reports give the same bytes).
"""

from __future__ import annotations

from html import escape
from typing import Any

from latdeploy.backends.select import hardware_label
from latdeploy.untrusted.text import printable
from latdeploy.verify.parity import parity_ok
from latdeploy.verify.schema import upgrade_parity

FLOAT_COLOUR, HARDWARE_COLOUR, MISMATCH_COLOUR = "#1f77b4", "#ff7f0e", "#d62728"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
CSS = """
body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
.ok{color:#2a7d2a;font-weight:bold}.fail{color:#b00;font-weight:bold}
svg{background:#fff;border:1px solid #ddd;margin:0.3em 0}
.legend span{margin-right:1.5em}
"""


def _text(value: Any) -> str:
    return escape(printable(value))


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f} %"


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _table(header: list[str], rows: list[list[Any]], css_class: str = "") -> str:
    def cell(tag: str, index: int, value: Any) -> str:
        return f'<{tag} class="l">{_text(value)}</{tag}>' if index == 0 else f"<{tag}>{_text(value)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in rows)
    attribute = f' class="{css_class}"' if css_class else ""
    return f"<table{attribute}><tr>{head}</tr>{body}</table>"


def bar_chart(title: str, labels: list[str], series: dict[str, list[float]], unit: str, chart_id: str) -> str:
    """Return an inline SVG of grouped horizontal bars: one group per label, one bar per series."""
    names = list(series)
    row = 14 * len(names) + 10
    width, left, plot = 720, 140, 460
    height = 40 + row * len(labels) + 14 * len(names)
    top = max((max(values) for values in series.values() if values), default=0.0) or 1.0
    parts = [
        f'<svg id="{chart_id}" class="bars" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">',
        f'<text x="10" y="18" font-size="14" font-weight="bold">{_text(title)}</text>',
    ]
    for i, label in enumerate(labels):
        y0 = 30 + i * row
        parts.append(f'<text x="10" y="{y0 + row / 2 + 2:.1f}" font-size="12">{_text(label)}</text>')
        for j, name in enumerate(names):
            value = series[name][i]
            length = plot * value / top
            y = y0 + j * 14
            colour = PALETTE[j % len(PALETTE)]
            parts.append(
                f'<rect class="bar" data-series="{_text(name)}" data-label="{_text(label)}" x="{left}" y="{y}" '
                f'width="{length:.1f}" height="12" fill="{colour}"><title>{_text(name)}: {value:.6g} {unit}</title>'
                "</rect>"
            )
            parts.append(
                f'<text x="{left + length + 4:.1f}" y="{y + 10}" font-size="10">{value:.4g} {_text(unit)}</text>'
            )
    legend_y = 30 + row * len(labels) + 4
    for j, name in enumerate(names):
        parts.append(
            f'<rect x="{left + 150 * j}" y="{legend_y}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
            f'<text x="{left + 150 * j + 14}" y="{legend_y + 9}" font-size="11">{_text(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def raster(layer: dict[str, Any], timesteps: int) -> str:
    """Return an inline SVG raster: float spikes as hollow circles, hardware spikes as dots, mismatches red."""
    neurons = layer["neurons"]
    cell_x, cell_y = 34, max(2.0, min(8.0, 400 / neurons))
    left, top = 40, 24
    width, height = left + cell_x * timesteps + 20, top + cell_y * neurons + 24
    float_events = {tuple(e) for e in layer["float"]}
    hardware_events = None if layer["hardware"] is None else {tuple(e) for e in layer["hardware"]}
    radius = max(1.2, cell_y / 2 - 0.3)
    parts = [
        f'<svg class="raster" data-layer="{_text(layer["name"])}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height:.0f}">',
        f'<text x="4" y="14" font-size="12" font-weight="bold">{_text(layer["name"])} ({neurons} neurons)</text>',
    ]
    for t in range(timesteps):
        parts.append(f'<text x="{left + cell_x * t + cell_x / 2 - 3}" y="{height - 6:.0f}" font-size="10">{t}</text>')
    for t, n in sorted(float_events):
        cx, cy = left + cell_x * t + cell_x / 2, top + cell_y * n + cell_y / 2
        colour = FLOAT_COLOUR if hardware_events is None or (t, n) in hardware_events else MISMATCH_COLOUR
        parts.append(
            f'<circle class="spike-float" cx="{cx:.1f}" cy="{cy:.1f}" r="{radius + 1.5:.1f}" fill="none" '
            f'stroke="{colour}" stroke-width="1"/>'
        )
    for t, n in sorted(hardware_events or ()):
        cx, cy = left + cell_x * t + cell_x / 2, top + cell_y * n + cell_y / 2
        colour = HARDWARE_COLOUR if (t, n) in float_events else MISMATCH_COLOUR
        parts.append(
            f'<circle class="spike-hardware" cx="{cx:.1f}" cy="{cy:.1f}" r="{max(radius * 0.8, 1.3):.1f}" '
            f'fill="{colour}"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram(title: str, counts: list[int], chart_id: str) -> str:
    """Return an inline SVG column chart of ``counts`` per algorithmic step."""
    width, left, bottom, plot_height = 60 + 40 * len(counts), 40, 170, 130
    top = max(counts, default=0) or 1
    parts = [
        f'<svg id="{chart_id}" class="histogram" xmlns="http://www.w3.org/2000/svg" width="{width}" height="200">',
        f'<text x="10" y="18" font-size="14" font-weight="bold">{_text(title)}</text>',
    ]
    for step, count in enumerate(counts):
        bar_height = plot_height * count / top
        x = left + 40 * step
        parts.append(
            f'<rect class="bar" data-step="{step}" x="{x}" y="{bottom - bar_height:.1f}" width="30" '
            f'height="{bar_height:.1f}" fill="{FLOAT_COLOUR}"><title>step {step}: {count}</title></rect>'
            f'<text x="{x + 8}" y="{bottom + 14}" font-size="10">{step}</text>'
            f'<text x="{x + 4}" y="{bottom - bar_height - 3:.1f}" font-size="10">{count}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def membrane_plot(membrane: dict[str, Any]) -> str:
    """Return an inline SVG of the float and fixed membranes (float units) around the first divergence."""
    steps = membrane["steps"]
    series = {"float": membrane["float"], "fixed": membrane.get("fixed")}
    values = [v for s in series.values() if s for v in s]
    values += [membrane.get("threshold_float", 0.0), membrane.get("threshold_fixed", 0.0), 0.0]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    width, height, left, top, plot_w, plot_h = 520, 240, 50, 24, 440, 160

    def x(i: int) -> float:
        return left + plot_w * i / max(len(steps) - 1, 1)

    def y(v: float) -> float:
        return top + plot_h * (high - v) / span

    parts = [
        f'<svg id="membrane" class="membrane" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">',
        f'<text x="{left}" y="16" font-size="12" font-weight="bold">membrane around the first divergence '
        "(float units)</text>",
    ]
    for key, colour in (("threshold_float", FLOAT_COLOUR), ("threshold_fixed", HARDWARE_COLOUR)):
        if key in membrane:
            parts.append(
                f'<line x1="{left}" x2="{left + plot_w}" y1="{y(membrane[key]):.1f}" y2="{y(membrane[key]):.1f}" '
                f'stroke="{colour}" stroke-dasharray="4 3"><title>{key} {membrane[key]:.4g}</title></line>'
            )
    for (name, values), colour in zip(series.items(), (FLOAT_COLOUR, HARDWARE_COLOUR), strict=True):
        if not values:
            continue
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline class="trace-{name}" points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        for i, v in enumerate(values):
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
                f"<title>{name} step {steps[i]}: {v:.4g}</title></circle>"
            )
    for i, step in enumerate(steps):
        parts.append(f'<text x="{x(i) - 3:.1f}" y="{top + plot_h + 16}" font-size="10">{step}</text>')
    for value in (low, (low + high) / 2, high):
        parts.append(f'<text x="4" y="{y(value) + 4:.1f}" font-size="10">{value:.3g}</text>')
    legend = (("float model", FLOAT_COLOUR, ""), ("fixed point", HARDWARE_COLOUR, ""), ("thresholds", "#666", "4 3"))
    for index, (label, colour, dash) in enumerate(legend):
        x0 = left + 150 * index
        parts.append(
            f'<line x1="{x0}" x2="{x0 + 20}" y1="{height - 8}" y2="{height - 8}" stroke="{colour}" stroke-width="2" '
            f'stroke-dasharray="{dash or "none"}"/><text x="{x0 + 24}" y="{height - 4}" font-size="11">{label}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def pareto_plot(points: list[dict[str, Any]], front: list[str], title: str) -> str:
    """Return a standalone SVG scatter of ``points`` (``label``, ``energy_j``, ``accuracy``):
    energy per inference (x, uJ) against accuracy (y, %), the ``front`` labels joined and filled."""
    width, height, left, top, plot_w, plot_h = 640, 400, 70, 40, 520, 300
    energies = [p["energy_j"] * 1e6 for p in points] or [0.0]
    low_x, high_x = min(energies), max(energies)
    span_x = (high_x - low_x) or max(high_x, 1e-9)
    low_x -= 0.05 * span_x
    span_x *= 1.1

    def x(value: float) -> float:
        return left + plot_w * (value * 1e6 - low_x) / span_x

    def y(value: float) -> float:
        return top + plot_h * (1 - value)

    parts = [
        f'<svg id="pareto" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="{left}" y="22" font-size="14" font-weight="bold">{_text(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#444"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#444"/>',
        f'<text x="{left + plot_w / 2 - 80}" y="{height - 12}" font-size="12">energy per inference (uJ)</text>',
        f'<text x="14" y="{top + plot_h / 2}" font-size="12" transform="rotate(-90 14 {top + plot_h / 2})">'
        "accuracy (fixed point, %)</text>",
    ]
    for tick in range(0, 101, 20):
        parts.append(f'<text x="{left - 30}" y="{y(tick / 100) + 4:.1f}" font-size="10">{tick}</text>')
    for i in range(5):
        value = low_x + span_x * (i + 0.5) / 5
        parts.append(
            f'<text x="{left + plot_w * (i + 0.5) / 5 - 12:.1f}" y="{top + plot_h + 16}" font-size="10">'
            f"{value:.4g}</text>"
        )
    on_front = sorted((p for p in points if p["label"] in front), key=lambda p: p["energy_j"])
    if len(on_front) > 1:
        line = " ".join(f"{x(p['energy_j']):.1f},{y(p['accuracy']):.1f}" for p in on_front)
        parts.append(
            f'<polyline class="front" points="{line}" fill="none" stroke="{HARDWARE_COLOUR}" stroke-width="2"/>'
        )
    for p in points:
        filled = HARDWARE_COLOUR if p["label"] in front else "#fff"
        parts.append(
            f'<circle class="setting" data-label="{_text(p["label"])}" cx="{x(p["energy_j"]):.1f}" '
            f'cy="{y(p["accuracy"]):.1f}" r="6" fill="{filled}" stroke="{FLOAT_COLOUR}" stroke-width="2"/>'
            f'<text x="{x(p["energy_j"]) + 8:.1f}" y="{y(p["accuracy"]) - 8:.1f}" font-size="11">'
            f"{_text(p['label'])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts) + "\n"


def _summary(parity: dict[str, Any]) -> str:
    fixed_hardware, float_fixed = parity["fixed_vs_hardware"], parity["float_vs_fixed"]
    status = '<span class="ok">OK</span>' if parity_ok(parity) else '<span class="fail">FAILED</span>'
    accuracy = parity["accuracy"]
    short = hardware_label(parity["hardware"], short=True)
    rows = [
        ["samples (float, fixed)", parity["samples"]],
        [f"samples on {short}", parity.get("hardware_samples", parity["samples"])],
        ["time steps per sample", parity["timesteps"]],
        [f"fixed vs {short} mismatches", f"{fixed_hardware['mismatches']} / {fixed_hardware['compared']}"],
        ["float vs fixed mismatches", f"{float_fixed['mismatches']} / {float_fixed['compared']}"],
        [f"accuracy float / fixed / {short}", " / ".join(_pct(accuracy[k]) for k in ("float", "fixed", "hardware"))],
        ["decision agreement float/fixed", _pct(parity["decision_agreement"]["float_vs_fixed"])],
        [f"decision agreement fixed/{short}", _pct(parity["decision_agreement"]["fixed_vs_hardware"])],
    ]
    heading = f"<h2>Parity: fixed point vs {_text(hardware_label(parity['hardware']))} {status}</h2>"
    return heading + _table(["", "value"], rows, "summary")


def _divergence(parity: dict[str, Any]) -> str:
    divergence = parity["float_vs_fixed"]["first_divergence"]
    if divergence is None:
        return "<h2>First divergence</h2><p>None: the float model and the fixed-point run agree on every slot.</p>"
    cause = divergence.get("cause", {})
    text = (
        f"sample {divergence['sample']}, layer <b>{_text(divergence['layer'])}</b>, neuron {divergence['neuron']}, "
        f"step {divergence['step']}"
    )
    parts = [f'<h2>First divergence</h2><p id="first-divergence">{text}</p>']
    if cause:
        parts.append(
            f'<p id="cause">Likely cause: <b>{_text(", ".join(cause["factors"]) or "none found")}</b> '
            f"(method {_text(cause['method'])}; one factor made exact at a time).</p>"
        )
        if cause.get("fixes"):
            parts.append(
                _table(["factor made exact", "removes the divergence"], [[k, v] for k, v in cause["fixes"].items()])
            )
    if divergence.get("membrane"):
        parts.append(membrane_plot(divergence["membrane"]))
    return "".join(parts)


def _layers(parity: dict[str, Any]) -> str:
    layers = parity["layers"]
    short = hardware_label(parity["hardware"], short=True)
    rows = [
        [
            layer["name"],
            layer.get("kind", ""),
            layer["neurons"],
            layer["lag"],
            layer["spikes_float"],
            layer["spikes_fixed"],
            layer["spikes_hardware"],
            _pct(layer.get("agreement_float_vs_fixed")),
            _pct(layer.get("agreement_fixed_vs_hardware")),
            layer["overflow_fixed"],
        ]
        for layer in layers
    ]
    header = [
        "layer",
        "kind",
        "neurons",
        "lag",
        "spikes float",
        "spikes fixed",
        f"spikes {short} (its samples)",
        "float/fixed",
        f"fixed/{short}",
        "overflows",
    ]
    parts = ["<h2>Per layer</h2>", _table(header, rows, "layers")]
    names = [layer["name"] for layer in layers]
    parts.append(
        bar_chart(
            "spike agreement per layer",
            names,
            {
                "float vs fixed": [100 * layer.get("agreement_float_vs_fixed", 0.0) for layer in layers],
                f"fixed vs {short}": [100 * layer.get("agreement_fixed_vs_hardware", 0.0) for layer in layers],
            },
            "%",
            "agreement-bars",
        )
    )
    step_rows = [
        [layer["name"], " ".join(f"{100 * a:.1f}" for a in layer.get("per_step_agreement_float_vs_fixed", []))]
        for layer in layers
    ]
    parts.append(_table(["layer", "float/fixed agreement per step (%)"], step_rows))
    shift_rows = [
        [
            layer["name"],
            " ".join(f"{k}:{v}" for k, v in shift["histogram"].items()) or "-",
            shift["only_reference"],
            shift["only_candidate"],
            _num(shift["mean_abs_shift"]),
        ]
        for layer in layers
        if (shift := layer.get("first_spike_shift_float_vs_fixed"))
    ]
    if shift_rows:
        parts.append("<h3>First-spike-time shifts, fixed minus float (steps: count)</h3>")
        parts.append(_table(["layer", "histogram", "only float", "only fixed", "mean |shift|"], shift_rows))
    return "".join(parts)


def _latency(parity: dict[str, Any]) -> str:
    latency = parity["decision_latency"]
    rows = [
        [
            parity["hardware"] if name == "hardware" else name,
            _num(run["mean_step"]),
            _num(run["percentiles"]["p50"]),
            _num(run["percentiles"]["p90"]),
            _num(run["percentiles"]["p99"]),
            _num(run["hardware"]["mean_step"]),
            run["undecided"],
        ]
        for name, run in latency.items()
    ]
    parts = [
        "<h2>Decision latency</h2>",
        _table(["run", "mean step", "p50", "p90", "p99", "mean hardware step", "undecided"], rows, "latency"),
    ]
    if "histogram" in latency["fixed"]:
        parts.append(histogram("decision step (fixed point)", latency["fixed"]["histogram"], "latency-histogram"))
    return "".join(parts)


def _robustness(parity: dict[str, Any]) -> str:
    entries = parity.get("robustness") or []
    if not entries:
        return ""
    rows = [
        [
            e["corruption"],
            _pct(e["accuracy"]["float"]),
            _pct(e["accuracy"]["fixed"]),
            _pct(e["decision_agreement_float_vs_fixed"]),
            e["float_vs_fixed"]["mismatches"],
            e.get("fixed_vs_hardware", {}).get("mismatches", "n/a"),
        ]
        for e in entries
    ]
    short = hardware_label(parity["hardware"], short=True)
    header = ["corruption", "float", "fixed", "decisions agree", "float/fixed mismatches", f"fixed/{short} mismatches"]
    return "<h2>Robustness</h2>" + _table(header, rows)


def _energy(energies: list[dict[str, Any]]) -> str:
    if not energies:
        return ""
    names = [layer["name"] for layer in energies[0]["per_layer"]]
    rows = [
        [
            r["profile"],
            f"{r['energy_j'] * 1e6:.4f}",
            f"{r['sops']:.1f}",
            f"{r['sops_dense']:.1f}" if "sops_dense" in r else "n/a",
            f"{r['neuron_updates']:.0f}",
            f"{r['spikes']:.1f}",
            r["ann_equivalent"]["macs"],
            f"{r['ann_equivalent']['energy_j'] * 1e6:.4f}",
        ]
        for r in energies
    ]
    header = ["profile", "uJ / inference", "SOPs", "SOPs dense", "neuron updates", "spikes", "ANN MACs", "ANN uJ"]
    chart = bar_chart(
        "energy per layer and inference",
        names,
        {r["profile"]: [layer["energy_j"] * 1e6 for layer in r["per_layer"]] for r in energies},
        "uJ",
        "energy-bars",
    )
    return (
        "<h2>Energy per inference</h2>"
        + _table(header, rows, "energy")
        + chart
        + f"<p>SOP convention: {_text(energies[0]['sop_convention'])}</p>"
    )


def _rasters(rasters: dict[str, Any] | None) -> str:
    if not rasters:
        return ""
    parts = [
        f"<h2>Spike rasters, sample {rasters['sample']}</h2>",
        '<p class="legend"><span style="color:#1f77b4">&#9675; float model</span>'
        f'<span style="color:#ff7f0e">&#9679; hardware ({_text(rasters["hardware_source"])})</span>'
        '<span style="color:#d62728">red: only one of them spiked</span></p>',
    ]
    parts += [raster(layer, rasters["timesteps"]) for layer in rasters["layers"]]
    return "".join(parts)


def render_report(
    parity: dict[str, Any], energies: list[dict[str, Any]], rasters: dict[str, Any] | None, title: str = "latdeploy"
) -> str:
    """Return the whole HTML page for a parity report (of any schema version,
    :func:`latdeploy.verify.schema.upgrade_parity`), energy reports and one sample's rasters."""
    parity = upgrade_parity(parity)
    body = (
        _summary(parity)
        + _divergence(parity)
        + _layers(parity)
        + _latency(parity)
        + _robustness(parity)
        + _energy(energies)
        + _rasters(rasters)
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_text(title)}</title>'
        f"<style>{CSS}</style></head><body><h1>{_text(title)}</h1>{body}</body></html>\n"
    )
