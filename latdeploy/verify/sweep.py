"""Weight bit-width sweep: accuracy, parity and energy per setting, and their Pareto front."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from latdeploy.energy.counting import energy_report
from latdeploy.errors import LatdeployError
from latdeploy.verify.flow import load_subject, verify


def pareto_front(points: list[dict[str, Any]], cost: str, value: str) -> list[int]:
    """Return the indices of points no other point beats (lower or equal ``cost`` and higher or
    equal ``value``, one of them strictly)."""
    front = []
    for i, p in enumerate(points):
        dominated = any(
            q[cost] <= p[cost] and q[value] >= p[value] and (q[cost] < p[cost] or q[value] > p[value])
            for j, q in enumerate(points)
            if j != i
        )
        if not dominated:
            front.append(i)
    return front


def sweep(
    model_path: Path,
    profile_name: str,
    weight_bits: list[int],
    samples: int | None = 100,
    lava_samples: int = 5,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Quantize ``model_path`` at each of ``weight_bits``, verify and price each setting.

    Returns:
        ``{model, profile, samples, lava_samples, settings: [...], pareto: [weight_bits ...]}``
        where each setting holds ``weight_bits``, ``accuracy`` (float, fixed, lava on its
        samples), ``spike_agreement_float_vs_fixed``, ``decision_agreement_float_vs_fixed``,
        ``fixed_vs_lava_mismatches``, ``first_divergence`` (layer, cause factors),
        ``mean_decision_step``, ``sops`` and ``energy_j`` per inference; ``pareto`` lists the
        bit widths on the energy / fixed-point accuracy front.

    Raises:
        LatdeployError: for a bad model, profile, bit width or sample count.
        BackendError: if Lava fails.
    """
    if not weight_bits:
        raise LatdeployError("--weight-bits needs at least one bit width, e.g. 8,6,4,2")
    step = progress or (lambda _: None)
    settings = []
    for bits in weight_bits:
        step(f"{bits}-bit weights")
        subject = load_subject(model_path, profile_name, bits)
        result = verify(subject, samples, lava_samples)
        report = result.report
        energy = energy_report(subject.int_graph, result.input_spikes, result.fixed_trace, subject.profile)
        divergence = report["float_vs_fixed"]["first_divergence"]
        compared = report["float_vs_fixed"]["compared"]
        settings.append(
            {
                "weight_bits": bits,
                "accuracy": {
                    "float": report["accuracy"]["float"],
                    "fixed": report["accuracy"]["fixed"],
                    "lava_on_its_samples": report["accuracy"]["lava"],
                },
                "spike_agreement_float_vs_fixed": 1 - report["float_vs_fixed"]["mismatches"] / compared,
                "decision_agreement_float_vs_fixed": report["decision_agreement"]["float_vs_fixed"],
                "fixed_vs_lava_mismatches": report["fixed_vs_lava"]["mismatches"],
                "first_divergence": None
                if divergence is None
                else {"layer": divergence["layer"], "cause": divergence.get("cause", {}).get("factors", [])},
                "mean_decision_step": report["decision_latency"]["fixed"]["mean_step"],
                "sops": energy["sops"],
                "energy_j": energy["energy_j"],
            }
        )
    points = [{"energy_j": s["energy_j"], "accuracy": s["accuracy"]["fixed"]} for s in settings]
    front = pareto_front(points, "energy_j", "accuracy")
    return {
        "model": str(model_path),
        "profile": profile_name,
        "samples": report["samples"],
        "lava_samples": lava_samples,
        "settings": settings,
        "pareto": [settings[i]["weight_bits"] for i in front],
    }
