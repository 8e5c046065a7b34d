"""``report.html``: one self-contained page (inline CSS and SVG, no script, no network).

The page is the jinja2 template ``templates/report.html.j2``; this module turns the parity
report (of any schema version, :func:`latdeploy.verify.schema.upgrade_parity`), energy reports
and one sample's rasters into its context: tables of display strings (no Python reprs: dicts
become ``key value`` lists, booleans yes/no, missing values n/a) and the plots of
:mod:`latdeploy.report.plots`. The output is deterministic (the same reports give the same bytes).
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from latdeploy.backends.select import hardware_label
from latdeploy.energy.priced import unpriced
from latdeploy.report import plots
from latdeploy.untrusted.text import printable
from latdeploy.verify.gates import describe_check
from latdeploy.verify.parity import parity_ok
from latdeploy.verify.schema import upgrade_parity

TEMPLATE = "report.html.j2"
CSS = """
body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
.ok{color:#2a7d2a;font-weight:bold}.fail{color:#b00;font-weight:bold}
h2.verdict-failed{background:#fbe3e3;color:#b00;padding:4px 8px}h2.verdict-passed{background:#e5f4e5;padding:4px 8px}
svg{background:#fff;border:1px solid #ddd;margin:0.3em 0;display:block;height:auto;max-width:100%}
.caveat{color:#555;font-size:0.9em}
"""


def _printable_text(value: Any) -> Any:
    """Every ``{{ }}`` value of the page: text from files made printable (controls, bidi overrides, ESC
    escaped) before autoescaping; markup the report built itself (the SVG plots) passes unchanged."""
    return value if isinstance(value, Markup) or not isinstance(value, str) else printable(value)


_ENVIRONMENT = Environment(
    loader=PackageLoader("latdeploy.report", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    finalize=_printable_text,
)


def display(value: Any) -> str:
    """Return ``value`` as page text: None -> ``n/a``, booleans ``yes``/``no``, a dict as
    ``key value, ...`` (underscores as spaces; ``none`` when empty), a list comma-separated."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{str(key).replace('_', ' ')} {display(item)}" for key, item in value.items()) or "none"
    if isinstance(value, (list, tuple)):
        return ", ".join(display(item) for item in value) or "none"
    return printable(value)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f} %"


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _rows(rows: list[list[Any]]) -> list[list[str]]:
    return [[display(cell) for cell in row] for row in rows]


def _accuracy_samples(parity: dict[str, Any]) -> dict[str, int]:
    samples, hardware = parity["samples"], parity.get("hardware_samples", parity["samples"])
    return parity.get("accuracy_samples") or {"float": samples, "fixed": samples, "hardware": hardware}


def _summary(parity: dict[str, Any]) -> dict[str, Any]:
    fixed_hardware, float_fixed = parity["fixed_vs_hardware"], parity["float_vs_fixed"]
    accuracy, measured = parity["accuracy"], _accuracy_samples(parity)
    short = hardware_label(parity["hardware"], short=True)
    rows = [
        ["samples (float, fixed)", parity["samples"]],
        [f"samples on {short}", parity.get("hardware_samples", parity["samples"])],
        ["time steps per sample", parity["timesteps"]],
        [f"fixed vs {short} mismatches", f"{fixed_hardware['mismatches']} / {fixed_hardware['compared']}"],
        [
            "float vs fixed mismatches",
            _float_missing(parity) or f"{float_fixed['mismatches']} / {float_fixed['compared']}",
        ],
        [
            f"accuracy float / fixed / {short} (samples)",
            " / ".join(f"{_pct(accuracy[k])} ({measured[k]})" for k in ("float", "fixed", "hardware")),
        ],
        ["decision agreement float/fixed", _pct(parity["decision_agreement"]["float_vs_fixed"])],
        [f"decision agreement fixed/{short}", _pct(parity["decision_agreement"]["fixed_vs_hardware"])],
    ]
    return {
        "hardware": hardware_label(parity["hardware"]),
        "ok": parity_ok(parity),
        "rows": _rows(rows),
        "note": _float_missing(parity),
    }


def _float_missing(parity: dict[str, Any]) -> str | None:
    """Why the report has no float run (an integer file), or None."""
    entry = parity.get("float_run") or {}
    return None if entry.get("available", True) else str(entry.get("reason"))


def _verdict(parity: dict[str, Any]) -> dict[str, Any]:
    """The headline: passed when parity holds and every gate passed; one line per check with its result."""
    checks = [
        {"text": f"parity: fixed point vs {hardware_label(parity['hardware'])}", "ok": parity_ok(parity), "na": False},
        *(
            {
                "text": describe_check(check).rsplit(" [", 1)[0],
                "ok": check["passed"] is not False,
                "na": check["passed"] is None,
            }  # fmt: skip
            for check in parity.get("gates", {}).get("checks", [])
        ),
    ]
    return {"ok": all(check["ok"] for check in checks), "checks": checks}


def _divergence(parity: dict[str, Any]) -> dict[str, Any] | None:
    divergence = parity["float_vs_fixed"]["first_divergence"]
    if divergence is None or _float_missing(parity):
        return None
    cause = divergence.get("cause") or {}
    membrane = divergence.get("membrane")
    return {
        "sample": divergence["sample"],
        "layer": divergence["layer"],
        "neuron": divergence["neuron"],
        "step": divergence["step"],
        "cause": (", ".join(cause.get("factors", [])) or "none found") if cause else "",
        "method": cause.get("method", ""),
        "fixes": _rows([[factor, fixed] for factor, fixed in cause.get("fixes", {}).items()]),
        "plot": Markup(plots.membrane_plot(membrane, divergence["step"])) if membrane else "",
    }


def _layers(parity: dict[str, Any]) -> dict[str, Any]:
    layers = parity["layers"]
    short = hardware_label(parity["hardware"], short=True)
    header = ["layer", "kind", "neurons", "lag", "spikes float", "spikes fixed", f"spikes {short} (its samples)"]
    header += ["float/fixed", f"fixed/{short}", "overflows"]
    rows = [
        [
            layer["name"],
            layer.get("kind", ""),
            layer["neurons"],
            layer["lag"],
            "n/a" if layer["spikes_float"] is None else layer["spikes_float"],
            layer["spikes_fixed"],
            layer["spikes_hardware"],
            _pct(layer.get("agreement_float_vs_fixed")),
            _pct(layer.get("agreement_fixed_vs_hardware")),
            layer["overflow_fixed"],
        ]
        for layer in layers
    ]
    plot = plots.bar_chart(
        "spike agreement per layer",
        [layer["name"] for layer in layers],
        {
            **(
                {}
                if _float_missing(parity)
                else {"float vs fixed": [100 * layer.get("agreement_float_vs_fixed", 0.0) for layer in layers]}
            ),
            f"fixed vs {short}": [100 * layer.get("agreement_fixed_vs_hardware", 0.0) for layer in layers],
        },
        "spike slots that agree (%)",
        "agreement-bars",
    )
    per_step = [
        [layer["name"], " ".join(f"{100 * a:.1f}" for a in layer.get("per_step_agreement_float_vs_fixed", []))]
        for layer in layers
    ]
    shifts = [
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
    return {"header": header, "rows": _rows(rows), "plot": Markup(plot), "per_step": per_step, "shifts": _rows(shifts)}


def _latency(parity: dict[str, Any]) -> dict[str, Any]:
    latency, measured = parity["decision_latency"], _accuracy_samples(parity)
    rows = [
        [
            parity["hardware"] if name == "hardware" else name,
            measured.get(name, ""),
            _num(run["mean_step"]),
            _num(run["percentiles"]["p50"]),
            _num(run["percentiles"]["p90"]),
            _num(run["percentiles"]["p99"]),
            _num(run["hardware"]["mean_step"]),
            run["undecided"],
        ]
        for name, run in latency.items()
    ]
    fixed = latency["fixed"]
    plot = (
        plots.histogram("decision step (fixed point)", fixed["histogram"], fixed["undecided"], "latency-histogram")
        if "histogram" in fixed
        else ""
    )
    return {"rows": _rows(rows), "plot": Markup(plot)}


def _robustness(parity: dict[str, Any]) -> dict[str, Any] | None:
    entries = parity.get("robustness") or []
    if not entries:
        return None
    short = hardware_label(parity["hardware"], short=True)
    rows = [
        [
            e["corruption"],
            _pct(e["accuracy"]["float"]),
            _pct(e["accuracy"]["fixed"]),
            _pct(e["decision_agreement_float_vs_fixed"]),
            e["float_vs_fixed"]["mismatches"],
            e.get("fixed_vs_hardware", {}).get("mismatches"),
        ]
        for e in entries
    ]
    header = ["corruption", "float", "fixed", "decisions agree", "float/fixed mismatches", f"fixed/{short} mismatches"]
    return {"header": header, "rows": _rows(rows)}


def _energy(energies: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not energies:
        return None
    rows = [
        [
            r["profile"],
            "n/a" if unpriced(r) else f"{r['energy_j'] * 1e6:.4f}",
            f"{r['sops']:.1f}",
            f"{r['sops_dense']:.1f}" if "sops_dense" in r else None,
            f"{r['neuron_updates']:.0f}",
            f"{r['spikes']:.1f}",
            r["ann_equivalent"]["macs"],
            r["ann_equivalent"].get("adds"),
            f"{r['ann_equivalent']['energy_j'] * 1e6:.4f}",
        ]
        for r in energies
    ]
    header = ["profile", "uJ / inference", "SOPs", "SOPs dense", "neuron updates", "spikes", "ANN MACs", "ANN adds"]
    header.append("ANN uJ")
    first = energies[0]
    layer_rows = [
        [layer["name"], f"{layer['sops']:.1f}", layer.get("macs_ann"), layer.get("adds_ann")]
        + ["n/a" if unpriced(r) else f"{r['per_layer'][index]['energy_j'] * 1e6:.4f}" for r in energies]
        for index, layer in enumerate(first["per_layer"])
    ]
    layer_header = ["layer", "SOPs", "ANN MACs", "ANN adds"] + [f"uJ {r['profile']}" for r in energies]
    priced = {r["profile"]: [layer["energy_j"] * 1e6 for layer in r["per_layer"]] for r in energies if not unpriced(r)}
    plot = (
        plots.bar_chart(
            "energy per layer and inference",
            [layer["name"] for layer in first["per_layer"]],
            priced,
            "energy per inference (uJ)",
            "energy-bars",
        )
        if priced
        else ""
    )
    return {
        "header": header,
        "rows": _rows(rows),
        "layer_header": layer_header,
        "layer_rows": _rows(layer_rows),
        "plot": Markup(plot),
        "sop_convention": first["sop_convention"],
        "ann_convention": first["ann_equivalent"].get("convention", "one dense pass with the same weights"),
        "caveat": first.get("caveat", "per-operation energies are the profile's published figures"),
    }


def _rasters(rasters: dict[str, Any] | None) -> dict[str, Any] | None:
    if not rasters:
        return None
    layers = [{**layer, "hardware_source": rasters["hardware_source"]} for layer in rasters["layers"]]
    return {
        "sample": rasters["sample"],
        "plots": [Markup(plots.raster(layer, rasters["timesteps"], f"raster-{layer['name']}")) for layer in layers],
    }


def render_report(
    parity: dict[str, Any], energies: list[dict[str, Any]], rasters: dict[str, Any] | None, title: str = "latdeploy"
) -> str:
    """Return the whole HTML page for a parity report (of any schema version,
    :func:`latdeploy.verify.schema.upgrade_parity`), energy reports and one sample's rasters
    (:func:`latdeploy.report.rasters.spike_rasters`, or None)."""
    parity = upgrade_parity(parity)
    return _ENVIRONMENT.get_template(TEMPLATE).render(
        title=title,
        css=Markup(CSS),
        summary=_summary(parity),
        verdict=_verdict(parity),
        divergence=_divergence(parity),
        layers=_layers(parity),
        latency=_latency(parity),
        robustness=_robustness(parity),
        energy=_energy(energies),
        rasters=_rasters(rasters),
    )
