"""Every human text the CLI prints: numbers, the parity, export, sweep, energy, mapping and
fine-tuning summaries. Parity reports of any schema version are read through
:func:`latdeploy.verify.schema.upgrade_parity`; the hardware is named by its backend's label.

Imported by every command module, so it imports only light modules at its top; the verdict
(:mod:`latdeploy.verify.parity`) and the graph description (:mod:`latdeploy.ir.describe`), which
load the neuron kinds and with them torch and numba, are imported by the functions that print them
(docs/layout.md, "Deferred imports")."""

from __future__ import annotations

from typing import Any

from latdeploy.backends.select import hardware_label
from latdeploy.energy.priced import unpriced
from latdeploy.verify.gates import describe_check, gates_ok
from latdeploy.verify.schema import upgrade_parity


def percent(value: float | None) -> str:
    """``0.5`` -> ``"50.00 %"``; None -> ``"n/a"``."""
    return "n/a" if value is None else f"{100 * value:.2f} %"


def steps(value: float | None) -> str:
    """A step count with two decimals; None -> ``"n/a"``."""
    return "n/a" if value is None else f"{value:.2f}"


def accuracy_with_samples(value: float | None, samples: int) -> str:
    """An accuracy and the number of samples it was measured over: ``"95.00 % (100)"``."""
    return f"{percent(value)} ({samples})"


def accuracy_samples(report: dict[str, Any]) -> dict[str, int]:
    """Over how many samples each run's accuracy in a parity report (current schema) was measured:
    ``{float, fixed, hardware}``, from ``accuracy_samples`` or, in older reports, ``samples`` and
    ``hardware_samples``."""
    samples, hardware = report["samples"], report.get("hardware_samples", report["samples"])
    return report.get("accuracy_samples") or {"float": samples, "fixed": samples, "hardware": hardware}


def accuracy_columns(accuracy: dict[str, float | None], samples: dict[str, int], hardware: str) -> str:
    """``float 95.00 % (100)   fixed 95.00 % (100)   lava 95.00 % (20)``: each run's accuracy and sample count."""
    return "   ".join(
        f"{hardware if run == 'hardware' else run} {accuracy_with_samples(accuracy[run], samples[run])}"
        for run in ("float", "fixed", "hardware")
    )


def joules(value: float) -> str:
    """Joules as microjoules with four decimals."""
    return f"{value * 1e6:.4f} uJ"


def status(report: dict[str, Any]) -> str:
    """``"OK"`` or ``"FAILED"``: :func:`latdeploy.verify.parity.parity_ok` of ``report``."""
    from latdeploy.verify.parity import parity_ok

    return "OK" if parity_ok(report) else "FAILED"


def parity_failure(report: dict[str, Any]) -> str:
    """The one-line parity-failure message, naming the hardware."""
    report = upgrade_parity(report)
    return f"parity failure: the fixed-point simulator and {hardware_label(report['hardware'], short=True)} disagree"


def verdict_line(report: dict[str, Any]) -> str:
    """The one-line verdict of a parity report: ``verdict     PASSED|FAILED: parity [..]; <each gate>``
    (:mod:`latdeploy.verify.gates`; reports written before the gates had only parity)."""
    report = upgrade_parity(report)
    checks = [describe_check(check) for check in report.get("gates", {}).get("checks", [])]
    passed = status(report) == "OK" and gates_ok(report)
    short = hardware_label(report["hardware"], short=True)
    return (
        f"verdict     {'PASSED' if passed else 'FAILED'}: fixed vs {short} parity [{status(report)}]; "
        + "; ".join(checks)
    ).rstrip("; ")


def gate_failure(report: dict[str, Any]) -> str:
    """The one-line gate-failure message: the gates that failed (:mod:`latdeploy.verify.gates`)."""
    failed = [describe_check(check) for check in report["gates"]["checks"] if check["passed"] is False]
    return "gate failure: " + "; ".join(failed)


