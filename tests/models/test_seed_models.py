"""The seed-scale models (issue 17): VGG-11 on 32x32x3 images and a conv net on 2x128x128 event streams.

Both are trained on generated data (``latdeploy/data/shapes.py``, ``shapes_dvs.py``). The fast
tests check that each classifies its generated test split as its card says and take each through
the integer pipeline with the fixed-point simulator only; the slow one exports each to
``loihi2-sim`` on real Lava processes and asserts 0 fixed-vs-Lava mismatches.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import latdeploy
from latdeploy.data import load_split
from latdeploy.flows.export import export
from latdeploy.flows.prepare import prepare_integer_graph, spikes_of
from latdeploy.hw.mapper import map_graph
from latdeploy.hw.profile import load_profile
from latdeploy.nn.evaluation import evaluate
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.sim.float_sim import simulate_float
from tests.conftest import ROOT

SEED_MODELS = {
    # name: (input shape the chip's first layer receives, time steps, neuron kind)
    "shapes_vgg11": ([3, 32, 32], 4, "lif"),
    "shapes_dvs128_convnet": ([2, 128, 128], 4, "multi_threshold"),
}
CALIBRATION = 32
MIN_ACCURACY = {"shapes_vgg11": 0.7, "shapes_dvs128_convnet": 0.9}  # ten classes: chance is 0.1


@pytest.mark.parametrize("name", sorted(SEED_MODELS))
def test_seed_model_classifies_its_generated_test_split_as_its_card_says(name):
    model, metadata = latdeploy.load(ROOT / "models" / f"{name}.pt")
    test = load_split(metadata["dataset"], "test")
    result = evaluate(model, test.x, test.y, metadata["decoder"])
    assert result.accuracy >= MIN_ACCURACY[name]
    assert result.accuracy == pytest.approx(metadata["float_test_accuracy"], abs=0.01)
    assert result.decided == pytest.approx(metadata["test_samples_decided_by_spike"], abs=0.01 * len(test.y))
    assert result.decided > 0.75 * len(test.y)  # most samples are decided by an output spike


@pytest.mark.parametrize("name", sorted(SEED_MODELS))
def test_seed_model_ships_small_and_runs_in_the_fixed_point_simulator(name):
    path = ROOT / "models" / f"{name}.pt"
    assert path.stat().st_size < 1024 * 1024
    model, metadata = latdeploy.load(path)
    shape, timesteps, neuron = SEED_MODELS[name]
    assert (metadata["input_shape"][-3:], metadata["timesteps"], metadata["neuron"]) == (shape, timesteps, neuron)
    assert "generated" in path.with_suffix(".md").read_text()
    profile = load_profile("loihi2")
    calibration = spikes_of(model, load_split(metadata["dataset"], "train"), CALIBRATION)
    prepared = prepare_integer_graph(model, metadata, profile, None, calibration)
    assert map_graph(prepared.int_graph, profile)["total_cores"] >= 1
    spikes = spikes_of(model, load_split(metadata["dataset"], "test"), 2)
    fixed = simulate_fixed(prepared.int_graph, spikes)
    reference = simulate_float(prepared.float_graph, spikes)
    assert list(fixed.layers) == list(reference.layers)
    hidden = list(fixed.layers.values())[:-1]  # the output may stay silent (an undecided sample)
    assert all(layer.spikes.any() for layer in hidden)
    agreement = np.mean([(reference.layers[n].spikes == fixed.layers[n].spikes).mean() for n in fixed.layers])
    assert agreement > 0.9


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SEED_MODELS))
def test_seed_model_exports_to_loihi2_sim_with_zero_fixed_vs_lava_mismatches(name, tmp_path):
    started = time.perf_counter()
    result = export(ROOT / "models" / f"{name}.pt", "loihi2-sim", tmp_path / "bundle", samples=1)
    parity = result.parity["fixed_vs_hardware"]
    assert result.hardware == "lava" and parity["compared"] > 0
    assert parity["mismatches"] == 0
    print(
        f"{name}: Lava {result.hardware_seconds:.1f} s/sample, fixed point {result.fixed_seconds:.2f} s, "
        f"export {time.perf_counter() - started:.0f} s wall"
    )


def test_generated_training_sets_beyond_the_registered_split_start_with_it():
    """``tools/train.py --generated-train N`` draws N samples from the generator; the cards say its
    first ones are the registered train split (sample ``i`` depends on ``(seed, split, i)`` only)."""
    from latdeploy.data.shapes import TRAIN_SAMPLES, shapes_split

    registered, longer = load_split("generated-shapes-32", "train"), shapes_split("train", TRAIN_SAMPLES + 10)
    assert np.array_equal(longer.x[:TRAIN_SAMPLES], registered.x)
    assert np.array_equal(longer.y[:TRAIN_SAMPLES], registered.y)
    assert not np.array_equal(longer.x[TRAIN_SAMPLES:], registered.x[:10])
