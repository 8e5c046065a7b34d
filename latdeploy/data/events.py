"""Event streams generated from scikit-learn's digits: saccades seen by a simple DVS model.

Each 8x8 digit (the same 80/20 stratified split as :mod:`latdeploy.data.digits`) is scaled
bilinearly to 12x12, placed in the middle of a 16x16 sensor and moved along three
straight saccades that form a triangle (like N-MNIST's camera motion), 8 raw time
bins per saccade: positions, in pixels from the centre,
``(-1.5, -1) -> (1.5, -1) -> (0, 1.5) -> (-1.5, -1)`` (x, y), sub-pixel shifts by
bilinear interpolation.

DVS model, per pixel: log intensity ``L = log(0.05 + 0.95 * image)`` plus Gaussian read
noise (sigma ``0.02``); the pixel remembers a reference level (initially ``L`` at the
start position: the sensor is adapted) and, when ``L - ref`` crosses ``+-C`` (contrast
threshold ``C = 0.15`` times a per-pixel mismatch factor ``1 + 0.05 * N(0, 1)``),
emits ``floor(|L - ref| / C)`` ON (channel 0) or OFF (channel 1) events in that bin and
moves its reference by that many ``C``. Every sample draws noise and mismatch from
``numpy.random.default_rng([seed, split, index])``: the data are the same on every run.

A generated split is cached on disk (:mod:`latdeploy.data.cache`), keyed by the split, the
seed, this module's source and the numpy/scipy versions: only the first load generates it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latdeploy.data.cache import cached_arrays
from latdeploy.data.digits import load_digits_split
from latdeploy.data.registry import DATASETS, Split
from latdeploy.errors import ModelFormatError

EVENTS = "sklearn-digits-dvs"
SENSOR = 16
IMAGE = 12
BINS_PER_SACCADE = 8
VERTICES = ((-1.5, -1.0), (1.5, -1.0), (0.0, 1.5), (-1.5, -1.0))
RAW_BINS = BINS_PER_SACCADE * (len(VERTICES) - 1)
CONTRAST = 0.15
MISMATCH = 0.05
READ_NOISE = 0.02
SEED = 0


def saccade_positions() -> np.ndarray:
    """Return the sensor-relative (x, y) shift of the image at raw bins ``0..RAW_BINS`` (``RAW_BINS + 1`` rows;
    row 0 is the adapted start position)."""
    points = [np.asarray(VERTICES[0])]
    for start, end in zip(VERTICES[:-1], VERTICES[1:], strict=True):
        for step in range(1, BINS_PER_SACCADE + 1):
            points.append(np.asarray(start) + (np.asarray(end) - np.asarray(start)) * step / BINS_PER_SACCADE)
    return np.stack(points)


def _frames(images: np.ndarray) -> np.ndarray:
    """Return intensities ``[N, RAW_BINS + 1, SENSOR, SENSOR]`` of ``[N, 8, 8]`` images moving along the saccades."""
    from scipy.ndimage import shift, zoom  # only where a split is generated (not cached): ~0.2-0.7 s of imports

    scaled = zoom(images, (1, IMAGE / 8, IMAGE / 8), order=1)
    canvas = np.zeros((len(images), SENSOR, SENSOR), np.float64)
    offset = (SENSOR - IMAGE) // 2
    canvas[:, offset : offset + IMAGE, offset : offset + IMAGE] = np.clip(scaled, 0.0, 1.0)
    frames = [shift(canvas, (0.0, dy, dx), order=1, mode="constant", cval=0.0) for dx, dy in saccade_positions()]
    return np.clip(np.stack(frames, axis=1), 0.0, 1.0)


def dvs_events(intensity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Run the DVS model on one sample's intensity frames ``[R + 1, H, W]`` (frame 0: adapted start).

    Returns:
        ``uint8 [R, 2, H, W]`` event counts per raw bin: channel 0 ON, channel 1 OFF.
    """
    frames, height, width = intensity.shape
    log_intensity = np.log(0.05 + 0.95 * intensity) + READ_NOISE * rng.standard_normal(intensity.shape)
    threshold = CONTRAST * np.clip(1.0 + MISMATCH * rng.standard_normal((height, width)), 0.5, 1.5)
    reference = log_intensity[0].copy()
    events = np.zeros((frames - 1, 2, height, width), np.uint8)
    for index in range(1, frames):
        change = log_intensity[index] - reference
        count = np.floor(np.abs(change) / threshold)
        events[index - 1, 0] = np.where(change > 0, count, 0)
        events[index - 1, 1] = np.where(change < 0, count, 0)
        reference += np.sign(change) * count * threshold
    return events


@DATASETS.register(EVENTS)
def load_event_split(split: str, seed: int = SEED) -> Split:
    """Return the ``"train"`` or ``"test"`` split of the generated event data set.

    ``x`` is ``uint8 [N, RAW_BINS, 2, SENSOR, SENSOR]`` (event counts per raw bin and
    polarity), ``y`` the digit labels; the samples are those of the digits split.

    Raises:
        ModelFormatError: for an unknown split name.
    """
    if split not in ("train", "test"):
        raise ModelFormatError(f"unknown split {split!r} of {EVENTS!r}; use 'train' or 'test'")
    arrays = cached_arrays(
        EVENTS, {"split": split, "seed": int(seed)}, Path(__file__), ("x", "y"), lambda: _generate(split, seed)
    )
    return Split(arrays["x"], arrays["y"])


def _generate(split: str, seed: int) -> dict[str, np.ndarray]:
    """Return ``{"x": events, "y": labels}`` of ``split`` generated (:func:`load_event_split`)."""
    digits = load_digits_split(split)
    frames = _frames(digits.x.reshape(-1, 8, 8).astype(np.float64))
    split_id = 0 if split == "train" else 1
    events = np.stack(
        [dvs_events(frames[index], np.random.default_rng([seed, split_id, index])) for index in range(len(frames))]
    )
    return {"x": events, "y": digits.y}