def divergence_lines(divergence: dict[str, Any] | None) -> list[str]:
    """Describe the first float-vs-fixed divergence (with its cause) in a few lines."""
    if divergence is None:
        return ["first divergence  none: float and fixed point agree on every slot"]
    fired = "float fired, fixed did not" if divergence.get("float_fired") else "fixed fired, float did not"
    lines = [
        f"first divergence  sample {divergence['sample']}, layer {divergence['layer']}, neuron "
        f"{divergence['neuron']}, step {divergence['step']}" + (f": {fired}" if "float_fired" in divergence else "")
    ]
    cause = divergence.get("cause")
    if cause is not None:
        factors = ", ".join(cause["factors"]) or "none found"
        lines.append(f"            likely cause: {factors} ({cause['method']})")
    membrane = divergence.get("membrane")
    if membrane and "fixed" in membrane:
        lines.append(
            f"            membrane (float units) steps {membrane['steps'][0]}..{membrane['steps'][-1]}: float "
            + " ".join(f"{x:.3f}" for x in membrane["float"])
            + " | fixed "
            + " ".join(f"{x:.3f}" for x in membrane["fixed"])
            + f" | threshold float {membrane['threshold_float']:.3f}, fixed "
            + f"{membrane.get('threshold_fixed_comparison', '>')} {membrane['threshold_fixed']:.3f}"
        )
    return lines


def float_missing(report: dict[str, Any]) -> str | None:
    """Why a parity report (current schema) has no float run (an integer file), or None when it has one."""
    entry = report.get("float_run") or {}
    return None if entry.get("available", True) else str(entry.get("reason"))


def _or_na(value: Any) -> Any:
    return "n/a" if value is None else value


def _parity_lines(report: dict[str, Any], short: str) -> list[str]:
    fixed_hardware, float_fixed = report["fixed_vs_hardware"], report["float_vs_fixed"]
    missing = float_missing(report)
    return [
        f"parity      fixed vs {short}: {fixed_hardware['mismatches']} mismatches in {fixed_hardware['compared']} "
        f"spike slots [{status(report)}]",
        f"            float vs fixed: {missing}"
        if missing
        else f"            float vs fixed: {float_fixed['mismatches']} mismatches in {float_fixed['compared']} spike "
        f"slots ({percent(1 - float_fixed['mismatches'] / max(float_fixed['compared'], 1))} agree)",
    ]


def _divergence_or_missing(report: dict[str, Any]) -> list[str]:
    missing = float_missing(report)
    return (
        [f"first divergence  {missing}"] if missing else divergence_lines(report["float_vs_fixed"]["first_divergence"])
    )


def _latency_float(latency: dict[str, Any], name: str) -> str:
    """``float 3.00, lava 3.00 (undecided float 0, lava 0)``, without the float run where there is none."""
    runs = [run for run in ("float", "hardware") if run in latency]
    label = {"float": "float", "hardware": name}
    return (
        ", ".join(f"{label[run]} {steps(latency[run]['mean_step'])}" for run in runs)
        + " (undecided "
        + ", ".join(f"{label[run]} {latency[run]['undecided']}" for run in runs)
        + ")"
    )


def export_lines(
    out: str, parity: dict[str, Any], energy: dict[str, Any], hardware_seconds: float, fixed_seconds: float
) -> list[str]:
    """The short human summary of an export (bundle ``out``, its parity and energy reports, timings)."""
    parity = upgrade_parity(parity)
    name, short = parity["hardware"], hardware_label(parity["hardware"], short=True)
    accuracy, agreement, latency = parity["accuracy"], parity["decision_agreement"], parity["decision_latency"]
    return [
        f"bundle      {out}/",
        f"samples     {parity['samples']} test samples x {parity['timesteps']} steps "
        f"({parity['hardware_steps']} {short} steps in one run)",
        *_parity_lines(parity, short),
        f"accuracy    {accuracy_columns(accuracy, accuracy_samples(parity), name)}",
        f"decisions   float/fixed agree {percent(agreement['float_vs_fixed'])}, "
        f"fixed/{short} agree {percent(agreement['fixed_vs_hardware'])}; mean decision step "
        f"{_latency_float(latency, name)}",
        *_divergence_or_missing(parity),
        f"energy      {_per_inference(energy)} on {energy['profile']} "
        f"({energy['sops']:.0f} SOPs, {energy['spikes']:.0f} spikes); "
        f"ANN equivalent {energy['ann_equivalent']['macs']} MACs = {energy['ann_equivalent']['energy_j'] * 1e6:.4f} uJ",
        f"time        {short} {hardware_seconds:.1f} s, fixed-point simulator {fixed_seconds * 1e3:.1f} ms",
        verdict_line(parity),
    ]


