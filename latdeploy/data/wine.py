"""scikit-learn's wine recognition data: 13 chemical features, 3 cultivars (ships with scikit-learn).

Small enough for one SynSense Xylo core (16 input channels, 8 readout neurons), so it is the data
of the shipped Xylo model (``models/wine_xylo_mlp.pt``, ``docs/xylo.md``).
"""

from __future__ import annotations

import numpy as np

from latdeploy.data.registry import DATASETS, Split

WINE = "sklearn-wine"
SPLIT_SEED = 0


@DATASETS.register(WINE)
def load_wine_split(split: str) -> Split:
    """Return the ``"train"`` or ``"test"`` split of scikit-learn's 178 wine samples.

    Each feature is scaled to [0, 1] by the training split's minimum and maximum (test values
    clipped to that range), ``float32 [N, 13]``; labels are ``int64`` 0..2; the split is 80/20
    stratified with seed 0 (142 train, 36 test). Any split name other than ``"train"`` gives the
    test split: :func:`~latdeploy.data.registry.load_split` checks the name.
    """
    from sklearn.datasets import load_wine  # scikit-learn loads only when the split is read
    from sklearn.model_selection import train_test_split

    wine = load_wine()
    x_train, x_test, y_train, y_test = train_test_split(
        wine.data, wine.target, test_size=0.2, stratify=wine.target, random_state=SPLIT_SEED
    )
    low, high = x_train.min(axis=0), x_train.max(axis=0)
    scale = lambda x: np.clip((x - low) / (high - low), 0.0, 1.0).astype(np.float32)  # noqa: E731
    if split == "train":
        return Split(scale(x_train), y_train.astype(np.int64))
    return Split(scale(x_test), y_test.astype(np.int64))
