"""The generated 2x128x128 event streams: seeded, balanced, registered, events along the shapes' edges."""

from __future__ import annotations

import numpy as np

from latdeploy.data import DATASETS, SHAPES_DVS
from latdeploy.data.shapes_dvs import RAW_BINS, SENSOR, camera_path, shapes_dvs_split


def test_split_is_deterministic_balanced_with_both_polarities():
    first, again = shapes_dvs_split("test", 10), shapes_dvs_split("test", 10)
    assert np.array_equal(first.x, again.x)
    assert first.x.shape == (10, RAW_BINS, 2, SENSOR, SENSOR) and first.x.dtype == np.uint8
    assert first.y.tolist() == list(range(10))
    per_sample = first.x.reshape(10, RAW_BINS, 2, -1).sum(axis=(1, 3))
    assert (per_sample > 100).all()  # every sample has ON and OFF events
    assert 0.001 < (first.x > 0).mean() < 0.2  # sparse: edges only
    assert SHAPES_DVS in DATASETS


def test_camera_path_closes_and_starts_adapted():
    path = camera_path()
    assert len(path) == RAW_BINS + 1 and np.array_equal(path[0], path[-1])