def verify_lines(report: dict[str, Any]) -> list[str]:
    """The human summary of a parity report (``latdeploy verify``'s output)."""
    report = upgrade_parity(report)
    name, short = report["hardware"], hardware_label(report["hardware"], short=True)
    accuracy, on_hardware = report["accuracy"], report["accuracy_on_hardware_samples"]
    agreement, latency = report["decision_agreement"], report["decision_latency"]
    lines = [
        f"samples     {report['samples']} test samples x {report['timesteps']} steps in float and fixed point; "
        f"first {report['hardware_samples']} on {short} ({report['hardware_steps']} {short} steps)",
        *_parity_lines(report, short),
    ]
    if float_missing(report):
        lines[0] = lines[0].replace("in float and fixed point", "in fixed point (no float model: integer file)")
    for layer in report["layers"]:
        lines.append(
            f"  {layer['name']:<9} ({layer['kind']}, {layer['neurons']} neurons, lag {layer['lag']}): float/fixed "
            f"{percent(layer['agreement_float_vs_fixed'])}, fixed/{short} "
            f"{percent(layer['agreement_fixed_vs_hardware'])}; "
            f"spikes float {_or_na(layer['spikes_float'])}, fixed {layer['spikes_fixed']}; "
            f"overflows {layer['overflow_fixed']}"
        )
        shift = layer.get("first_spike_shift_float_vs_fixed")
        if shift is not None:
            histogram = " ".join(f"{k}:{v}" for k, v in shift["histogram"].items()) or "-"
            lines.append(
                f"            first-spike shift fixed - float (steps:count) {histogram}; "
                f"only float {shift['only_reference']}, only fixed {shift['only_candidate']}"
            )
    lines += _divergence_or_missing(report)
    measured = accuracy_samples(report)
    lines += [
        f"accuracy    float {accuracy_with_samples(accuracy['float'], measured['float'])}   fixed "
        f"{accuracy_with_samples(accuracy['fixed'], measured['fixed'])}   (on the {measured['hardware']} {short} "
        f"samples: float {percent(on_hardware['float'])}, fixed {percent(on_hardware['fixed'])}, "
        f"{name} {percent(on_hardware['hardware'])})",
        f"decisions   float/fixed agree {percent(agreement['float_vs_fixed'])}, "
        f"fixed/{short} agree {percent(agreement['fixed_vs_hardware'])}",
    ]
    for run in (run for run in ("float", "fixed", "hardware") if run in latency):
        entry = latency[run]
        lines.append(
            f"latency     {name if run == 'hardware' else run:<5} mean {steps(entry['mean_step'])} steps "
            f"(p50 {steps(entry['percentiles']['p50'])}, p90 {steps(entry['percentiles']['p90'])}) = hardware step "
            f"{steps(entry['hardware']['mean_step'])}; undecided {entry['undecided']}"
        )
    for entry in report.get("robustness", []):
        lines.append(
            f"robustness  {entry['corruption']:<20} float {percent(entry['accuracy']['float'])}   fixed "
            f"{percent(entry['accuracy']['fixed'])}   decisions agree "
            f"{percent(entry['decision_agreement_float_vs_fixed'])}; spike mismatches float/fixed "
            f"{entry['float_vs_fixed']['mismatches']}, fixed/{short} {entry['fixed_vs_hardware']['mismatches']}"
        )
    lines.append(verdict_line(report))
    return lines


