"""Exporting the same model twice gives byte-identical artefacts, whatever the global RNG state."""

from __future__ import annotations

import json
import multiprocessing
import random

import numpy as np
import torch

from latdeploy.flows.export import export
from tests.conftest import SHIPPED_MODEL


def _export_with_rng_state(out, seed: int):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return export(SHIPPED_MODEL, out=out, samples=4, command_line="latdeploy export (test)")


def test_two_exports_are_byte_identical_file_by_file(tmp_path):
    first = _export_with_rng_state(tmp_path / "first.latdeploy", seed=1).out
    second = _export_with_rng_state(tmp_path / "second.latdeploy", seed=12345).out
    assert multiprocessing.active_children() == []  # both Lava runs stopped every process they started
    names = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file())
    assert {"manifest.json", "graph.onnx", "graph.int.onnx", "parity.json", "energy.json"} <= set(names)
    differing = [name for name in names if (first / name).read_bytes() != (second / name).read_bytes()]
    assert differing == [], f"files differ between two exports of the same model: {differing}"
    manifest = json.loads((first / "manifest.json").read_text())
    assert not any(key in manifest for key in ("time", "date", "timestamp", "created")), sorted(manifest)
