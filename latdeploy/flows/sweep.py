"""Weight bit-width sweep: accuracy, parity and energy per setting, and their Pareto front."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from latdeploy.backends.select import resolve_backend
from latdeploy.data.source import DataSpec, read_data
from latdeploy.energy.counting import energy_report
from latdeploy.errors import LatdeployError
from latdeploy.executors.evaluate import Execution, open_evaluator
from latdeploy.flows.verify import Subject, VerifyResult, load_subject, verify
from latdeploy.hw.profile import load_profile
from latdeploy.report import schema_versions
from latdeploy.report.bundle import dump_json, write_bundle
from latdeploy.report.plots import pareto_plot
from latdeploy.verify.gates import Gates, evaluate_gates


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
    hardware_samples: int = 5,
    progress: Callable[[str], None] | None = None,
    backend: str | None = None,
    data: DataSpec | None = None,
    calibration_data: DataSpec | None = None,
    gates: Gates | None = None,
    execution: Execution | None = None,
    dt: float | None = None,
) -> dict[str, Any]:
    """Quantize ``model_path`` at each of ``weight_bits``, verify (the hardware run on the backend
    named ``backend``, None: the one that computes the profile's arithmetic,
    :func:`latdeploy.backends.select.backend_for_profile`) and price each setting, on the user's ``data`` and
    ``calibration_data`` when given (:func:`latdeploy.data.source.model_data`); ``execution`` says
    how the samples run (:class:`latdeploy.executors.evaluate.Execution`; None: locally), one
    executor for every setting. ``model_path`` may be a float graph file
    (:mod:`latdeploy.flows.model_source`; ``dt``: the time step of a ``.nir`` file that states none),
    re-quantized for each setting; an integer file has nothing to re-quantize and is refused.

    Returns:
        ``{schema_version, model, profile, samples, hardware, hardware_samples, settings: [...], pareto: [...]}``
        (and ``data``, what was evaluated and calibrated on, when user data is given)
        where ``hardware`` names the backend and each setting holds ``weight_bits``, ``accuracy``
        (float, fixed, ``hardware_on_its_samples``), ``accuracy_samples`` (over how many samples each
        was measured, same keys), ``spike_agreement_float_vs_fixed``,
        ``decision_agreement_float_vs_fixed``, ``fixed_vs_hardware_mismatches``,
        ``first_divergence`` (layer, cause factors),
        ``mean_decision_step``, ``sops`` and ``energy_j`` per inference and ``gates`` (each setting
        judged by ``gates``, None: the defaults, :func:`latdeploy.verify.gates.evaluate_gates`);
        ``accuracy_floor`` is the lowest fixed-point accuracy the accuracy gate passes (float accuracy
        minus ``max_accuracy_drop`` points), ``pareto`` lists the bit widths on the energy /
        fixed-point accuracy front of the settings at or above that floor, ``below_floor`` the others;
        ``executor`` what the executor did (:class:`latdeploy.executors.driver.ExecutionRecord`:
        chunks, retried sample ranges).

    Raises:
        LatdeployError: for a bad model, profile, bit width or sample count.
        BackendError: if the backend fails.
    """
    chosen = resolve_backend(backend, load_profile(profile_name))
    gates = gates or Gates()
    if not weight_bits:
        raise LatdeployError("--weight-bits needs at least one bit width, e.g. 8,6,4,2")
    step = progress or (lambda _: None)
    data, calibration_data = read_data(data), read_data(calibration_data)
    settings = []
    with open_evaluator(execution) as evaluator:
        for bits in weight_bits:
            step(f"{bits}-bit weights")
            subject = load_subject(
                model_path, profile_name, bits, data=data, calibration_data=calibration_data, dt=dt, command="sweep"
            )
            result = verify(subject, samples, hardware_samples, backend=chosen, evaluator=evaluator)
            settings.append(_setting(bits, subject, result, gates))
    floor = round(gates.accuracy_floor(result.report["accuracy"]["float"]), 12)
    kept = [s for s in settings if s["accuracy"]["fixed"] >= floor]
    points = [{"energy_j": s["energy_j"], "accuracy": s["accuracy"]["fixed"]} for s in kept]
    front = pareto_front(points, "energy_j", "accuracy")
    recorded = {"data": subject.data.record} if data is not None or calibration_data is not None else {}
    return {
        "schema_version": schema_versions.SWEEP,
        **recorded,
        "model": str(model_path),
        "profile": profile_name,
        "samples": result.report["samples"],
        "hardware": chosen.name,
        "hardware_samples": hardware_samples,
        "settings": settings,
        "accuracy_floor": floor,
        "pareto": [kept[i]["weight_bits"] for i in front],
        "below_floor": [s["weight_bits"] for s in settings if s["accuracy"]["fixed"] < floor],
        "executor": evaluator.record.as_dict(),
    }


def _setting(bits: int, subject: Subject, result: VerifyResult, gates: Gates) -> dict[str, Any]:
    """Return the sweep entry of one bit width from its verification."""
    report = result.report
    energy = energy_report(
        subject.int_graph, result.input_spikes, result.fixed_trace, subject.profile, subject.float_graph
    )
    divergence = report["float_vs_fixed"]["first_divergence"]
    compared = report["float_vs_fixed"]["compared"]
    return {
        "weight_bits": bits,
        "accuracy": {
            "float": report["accuracy"]["float"],
            "fixed": report["accuracy"]["fixed"],
            "hardware_on_its_samples": report["accuracy"]["hardware"],
        },
        "accuracy_samples": {
            "float": report["samples"],
            "fixed": report["samples"],
            "hardware_on_its_samples": report["hardware_samples"],
        },
        "spike_agreement_float_vs_fixed": 1 - report["float_vs_fixed"]["mismatches"] / compared,
        "decision_agreement_float_vs_fixed": report["decision_agreement"]["float_vs_fixed"],
        "fixed_vs_hardware_mismatches": report["fixed_vs_hardware"]["mismatches"],
        "first_divergence": None
        if divergence is None
        else {"layer": divergence["layer"], "cause": divergence.get("cause", {}).get("factors", [])},
        "mean_decision_step": report["decision_latency"]["fixed"]["mean_step"],
        "sops": energy["sops"],
        "energy_j": energy["energy_j"],
        "gates": evaluate_gates(report, gates),
    }


def write_sweep(result: dict[str, Any], out: Path, title: str) -> None:
    """Write ``sweep.json`` (``result``) and ``pareto.svg`` (energy vs fixed-point accuracy, titled
    ``title``; settings below ``result["accuracy_floor"]`` greyed) into the directory ``out``, atomically
    (:func:`latdeploy.report.bundle.write_bundle`)."""
    points = [
        {"label": f"{s['weight_bits']} bit", "energy_j": s["energy_j"], "accuracy": s["accuracy"]["fixed"]}
        for s in result["settings"]
    ]
    plot = pareto_plot(points, [f"{b} bit" for b in result["pareto"]], title, floor=result.get("accuracy_floor"))
    write_bundle(
        out,
        {"sweep.json": lambda p: p.write_text(dump_json(result)), "pareto.svg": lambda p: p.write_text(plot)},
    )
