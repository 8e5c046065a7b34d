from __future__ import annotations

import numpy as np
import pytest

from latdeploy.data import DATASETS, DIGITS, EVENTS, SHAPES, SHAPES_DVS, WINE, Split, load_split, registry
from latdeploy.errors import ModelFormatError
from latdeploy.registry import Registry


def test_shipped_datasets_are_registered_in_order():
    assert DATASETS.keys() == [DIGITS, EVENTS, SHAPES, SHAPES_DVS, WINE]


def test_load_split_refuses_unknown_dataset_and_split_naming_what_ships():
    with pytest.raises(ModelFormatError, match=r"unknown dataset 'mnist'; latdeploy ships \['sklearn-digits', "):
        load_split("mnist", "train")
    with pytest.raises(ModelFormatError, match="unknown split 'val'; use 'train' or 'test'"):
        load_split(DIGITS, "val")


def test_digits_split_is_the_stratified_80_20_split():
    train, test = load_split(DIGITS, "train"), load_split(DIGITS, "test")
    assert train.x.shape == (1437, 64) and test.x.shape == (360, 64)
    assert train.x.dtype == np.float32 and 0.0 <= train.x.min() and train.x.max() <= 1.0
    assert np.array_equal(load_split(DIGITS, "test").x, test.x)  # the same split on every call


def test_a_registered_loader_is_what_load_split_calls(monkeypatch):
    split = Split(np.zeros((2, 3), np.float32), np.array([0, 1]))
    datasets = Registry("dataset loader", error=ModelFormatError)
    datasets.add("user-set", lambda name: split if name == "test" else None)
    monkeypatch.setattr(registry, "DATASETS", datasets)
    assert load_split("user-set", "test") is split
    with pytest.raises(ModelFormatError, match=r"latdeploy ships \['user-set'\]"):
        load_split(DIGITS, "test")