def sweep_lines(result: dict[str, Any]) -> list[str]:
    """The human table of a sweep (one row per weight bit width, Pareto settings starred)."""
    short = hardware_label(result["hardware"], short=True)
    lines = [
        f"{result['model']} on {result['profile']}: {result['samples']} samples in float and fixed point, "
        f"first {result['hardware_samples']} on {short}",
        f"accuracy columns over {result['samples']} (float, fixed) and {result['hardware_samples']} ({short}) samples",
        f"{'bits':>5}{'float':>9}{'fixed':>9}{result['hardware']:>9}{'spikes =':>10}{'decisions =':>13}"
        f"{'fix/' + short:>10}{'SOPs':>9}{'uJ/inf':>9}{'latency':>9}  first divergence",
    ]
    for s in result["settings"]:
        divergence = s["first_divergence"]
        where = "-" if divergence is None else f"{divergence['layer']}: {', '.join(divergence['cause']) or '?'}"
        star = "*" if s["weight_bits"] in result["pareto"] else " "
        latency = "n/a" if s["mean_decision_step"] is None else f"{s['mean_decision_step']:.2f}"
        lines.append(
            f"{s['weight_bits']:>4}{star}{100 * s['accuracy']['float']:>8.2f}%{100 * s['accuracy']['fixed']:>8.2f}%"
            f"{100 * s['accuracy']['hardware_on_its_samples']:>8.2f}%"
            f"{100 * s['spike_agreement_float_vs_fixed']:>9.2f}%"
            f"{100 * s['decision_agreement_float_vs_fixed']:>12.2f}%{s['fixed_vs_hardware_mismatches']:>10}"
            f"{s['sops']:>9.0f}{s['energy_j'] * 1e6:>9.4f}{latency:>9}  {where}"
        )
    lines.append("* on the Pareto front of energy per inference vs fixed-point accuracy")
    if "accuracy_floor" in result:
        below = ", ".join(f"{bits} bit" for bits in result["below_floor"]) or "none"
        lines.append(f"  (settings below the accuracy floor {percent(result['accuracy_floor'])} are left off: {below})")
        failed = [str(s["weight_bits"]) for s in result["settings"] if not s["gates"]["passed"]]
        lines.append(f"gates       failed at {', '.join(failed)} bit" if failed else "gates       every setting passes")
    return lines


def energy_lines(table: dict[str, Any]) -> list[str]:
    """The human tables of :func:`latdeploy.energy.counting.energy_table`'s result."""
    counts, reports = table["counts"], table["profiles"]
    lines = [
        f"per inference, mean over {counts['samples']} test samples x {counts['timesteps']} steps "
        f"(counts from the fixed-point run, which the hardware run equals spike for spike); ANN MACs/adds: one pass of "
        "the network as trained (pools unfused)",
        f"{'layer':<10}{'in events':>11}{'SOPs':>10}{'SOPs dense':>12}{'updates':>10}{'active':>10}{'spikes':>9}"
        f"{'ANN MACs':>10}{'ANN adds':>10}",
    ]
    for layer in counts["per_layer"]:
        lines.append(
            f"{layer['name']:<10}{layer['input_events']:>11.1f}{layer['sops']:>10.1f}{layer['sops_dense']:>12.1f}"
            f"{layer['neuron_updates']:>10.0f}{layer['neuron_updates_active']:>10.1f}{layer['spikes']:>9.1f}"
            f"{layer['macs_ann']:>10}{layer.get('adds_ann', 0):>10}"
        )
    width = max(14, *(len(r["profile"]) + 2 for r in reports))
    lines.append("")
    lines.append(f"{'energy':<22}" + "".join(f"{r['profile']:>{width}}" for r in reports))
    for layer_index, layer in enumerate(counts["per_layer"]):
        lines.append(
            f"  {layer['name']:<20}"
            + "".join(
                f"{'n/a' if unpriced(r) else joules(r['per_layer'][layer_index]['energy_j']):>{width}}" for r in reports
            )
        )
    total = lambda r: "n/a" if unpriced(r) else joules(r["energy_j"])  # noqa: E731
    lines.append(f"{'total / inference':<22}" + "".join(f"{total(r):>{width}}" for r in reports))
    lines.append(
        f"{'ANN MAC energy':<22}"
        + "".join(f"{r['ann_equivalent']['mac_j'] * 1e12:>{width - 3}.2f} pJ" for r in reports)
    )
    ann = reports[0]["ann_equivalent"]
    lines += [
        "",
        f"ANN equivalent: {ann['macs']} MACs + {ann.get('adds', 0)} adds = {joules(ann['energy_45nm_j'])} at 45 nm "
        f"(fp32 MAC 4.6 pJ, add 0.9 pJ); SNN at 45 nm: {reports[0]['sops']:.1f} SOPs x 0.9 pJ = "
        f"{joules(ann['snn_sops_45nm_j'])} (Horowitz ISSCC 2014)",
        f"SOP convention: {reports[0]['sop_convention']}",
        f"note: {reports[0]['caveat']}",
    ]
    for report in reports:
        if report["missing_energy_fields"]:
            lines.append(
                f"note: profile {report['profile']} gives no {', '.join(report['missing_energy_fields'])} "
                + ("(nothing to price: n/a)" if unpriced(report) else "(counted as 0 J)")
            )
    return lines


