"""Decision latency of the shipped models, as ``latdeploy verify`` defines it, for their model cards.

    .venv/bin/python tools/model_cards.py [MODEL.pt ...] [--update]

For each model (default: every ``models/*.pt``) the float and the fixed-point simulators run the whole
test split (the fixed point quantized for the model's profile: ``xylo-audio2`` for ``wine_xylo_mlp``,
else ``loihi2``, as ``latdeploy export`` does), and the decision latency is read from the output
layer's spikes with the library's own functions (:func:`latdeploy.nn.decoders.first_spike_decision`,
:func:`latdeploy.verify.parity.latency_summary`): the mean 0-based step of the first output spike over
the decided samples, the undecided ones (no output spike) counted apart (docs/models.md, "Decision
latency: one definition"). Printed: one line per model. ``--update`` writes the two rows
``decision latency`` and ``undecided`` of each card (``models/<name>.md``), replacing the rows of the
old definition (``mean decision step``, ``decided by an output spike``) where a card still has them.
Exit status 0.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from latdeploy.executors.evaluate import open_evaluator
from latdeploy.flows.prepare import spikes_of
from latdeploy.flows.verify import load_subject
from latdeploy.nn.decoders import first_spike_decision
from latdeploy.verify.parity import latency_summary

ROOT = Path(__file__).resolve().parent.parent
PROFILES = {"wine_xylo_mlp": "xylo-audio2"}
"""The profile a model's fixed-point run is quantized for, where not ``loihi2``."""
ROW = re.compile(r"^\| (mean decision step|decided by an output spike|decision latency|undecided) \|.*\|\n", re.M)


def measure(path: Path) -> dict[str, Any]:
    """Run the float and fixed-point simulators of model file ``path`` on its whole test split.

    Returns:
        ``{model, profile, samples, timesteps, float: summary, fixed: summary}``, each summary
        :func:`latdeploy.verify.parity.latency_summary`'s (``mean_step`` over decided samples, ``undecided``).

    Raises:
        LatdeployError: if the model cannot be loaded or quantized.
    """
    profile = PROFILES.get(path.stem, "loihi2")
    subject = load_subject(path, profile)
    test = subject.data.test
    spikes = spikes_of(subject.model, test, len(test.x))
    graph = subject.int_graph
    with open_evaluator() as evaluator:
        traces = {
            "float": evaluator.evaluate(graph, spikes, subject.float_graph, ("float",)).traces["float"],
            "fixed": evaluator.evaluate(graph, spikes, simulators=("fixed",)).traces["fixed"],
        }
    lag = graph.lag(list(traces["fixed"].layers)[-1])
    result: dict[str, Any] = {"model": path.stem, "profile": profile, "samples": len(test.x)}
    result["timesteps"] = graph.timesteps
    for name, trace in traces.items():
        decision = first_spike_decision(trace.output().spikes, trace.output().v_pre)
        result[name] = latency_summary(decision, lag, graph.timesteps)
    return result


def _latency(summary: dict[str, Any]) -> str:
    return "–" if summary["mean_step"] is None else f"{summary['mean_step']:.2f}"


def card_rows(result: dict[str, Any]) -> str:
    """Return the card's ``decision latency`` and ``undecided`` rows for ``result`` (:func:`measure`)."""
    total, floating, fixed = result["samples"], result["float"], result["fixed"]
    decided = total - floating["undecided"]
    return (
        f"| decision latency | {_latency(floating)} steps: mean 0-based step of the first output spike over the "
        f"{decided} of {total} test samples decided by one (float model; the definition `latdeploy verify` "
        f"reports); fixed point ({result['profile']}): {_latency(fixed)} steps over "
        f"{total - fixed['undecided']} of {total} (`tools/model_cards.py`) |\n"
        f"| undecided | {floating['undecided']} of {total} test samples end without an output spike, "
        f"{fixed['undecided']} in fixed point (counted separately, not in the latency; the decoder decides them "
        "by the highest final membrane potential) |\n"
    )


def update_card(card: Path, result: dict[str, Any]) -> None:
    """Replace the decision rows of ``card`` (old or new definition) by :func:`card_rows`.

    Raises:
        ValueError: if the card has none of those rows.
    """
    text = card.read_text(encoding="utf-8")
    match = ROW.search(text)
    if match is None:
        raise ValueError(f"{card}: no decision latency row")
    rest = ROW.sub("", text)
    card.write_text(rest[: match.start()] + card_rows(result) + rest[match.start() :], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Measure each model, print one line each, update the cards with ``--update``; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path, help="model files [models/*.pt]")
    parser.add_argument("--update", action="store_true", help="rewrite the decision rows of each card")
    arguments = parser.parse_args(argv)
    for path in arguments.models or sorted((ROOT / "models").glob("*.pt")):
        result = measure(path)
        floating, fixed = result["float"], result["fixed"]
        print(
            f"{result['model']:<24} T={result['timesteps']:<3} {result['samples']} test samples; "
            f"float: latency {_latency(floating)} steps, undecided {floating['undecided']}; "
            f"fixed ({result['profile']}): latency {_latency(fixed)} steps, undecided {fixed['undecided']}",
            flush=True,
        )
        if arguments.update:
            update_card(path.with_suffix(".md"), result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
