"""scikit-learn's handwritten digits: a dataset that ships inside an installed package (no downloads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latdeploy.data.cache import cached_arrays
from latdeploy.data.registry import DATASETS, Split

DIGITS = "sklearn-digits"
SPLIT_SEED = 0


@DATASETS.register(DIGITS)
def load_digits_split(split: str) -> Split:
    """Return the ``"train"`` or ``"test"`` split of scikit-learn's 1,797 real 8x8 handwritten digits.

    Pixel values 0..16 are scaled to [0, 1] (``float32 [N, 64]``), labels are ``int64``;
    the split is 80/20 stratified with seed 0 (1,437 train, 360 test). Any split name
    other than ``"train"`` gives the test split: :func:`~latdeploy.data.registry.load_split`
    checks the name. Cached on disk (:mod:`latdeploy.data.cache`, keyed by the split, this module
    and the scikit-learn version): scikit-learn is imported only to make the split.
    """
    split = "train" if split == "train" else "test"
    parameters = {"split": split, "seed": SPLIT_SEED}
    arrays = cached_arrays(DIGITS, parameters, Path(__file__), ("x", "y"), lambda: _split(split), ("scikit-learn",))
    return Split(arrays["x"], arrays["y"])


def _split(split: str) -> dict[str, np.ndarray]:
    """Return ``{"x", "y"}`` of ``split`` made with scikit-learn (:func:`load_digits_split`)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=SPLIT_SEED)
    return {"x": x_train, "y": y_train} if split == "train" else {"x": x_test, "y": y_test}
