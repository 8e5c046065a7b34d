"""The generated 32x32x3 shapes set: seeded, balanced, in range, registered, and its classes differ."""

from __future__ import annotations

import numpy as np
import pytest

from latdeploy.data import DATASETS, SHAPES
from latdeploy.data.shapes import PATTERNS, pattern_mask, shape_image, shapes_split


def test_split_is_deterministic_balanced_and_in_range():
    first, again = shapes_split("train", 40), shapes_split("train", 40)
    assert np.array_equal(first.x, again.x) and np.array_equal(first.y, again.y)
    assert first.x.shape == (40, 3 * 32 * 32) and first.x.dtype == np.float32
    assert 0.0 <= first.x.min() and first.x.max() <= 1.0
    assert np.bincount(first.y).tolist() == [4] * 10
    assert not np.array_equal(shapes_split("test", 40).x, first.x)
    assert SHAPES in DATASETS


def test_every_pattern_draws_a_distinct_non_trivial_mask():
    masks = [pattern_mask(name, 32, np.random.default_rng(0)) for name in PATTERNS]
    assert all(0.05 < mask.mean() < 0.8 for mask in masks)
    assert len({mask.tobytes() for mask in masks}) == len(PATTERNS)
    with pytest.raises(ValueError, match="unknown pattern"):
        pattern_mask("hexagon", 32, np.random.default_rng(0))


def test_foreground_and_background_colours_differ():
    image = shape_image(0, np.random.default_rng([0, 0, 0]))
    mask = pattern_mask("disc", 32, np.random.default_rng([0, 0, 0]))
    assert abs(image[:, mask].mean(axis=1).sum() - image[:, ~mask].mean(axis=1).sum()) > 0.4
