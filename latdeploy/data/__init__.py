"""Data: the dataset registry, the datasets latdeploy ships, and users' spike files.

Importing this package registers the shipped datasets (:mod:`latdeploy.data.digits`,
:mod:`latdeploy.data.events`, :mod:`latdeploy.data.wine`, the generated seed-scale sets
:mod:`latdeploy.data.shapes` and :mod:`latdeploy.data.shapes_dvs`) in
:data:`~latdeploy.data.registry.DATASETS`; this is the package's one plugin-import module.
"""

from __future__ import annotations

from latdeploy.data.digits import DIGITS
from latdeploy.data.events import EVENTS
from latdeploy.data.registry import DATASETS, SPLITS, Split, load_split
from latdeploy.data.shapes import SHAPES
from latdeploy.data.shapes_dvs import SHAPES_DVS
from latdeploy.data.wine import WINE

__all__ = ["DATASETS", "DIGITS", "EVENTS", "SHAPES", "SHAPES_DVS", "SPLITS", "WINE", "Split", "load_split"]
