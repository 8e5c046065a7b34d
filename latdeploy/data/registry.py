"""The dataset registry: one table from a dataset id to the loader of its splits.

Every dataset latdeploy reads comes through :data:`DATASETS` and :func:`load_split`.
A loader takes a split name (``"train"`` or ``"test"``) and returns a :class:`Split`;
the modules that define loaders register them (``@DATASETS.register("my-set")``) and
:mod:`latdeploy.data` imports those modules. User datasets (``.npz`` files,
``module:function`` entry points, :mod:`latdeploy.data.user`) come in beside these loaders
through :func:`latdeploy.data.source.model_data`, the one function every flow takes data from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from latdeploy.errors import ModelFormatError
from latdeploy.registry import Registry

SPLITS = ("train", "test")


@dataclass(frozen=True)
class Split:
    """Inputs and integer labels: ``float32 [N, features]`` in [0, 1] for images,
    ``uint8 [N, bins, 2, H, W]`` event counts for event streams; ``encoded`` when ``x`` holds
    already-encoded spikes ``[N, T, ...]`` (users' data, :mod:`latdeploy.data.source`);
    ``y`` is None for unlabelled users' data."""

    x: np.ndarray
    y: np.ndarray | None
    encoded: bool = False


SplitLoader = Callable[[str], Split]
"""``loader(split) -> Split`` for a split name in :data:`SPLITS`."""

DATASETS: Registry[str, SplitLoader] = Registry("dataset loader", error=ModelFormatError)


def load_split(dataset: str, split: str) -> Split:
    """Return the ``"train"`` or ``"test"`` split of the registered dataset ``dataset``.

    Raises:
        ModelFormatError: for an unknown dataset id or split name, or from the loader.
    """
    if dataset not in DATASETS:
        raise ModelFormatError(
            f"unknown dataset {dataset!r}; latdeploy ships {DATASETS.keys()}; give your own data with --data FILE.npz"
        )
    if split not in SPLITS:
        raise ModelFormatError(f"unknown split {split!r}; use 'train' or 'test'")
    return DATASETS.get(dataset)(split)
