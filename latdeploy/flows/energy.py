"""The energy flow (``latdeploy energy``): count a model's or bundle's events on the test split and
price them per profile."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from latdeploy.data.source import DataSpec
from latdeploy.energy.counting import energy_table
from latdeploy.executors.evaluate import Execution, open_evaluator
from latdeploy.flows.sample_count import sample_count
from latdeploy.flows.verify import Subject, load_subject
from latdeploy.hw.profile import load_profile


def energy_of_source(
    source: Path,
    profile_names: Sequence[str] = (),
    samples: int | None = 100,
    weight_bits: int | None = None,
    model_path: Path | None = None,
    data: DataSpec | None = None,
    calibration_data: DataSpec | None = None,
    execution: Execution | None = None,
    dt: float | None = None,
) -> tuple[Subject, dict[str, Any]]:
    """Count SOPs, neuron updates and spikes of ``source`` (model file or bundle) on ``samples`` test
    samples (None: all) in the fixed-point simulator and price them for each of ``profile_names``
    (default: :data:`~latdeploy.hw.profile.DEFAULT_PROFILE`, or a bundle's own).

    A model file is quantized for the first chip profile given (the default profile when all are
    energy-only). A bundle is priced with its own profile (:func:`latdeploy.flows.verify.bundle_profile`)
    unless ``profile_names`` are given, which re-price it. ``data`` and ``calibration_data`` are the user's data
    (:func:`latdeploy.data.source.model_data`; labels are not needed here). ``execution`` says how
    the samples run (:class:`latdeploy.executors.evaluate.Execution`; None: locally, in chunks
    within the default memory limit); the counts are the same whatever it says. ``source`` may be a
    float graph file (:mod:`latdeploy.flows.model_source`; ``dt``: the time step of a ``.nir`` file
    that states none), quantized on the calibration data.

    Returns:
        ``(subject, table)``: what was counted (:class:`~latdeploy.flows.verify.Subject`) and
        :func:`latdeploy.energy.counting.energy_table`'s ``{counts, profiles}``, and for a bundle
        ``bundle_profile``: ``{built_for, repriced, note}`` (re-priced: ``profile_names`` replace the bundle's own).

    Raises:
        LatdeployError: for a bad source, profile, bit width or sample count.
        ResourceError: if the samples cannot fit the memory limit (before anything runs).
        BackendError: if a chunk fails every try on its executor.
    """
    loaded = [load_profile(name) for name in profile_names]
    chips = [name for name, profile in zip(profile_names, loaded, strict=True) if profile.kind == "chip"]
    subject = load_subject(
        source, chips[0] if chips else None, weight_bits, model_path, data, calibration_data, dt, command="energy"
    )
    loaded = loaded or [subject.profile]
    test = subject.data.test
    count = sample_count(samples, len(test.x))
    spikes = subject.spikes(test, count)
    with open_evaluator(execution) as evaluator:
        trace = evaluator.evaluate(subject.int_graph, spikes, simulators=("fixed",)).traces["fixed"]
    table = energy_table(subject.int_graph, spikes, trace, loaded, subject.float_graph)
    if Path(source).is_dir():
        repriced = bool(profile_names)
        note = (
            f"re-priced with --profile {', '.join(profile_names)} (the bundle was built for {subject.built_for})"
            if repriced
            else subject.profile_note
        )
        table["bundle_profile"] = {"built_for": subject.built_for, "repriced": repriced, "note": note}
    return subject, table
