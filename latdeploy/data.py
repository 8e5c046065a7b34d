"""Datasets that ship inside installed packages (no downloads at run time)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from latdeploy.errors import ModelFormatError

DIGITS = "sklearn-digits"
SPLIT_SEED = 0


@dataclass(frozen=True)
class Split:
    """Inputs scaled to [0, 1] (``float32 [N, features]``) and integer labels."""

    x: np.ndarray
    y: np.ndarray


def load_split(dataset: str, split: str) -> Split:
    """Return the ``"train"`` or ``"test"`` split of ``dataset``.

    ``sklearn-digits``: scikit-learn's 1,797 real 8x8 handwritten digits, pixel
    values 0..16 scaled to [0, 1], split 80/20 stratified with seed 0 (1,437 train,
    360 test).

    Raises:
        ModelFormatError: for an unknown dataset id or split name.
    """
    if dataset != DIGITS:
        raise ModelFormatError(f"unknown dataset {dataset!r}; latdeploy ships {DIGITS!r}")
    if split not in ("train", "test"):
        raise ModelFormatError(f"unknown split {split!r}; use 'train' or 'test'")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=SPLIT_SEED)
    return Split(x_train, y_train) if split == "train" else Split(x_test, y_test)
