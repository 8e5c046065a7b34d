"""Generated 2x128x128 DVS event streams: the ten shape classes of :mod:`latdeploy.data.shapes` seen
by a 128x128 event camera that moves along a square (no downloads).

No real 128x128 event data set ships with latdeploy (DVS128 Gesture, N-Caltech are downloads),
so the seed-scale DVS conv net (``models/shapes_dvs128_convnet.pt``) trains on this generated one.
Per sample, from ``numpy.random.default_rng([seed, split, index])``: the pattern of class
``index % 10`` (:func:`latdeploy.data.shapes.pattern_mask` at 128 px: radius 32..52 px),
foreground grey level uniform in [0.6, 1], background in [0, 0.3]; the image moves along
the saccades :data:`VERTICES` (a square of 4 px side around the start, in pixels),
:data:`BINS_PER_SACCADE` raw bins per saccade, sub-pixel shifts by bilinear interpolation.
The DVS pixel model (log intensity, read noise, per-pixel contrast mismatch, ON channel 0,
OFF channel 1) is :func:`latdeploy.data.events.dvs_events`.

``x`` is ``uint8 [N, RAW_BINS, 2, 128, 128]`` (event counts per raw bin and polarity), ``y``
the class ``int64``; :data:`TRAIN_SAMPLES` train and :data:`TEST_SAMPLES` test samples.
The data are the same on every run.
"""

from __future__ import annotations

import numpy as np

from latdeploy.data.events import dvs_events
from latdeploy.data.registry import DATASETS, Split
from latdeploy.data.shapes import PATTERNS, pattern_mask

SHAPES_DVS = "generated-shapes-dvs-128"
SENSOR = 128
VERTICES = ((-2.0, -2.0), (2.0, -2.0), (2.0, 2.0), (-2.0, 2.0), (-2.0, -2.0))
BINS_PER_SACCADE = 2
RAW_BINS = BINS_PER_SACCADE * (len(VERTICES) - 1)
TRAIN_SAMPLES = 400
TEST_SAMPLES = 100
SEED = 0


def camera_path() -> np.ndarray:
    """Return the (x, y) shift of the image at raw bins ``0..RAW_BINS`` (row 0: the adapted start)."""
    points = [np.asarray(VERTICES[0])]
    for start, end in zip(VERTICES[:-1], VERTICES[1:], strict=True):
        for step in range(1, BINS_PER_SACCADE + 1):
            points.append(np.asarray(start) + (np.asarray(end) - np.asarray(start)) * step / BINS_PER_SACCADE)
    return np.stack(points)


def shape_events(label: int, rng: np.random.Generator) -> np.ndarray:
    """Return the ``uint8 [RAW_BINS, 2, SENSOR, SENSOR]`` events of one moving shape of class ``label``."""
    from scipy.ndimage import shift  # only where a split is generated (not cached): ~0.2-0.7 s of imports

    mask = pattern_mask(PATTERNS[label], SENSOR, rng)
    image = np.where(mask, rng.uniform(0.6, 1.0), rng.uniform(0.0, 0.3))
    frames = np.stack([shift(image, (dy, dx), order=1, mode="nearest") for dx, dy in camera_path()])
    return dvs_events(np.clip(frames, 0.0, 1.0), rng)


def shapes_dvs_split(split: str, samples: int, seed: int = SEED) -> Split:
    """Return ``samples`` event streams of ``split`` (``"train"``; anything else is the test split),
    sample ``i`` of class ``i % 10`` drawn from ``numpy.random.default_rng([seed, split_id, i])``."""
    split_id = 0 if split == "train" else 1
    labels = np.arange(samples, dtype=np.int64) % len(PATTERNS)
    events = np.empty((samples, RAW_BINS, 2, SENSOR, SENSOR), np.uint8)
    for index, label in enumerate(labels):
        events[index] = shape_events(int(label), np.random.default_rng([seed, split_id, index]))
    return Split(events, labels)


@DATASETS.register(SHAPES_DVS)
def load_shapes_dvs_split(split: str) -> Split:
    """Return the ``"train"`` (:data:`TRAIN_SAMPLES`) or ``"test"`` (:data:`TEST_SAMPLES`) split of the
    generated 2x128x128 event streams; :func:`~latdeploy.data.registry.load_split` checks the split name."""
    return shapes_dvs_split(split, TRAIN_SAMPLES if split == "train" else TEST_SAMPLES)
