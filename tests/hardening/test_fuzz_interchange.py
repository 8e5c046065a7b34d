"""Fuzz the lava-dl netx (.net) and NIR readers (latdeploy.frontend.netx.read_netx,
latdeploy.frontend.nir.read_nir): truncated and mutated bytes, and HDF5 datasets
replaced by wrong types, shapes, NaN/inf and out-of-range values, or deleted."""

from __future__ import annotations

import h5py
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.backends.netx import write_netx
from latdeploy.backends.nir import write_nir
from latdeploy.frontend.netx import read_netx
from latdeploy.frontend.nir import read_nir
from latdeploy.ir import LIF, Dense, Graph, SpikeInput
from tests.conftest import int_graph
from tests.hardening.fuzzing import MEMORY_GROWTH_LIMIT_BYTES, peak_rss_bytes, read_or_refuse


def _netx_graph() -> Graph:
    graph = int_graph(np.random.default_rng(0), (6, 5, 3), 4, vth=10)
    even = [n.replace(weight=(n.weight // 2) * 2) if hasattr(n, "weight") else n for n in graph.nodes]
    return graph.replace_nodes(even)


def _nir_graph() -> Graph:
    rng = np.random.default_rng(0)
    return Graph(
        (
            SpikeInput("input", (), neurons=6),
            Dense("d1", ("input",), weight=rng.standard_normal((5, 6)).astype(np.float32)),
            LIF("l1", ("d1",), bias=np.zeros(5, np.float32)),
        ),
        {"timesteps": 4},
    )


READERS = {"net": (_netx_graph, write_netx, read_netx), "nir": (_nir_graph, write_nir, read_nir)}

REPLACEMENTS = st.sampled_from(
    [
        "delete",
        np.array("text", dtype=h5py.string_dtype()),
        np.array(np.nan),
        np.array([np.inf, -np.inf]),
        np.array(2**40, dtype=np.int64),
        np.array(-(2**40), dtype=np.int64),
        np.zeros((0,), np.float32),
        np.zeros((3, 3, 3), np.float32),
        np.full((5, 6), np.nan, np.float32),
        np.array([1.5, -0.5]),
        np.array(-1),
        np.array(0),
    ]
)


def _valid(tmp_path, kind: str):
    make, write, _ = READERS[kind]
    return write(make(), tmp_path / f"valid.{kind}")


def _dataset_names(handle: h5py.File) -> list[str]:
    names: list[str] = []
    handle.visititems(lambda name, item: names.append(name) if isinstance(item, h5py.Dataset) else None)
    return names


@settings(max_examples=40)
@given(kind=st.sampled_from(sorted(READERS)), data=st.data())
def test_fuzz_interchange_datasets(tmp_path_factory, kind, data):
    tmp_path = tmp_path_factory.mktemp(kind)
    path = _valid(tmp_path, kind)
    with h5py.File(path, "r+") as handle:
        for _ in range(data.draw(st.integers(1, 3))):
            names = _dataset_names(handle)
            if not names:
                break
            name = data.draw(st.sampled_from(sorted(names)))
            replacement = data.draw(REPLACEMENTS)
            del handle[name]
            if not isinstance(replacement, str):
                handle.create_dataset(name, data=replacement)
    before = peak_rss_bytes()
    read_or_refuse(lambda: READERS[kind][2](path), path)
    assert peak_rss_bytes() - before < MEMORY_GROWTH_LIMIT_BYTES


@settings(max_examples=40)
@given(kind=st.sampled_from(sorted(READERS)), data=st.data())
def test_fuzz_interchange_bytes(tmp_path_factory, kind, data):
    tmp_path = tmp_path_factory.mktemp(kind)
    path = _valid(tmp_path, kind)
    raw = bytearray(path.read_bytes())
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        for _ in range(data.draw(st.integers(1, 16))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    path.write_bytes(bytes(raw))
    read_or_refuse(lambda: READERS[kind][2](path), path)


def test_unmutated_interchange_files_load(tmp_path):
    for kind, (make, _, read) in READERS.items():
        graph = read(_valid(tmp_path, kind))
        assert len(graph.neurons()) == len(make().neurons())
