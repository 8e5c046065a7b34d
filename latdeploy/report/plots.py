"""The report's plots, drawn with matplotlib and returned as inline SVG text, one function per plot.

Every plot has axis titles with units, a legend, and integer or "nice" tick values
(``MaxNLocator``). The SVG is byte-deterministic for the same input (fixed ``svg.hashsalt``,
no date, text kept as ``<text>``) and self-contained: marker references (``<use href>``) are
inlined as paths, the RDF metadata is dropped, and every id is prefixed with the plot's id so
that several plots can share one page.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

FLOAT_COLOUR, HARDWARE_COLOUR, MISMATCH_COLOUR, GREY = "#1f77b4", "#ff7f0e", "#d62728", "#9a9a9a"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
STYLE = {
    "svg.hashsalt": "latdeploy",
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
DIVERGENCE_MARKER_SIZE = 9.0
"""Marker size (points) of the divergence step on the membrane plot: at least 6 px on screen."""
PARETO_DISPLAY_FLOOR_POINTS = 10.0
"""Without an accuracy floor, the Pareto plot greys settings more than this many points below the best."""

_USE = re.compile(r'<use xlink:href="#([^"]+)" x="([^"]+)" y="([^"]+)"(?: style="([^"]*)")?\s*/>')
_DEFINITION = re.compile(r'<path id="([^"]+)" d="([^"]*)"(?: style="([^"]*)")?\s*/>')


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(STYLE):
        yield


def _inline_svg(figure: Figure, plot_id: str, css_class: str, data: dict[str, str] | None = None) -> str:
    """Render ``figure`` to SVG text for inlining in HTML (see the module docstring)."""
    buffer = io.StringIO()
    with _style():
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)
    definitions = {m.group(1): (m.group(2), m.group(3)) for m in _DEFINITION.finditer(text)}

    def inline(match: re.Match[str]) -> str:
        path, own_style = definitions[match.group(1)]
        style = match.group(4) or own_style or ""
        return f'<path d="{path}" transform="translate({match.group(2)} {match.group(3)})" style="{style}"/>'

    used = set(m.group(1) for m in _USE.finditer(text))
    text = _USE.sub(inline, text)
    text = _DEFINITION.sub(lambda m: "" if m.group(1) in used else m.group(0), text)
    text = re.sub(r"\s*<defs>\s*</defs>", "", text)
    text = text.replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    text = re.sub(r'id="([^"]+)"', lambda m: f'id="{plot_id}-{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{plot_id}-{m.group(1)})", text)
    attributes = "".join(f' data-{key}="{value}"' for key, value in (data or {}).items())
    return text.replace("<svg ", f'<svg id="{plot_id}" class="{css_class}"{attributes} ', 1).strip()


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    with _style():
        figure = Figure(figsize=(width, height), layout="constrained")
        return figure, figure.add_subplot()


def _escape(text: str) -> str:
    """Text for a matplotlib label: ``$`` would start mathtext."""
    return text.replace("$", r"\$")


def bar_chart(title: str, labels: list[str], series: dict[str, list[float]], unit: str, plot_id: str) -> str:
    """Return an inline SVG of grouped horizontal bars: one group per label (y axis, "layer"), one
    bar per series (legend), the value axis titled with ``unit``."""
    names = list(series)
    with _style():
        figure, axes = _figure(7.2, 0.9 + 0.32 * len(labels) * max(len(names), 1))
        height = 0.8 / max(len(names), 1)
        for index, name in enumerate(names):
            offsets = [i + (index - (len(names) - 1) / 2) * height for i in range(len(labels))]
            bars = axes.barh(offsets, series[name], height=height, color=PALETTE[index % len(PALETTE)], label=name)
            for label, bar in zip(labels, bars, strict=True):
                bar.set_gid(f"bar-{name}-{label}".replace(" ", "_"))
            axes.bar_label(bars, labels=[f"{value:.4g}" for value in series[name]], padding=2, fontsize=8)
        axes.set_yticks(range(len(labels)), [_escape(label) for label in labels])
        axes.invert_yaxis()
        axes.set_ylabel("layer")
        axes.set_xlabel(_escape(unit))
        axes.xaxis.set_major_locator(MaxNLocator(nbins=6))
        axes.margins(x=0.12)
        axes.set_title(_escape(title), loc="left")
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _inline_svg(figure, plot_id, "bars")


def raster(layer: dict[str, Any], timesteps: int, plot_id: str) -> str:
    """Return an inline SVG raster of one layer (``name``, ``neurons``, ``float`` and ``hardware``
    events ``[[step, neuron], ...]``, hardware None for the input): float spikes as hollow circles,
    hardware spikes as dots, spikes only one of them fired in red; markers scale with density so
    that sparse layers stay readable."""
    neurons = int(layer["neurons"])
    float_events = {tuple(e) for e in layer["float"]}
    hardware_events = None if layer["hardware"] is None else {tuple(e) for e in layer["hardware"]}
    height = min(6.0, 1.3 + 0.035 * neurons)
    rows_per_inch = neurons / max(height - 0.9, 0.4)
    size = max(6.0, min(60.0, (72.0 / rows_per_inch) ** 2 * 0.6))
    with _style():
        figure, axes = _figure(min(7.2, 2.6 + 0.45 * timesteps), height)
        compared = float_events if hardware_events is None else hardware_events
        both = sorted(float_events & compared)
        only_float, only_hardware = sorted(float_events - compared), sorted(compared - float_events)
        axes.scatter(*_columns(both), s=size * 1.8, facecolors="none", edgecolors=FLOAT_COLOUR, linewidths=1,
                         label="float model", gid="spike-float")  # fmt: skip
        if hardware_events is not None:
            hardware_label = f"hardware ({layer.get('hardware_source', 'hardware')})"
            axes.scatter(*_columns(both), s=size * 0.8, color=HARDWARE_COLOUR, label=_escape(hardware_label),
                         gid="spike-hardware")  # fmt: skip
        if only_float:
            axes.scatter(*_columns(only_float), s=size * 1.8, facecolors="none", edgecolors=MISMATCH_COLOUR,
                         linewidths=1.2, label="float only", gid="spike-float-only")  # fmt: skip
        if only_hardware:
            axes.scatter(*_columns(only_hardware), s=size * 0.8, color=MISMATCH_COLOUR, label="hardware only",
                         gid="spike-hardware-only")  # fmt: skip
        axes.set_xlim(-0.5, timesteps - 0.5)
        axes.set_ylim(neurons - 0.5, -0.5)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
        axes.set_xlabel("time step (algorithmic)")
        axes.set_ylabel("neuron index")
        axes.set_title(f"{_escape(layer['name'])} ({neurons} neurons, {len(float_events)} float spikes)", loc="left")
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _inline_svg(figure, plot_id, "raster", {"layer": layer["name"]})


def _columns(events: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    return [t for t, _ in events], [n for _, n in events]


def histogram(title: str, counts: list[int], undecided: int, plot_id: str) -> str:
    """Return an inline SVG column chart of the decided samples per decision step (``counts``)
    and, in its own grey bar labelled "undecided", the samples without a decision."""
    with _style():
        figure, axes = _figure(min(7.2, 2.6 + 0.45 * (len(counts) + 1)), 2.6)
        steps = list(range(len(counts)))
        bars = axes.bar(steps, counts, color=FLOAT_COLOUR, label="decided at this step")
        for step, bar in zip(steps, bars, strict=True):
            bar.set_gid(f"step-{step}")
        (extra,) = axes.bar([len(counts) + 0.5], [undecided], color=GREY, label="undecided")
        extra.set_gid("undecided")
        axes.bar_label(bars, padding=1, fontsize=8)
        axes.bar_label(axes.containers[-1], padding=1, fontsize=8)
        axes.set_xticks([*steps, len(counts) + 0.5], [*(str(s) for s in steps), "undecided"])
        axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        axes.set_xlabel("decision step (algorithmic time step)")
        axes.set_ylabel("samples")
        axes.margins(y=0.15)
        axes.set_title(_escape(title), loc="left")
        axes.legend(fontsize=8, loc="upper right")
    return _inline_svg(figure, plot_id, "histogram")


def membrane_plot(membrane: dict[str, Any], divergence_step: int | None = None) -> str:
    """Return an inline SVG of the float and fixed-point membranes around the first divergence, in
    threshold units (the float threshold = 1): both thresholds as labelled lines when they differ
    (one line when equal to three decimals), the divergence step marked."""
    scale = float(membrane.get("threshold_float") or 1.0)
    steps = membrane["steps"]
    with _style():
        figure, axes = _figure(6.4, 3.0)
        for name, colour, label in (("float", FLOAT_COLOUR, "float model"), ("fixed", HARDWARE_COLOUR, "fixed point")):
            values = membrane.get(name)
            if values:
                axes.plot(steps, [v / scale for v in values], color=colour, linewidth=2, marker="o", markersize=4,
                          label=label, gid=f"trace-{name}")  # fmt: skip
        threshold_float = membrane.get("threshold_float", scale) / scale
        threshold_fixed = membrane.get("threshold_fixed", membrane.get("threshold_float", scale)) / scale
        comparison = membrane.get("threshold_fixed_comparison", ">")
        if f"{threshold_float:.3f}" == f"{threshold_fixed:.3f}":
            axes.axhline(threshold_float, color="#555", linestyle="--", linewidth=1,
                         label=f"threshold {threshold_float:.3f} (float = fixed)", gid="threshold")  # fmt: skip
        else:
            axes.axhline(threshold_float, color=FLOAT_COLOUR, linestyle="--", linewidth=1,
                         label=f"float threshold {threshold_float:.3f}", gid="threshold-float")  # fmt: skip
            fixed_label = f"fixed threshold {comparison} {threshold_fixed:.3f}"
            axes.axhline(threshold_fixed, color=HARDWARE_COLOUR, linestyle=":", linewidth=1.5, label=fixed_label,
                         gid="threshold-fixed")  # fmt: skip
        if divergence_step is not None and divergence_step in steps:
            index = steps.index(divergence_step)
            points = [(v[index] / scale) for name in ("float", "fixed") if (v := membrane.get(name))]
            axes.plot([divergence_step] * len(points), points, linestyle="none", marker="X",
                      markersize=DIVERGENCE_MARKER_SIZE, color=MISMATCH_COLOUR, label="first divergence",
                      gid="divergence")  # fmt: skip
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.yaxis.set_major_locator(MaxNLocator(nbins=6))
        axes.set_xlabel("time step (algorithmic)")
        axes.set_ylabel("membrane v (threshold units)")
        axes.set_title("membrane around the first divergence", loc="left")
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _inline_svg(figure, "membrane", "membrane")


def pareto_plot(points: list[dict[str, Any]], front: list[str], title: str, floor: float | None = None) -> str:
    """Return a standalone SVG scatter of ``points`` (``label``, ``energy_j``, ``accuracy``): energy
    per inference (x, uJ) against accuracy (y, %), the ``front`` labels joined. Settings below the
    accuracy ``floor`` (a fraction; None: :data:`PARETO_DISPLAY_FLOOR_POINTS` below the best) are
    greyed and drawn on the lower edge, so that the y axis spans only the accuracies that matter."""
    best = max((p["accuracy"] for p in points), default=1.0)
    cut = floor if floor is not None else best - PARETO_DISPLAY_FLOOR_POINTS / 100
    kept = [p for p in points if p["accuracy"] >= cut]
    below = [p for p in points if p["accuracy"] < cut]
    on_front = sorted((p for p in kept if p["label"] in front), key=lambda p: p["energy_j"])
    dominated = [p for p in kept if p["label"] not in front]
    accuracies = [100 * p["accuracy"] for p in kept] or [100 * best]
    span = max(max(accuracies) - min(accuracies), 1.0)
    low, high = max(0.0, min(accuracies) - 0.25 * span), min(100.0, max(accuracies) + 0.25 * span)
    with _style():
        figure, axes = _figure(6.4, 4.0)
        if on_front:
            axes.plot([1e6 * p["energy_j"] for p in on_front], [100 * p["accuracy"] for p in on_front],
                      color=HARDWARE_COLOUR, linewidth=2, marker="o", markersize=8, label="Pareto front",
                      gid="front")  # fmt: skip
        if dominated:
            axes.plot([1e6 * p["energy_j"] for p in dominated], [100 * p["accuracy"] for p in dominated],
                      linestyle="none", marker="o", markersize=8, markerfacecolor="white", color=FLOAT_COLOUR,
                      label="dominated", gid="dominated")  # fmt: skip
        if below:
            floor_text = f"{100 * cut:.1f} %" if floor is not None else f"best - {PARETO_DISPLAY_FLOOR_POINTS:g} points"
            axes.plot([1e6 * p["energy_j"] for p in below], [low] * len(below), linestyle="none", marker="v",
                      markersize=8, color=GREY, label=f"below floor ({floor_text}), at the edge",
                      gid="below-floor")  # fmt: skip
        for p in kept:
            axes.annotate(_escape(p["label"]), (1e6 * p["energy_j"], 100 * p["accuracy"]), xytext=(6, 6),
                          textcoords="offset points", fontsize=8)  # fmt: skip
        for p in below:
            axes.annotate(f"{_escape(p['label'])} ({100 * p['accuracy']:.1f} %)", (1e6 * p["energy_j"], low),
                          xytext=(6, 6), textcoords="offset points", fontsize=8, color="#666")  # fmt: skip
        axes.set_ylim(low, high)
        axes.margins(x=0.15)
        axes.xaxis.set_major_locator(MaxNLocator(nbins=6))
        axes.yaxis.set_major_locator(MaxNLocator(nbins=6))
        axes.set_xlabel("energy per inference (uJ)")
        axes.set_ylabel("accuracy, fixed point (%)")
        axes.set_title(_escape(title), loc="left")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8, loc="best")
        figure.set_facecolor("white")
    return _inline_svg(figure, "pareto", "pareto") + "\n"
