"""Generated CIFAR-sized images: ten classes of coloured shapes and textures on 32x32x3 (no downloads).

No real 32x32x3 data set ships with latdeploy (CIFAR-10 is a download), so the seed-scale
VGG-11 (``models/shapes_vgg11.pt``) trains on this generated one. Class ``k`` draws the
pattern :data:`PATTERNS` ``[k]`` inside a disc-shaped window: a filled disc, a square, a
triangle, a ring, a plus, an X (shapes), or horizontal, vertical or diagonal stripes or a
checkerboard (textures). Per sample, from ``numpy.random.default_rng([seed, split, index])``:
centre offset up to ``+-4`` px, size 8..13 px (radius / half side), stripe period 4..7 px,
a foreground and a background colour (uniform RGB in [0, 1], at least 0.5 apart in
brightness sum), and Gaussian pixel noise (sigma 0.05), clipped to [0, 1].

``x`` is ``float32 [N, 3 * 32 * 32]`` (channel-first ``[3, 32, 32]`` flattened, like CIFAR
tensors), ``y`` the class ``int64``; :data:`TRAIN_SAMPLES` train and :data:`TEST_SAMPLES` test
samples, balanced (sample ``i`` has class ``i % 10``). The data are the same on every run.
"""

from __future__ import annotations

import numpy as np

from latdeploy.data.registry import DATASETS, Split

SHAPES = "generated-shapes-32"
SIZE = 32
CHANNELS = 3
PATTERNS = ("disc", "square", "triangle", "ring", "plus", "cross", "hstripes", "vstripes", "dstripes", "checker")
TRAIN_SAMPLES = 2000
TEST_SAMPLES = 500
SEED = 0
NOISE = 0.05


def pattern_mask(pattern: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """Return the boolean foreground mask ``[size, size]`` of one ``pattern`` (a name in :data:`PATTERNS`)
    with a random centre, scale and (for textures) stripe period drawn from ``rng``; offsets, sizes
    and periods are those above for ``size`` 32 and scale with ``size / 32``.

    Raises:
        ValueError: for an unknown pattern name.
    """
    scale = size / SIZE
    centre = size / 2 - 0.5 + scale * rng.uniform(-4.0, 4.0, size=2)
    radius = scale * rng.uniform(8.0, 13.0)
    period = scale * int(rng.integers(4, 8))
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    dy, dx = rows - centre[0], cols - centre[1]
    distance = np.hypot(dx, dy)
    inside = distance <= radius
    bar = radius / 3.5
    masks = {
        "disc": inside,
        "square": (np.abs(dx) <= 0.8 * radius) & (np.abs(dy) <= 0.8 * radius),
        "triangle": (dy <= 0.7 * radius) & (dy >= -radius + 2.0 * np.abs(dx)),
        "ring": inside & (distance >= 0.55 * radius),
        "plus": inside & ((np.abs(dx) <= bar) | (np.abs(dy) <= bar)),
        "cross": inside & ((np.abs(dx - dy) <= 1.4 * bar) | (np.abs(dx + dy) <= 1.4 * bar)),
        "hstripes": inside & ((rows // (period / 2)) % 2 == 0),
        "vstripes": inside & ((cols // (period / 2)) % 2 == 0),
        "dstripes": inside & (((rows + cols) // (period / 2)) % 2 == 0),
        "checker": inside & (((rows // (period / 2)) + (cols // (period / 2))) % 2 == 0),
    }
    if pattern not in masks:
        raise ValueError(f"unknown pattern {pattern!r}; known: {list(PATTERNS)}")
    return masks[pattern]


def _colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Return a foreground and a background RGB colour whose brightness sums differ by at least 0.5."""
    while True:
        foreground, background = rng.uniform(0.0, 1.0, size=(2, CHANNELS))
        if abs(float(foreground.sum() - background.sum())) >= 0.5:
            return foreground, background


def shape_image(label: int, rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """Return one ``float32 [3, size, size]`` image in [0, 1] of class ``label`` drawn from ``rng``."""
    mask = pattern_mask(PATTERNS[label], size, rng)
    foreground, background = _colours(rng)
    image = np.where(mask[None], foreground[:, None, None], background[:, None, None])
    image = image + NOISE * rng.standard_normal(image.shape)
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def shapes_split(split: str, samples: int, seed: int = SEED) -> Split:
    """Return ``samples`` images of ``split`` (``"train"``; anything else is the test split), sample ``i``
    of class ``i % 10`` drawn from ``numpy.random.default_rng([seed, split_id, i])``."""
    split_id = 0 if split == "train" else 1
    labels = np.arange(samples, dtype=np.int64) % len(PATTERNS)
    images = [
        shape_image(int(label), np.random.default_rng([seed, split_id, index])) for index, label in enumerate(labels)
    ]
    return Split(np.stack(images).reshape(samples, -1), labels)


@DATASETS.register(SHAPES)
def load_shapes_split(split: str) -> Split:
    """Return the ``"train"`` (:data:`TRAIN_SAMPLES`) or ``"test"`` (:data:`TEST_SAMPLES`) split of the
    generated 32x32x3 shapes set; :func:`~latdeploy.data.registry.load_split` checks the split name."""
    return shapes_split(split, TRAIN_SAMPLES if split == "train" else TEST_SAMPLES)