def _per_inference(energy: dict[str, Any]) -> str:
    """``"0.2025 uJ/inference"``, or why there is no figure (:func:`latdeploy.energy.priced.unpriced`)."""
    if unpriced(energy):
        return "n/a (the profile publishes no per-operation energies)"
    return f"{energy['energy_j'] * 1e6:.4f} uJ/inference"


def mapping_lines(mapping: dict[str, Any]) -> list[str]:
    """The human table of a mapping: per layer neurons, cores, the binding limit, the order, peak use."""
    lines = [
        f"{'layer':<10}{'neurons':>9}{'cores':>7}  {'bounded by':<32}{'fan-in':>8}{'fan-out':>9}{'memory B':>10}  order"
    ]
    for layer in mapping["layers"]:
        cores = [core for core in mapping["cores"] if core["layer"] == layer["name"]]
        lines.append(
            f"{layer['name']:<10}{layer['neurons']:>9}{layer['cores']:>7}  {layer['bounded_by']:<32}"
            f"{max(core['fan_in'] for core in cores):>8}{max(core['fan_out'] for core in cores):>9}"
            f"{max(core['synaptic_memory_bytes'] for core in cores):>10}  {layer['order']}"
        )
    limits = mapping["limits"]
    lines.append(
        f"total: {mapping['total_cores']} of {mapping['cores_per_chip']} cores on {mapping['profile']} "
        f"(per core: {limits['neurons_per_core']} neurons, {limits['fan_in_per_core']} input axons, "
        f"{limits['fan_out_per_core']} output axon slots, {limits['synaptic_memory_bytes_per_core']} B synaptic memory)"
    )
    return lines


def agreement_line(label: str, report: dict[str, Any]) -> str:
    """One line of a fine-tuning agreement report (:func:`latdeploy.flows.finetune.agreement_report`)."""
    return (
        f"{label:<7} float vs fixed: {report['mismatches']} mismatches in {report['spike_slots']} spike slots "
        f"({100 * report['agreement']:.3f} % agree); accuracy float {100 * report['accuracy_float']:.2f} %, "
        f"fixed {100 * report['accuracy_fixed']:.2f} %"
    )


def run_line(summary: dict[str, Any]) -> str:
    """One line on a finished ``latdeploy run`` (:meth:`latdeploy.flows.run.RunResult.summary`)."""
    return (
        f"{summary['backend']}: {summary['samples']} sample(s) x {summary['steps']} steps, "
        f"{summary['output_spikes']} output spikes in {summary['output_layer']!r} "
        f"({summary['output_neurons']} neurons); simulation {summary['sim_seconds'] * 1e3:.1f} ms"
        + (f"; input layout {summary['layout']}" if "layout" in summary else "")
        + (
            f" (also fits {', '.join(summary['layout_also_fits'])}: --layout)"
            if summary.get("layout_also_fits")
            else ""
        )
        + (f"\n{summary['quantized']}" if "quantized" in summary else "")
    )


def inspect_lines(report: dict[str, Any]) -> list[str]:
    """The human description of ``latdeploy inspect``'s report: each graph and its host/chip split."""
    from latdeploy.ir.describe import format_description

    lines = [f"{report['file']} ({report['format']})"]
    for label, description in report["graphs"].items():
        lines.append(f"\n[{label}] " + format_description(description))
        split = description["host_chip"]
        lines.append(
            f"host: {', '.join(split['host_operations'])}  |  chip: {len(split['chip'])} nodes "
            f"({', '.join(split['chip'])})  |  spikes in: {', '.join(split['to_chip']) or '-'}, "
            f"out: {', '.join(split['to_host']) or '-'}"
        )
        if "input_layouts" in description:
            lines.append(f"run --input: {description['input_layouts']}")
    return lines


def executor_line(record: dict[str, Any]) -> str:
    """Return the summary line of an executor record (``{executor, chunks, retries}``): its name, the
    chunks run and each retried chunk's part, sample range and tries."""
    retried = "; ".join(
        f"{entry['part']} samples {entry['samples'][0]}..{entry['samples'][1]} took {entry['attempts']} tries"
        for entry in record["retries"]
    )
    return f"executor    {record['executor']}: {record['chunks']} chunk(s)" + (
        f", retried: {retried}" if retried else ""
    )
