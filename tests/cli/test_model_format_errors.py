"""Issue 14: a model file that is not a torch checkpoint (HDF5, ONNX protobuf, garbage, empty) is refused
by what it is, in one line with exit 2, and the message never mentions pickles or --trust-pickle."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import latdeploy
from latdeploy.cli import main
from latdeploy.errors import ModelFormatError
from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.ir.onnx_io import write_onnx
from tests.conftest import SHIPPED_MODEL

h5py = pytest.importorskip("h5py")


def _hdf5(path: Path) -> None:
    with h5py.File(path, "w") as handle:
        handle.create_group("node")


def _onnx(path: Path) -> None:
    model, metadata = latdeploy.load(SHIPPED_MODEL)
    onnx_path = write_onnx(graph_from_module(model, metadata), path.with_suffix(".onnx"))
    path.write_bytes(onnx_path.read_bytes())


FILES = {
    "hdf5": (_hdf5, "an HDF5 file (a NIR graph or a lava-dl network?); name it .nir or .net"),
    "onnx": (_onnx, "an ONNX model; name it .onnx to read it as a graph"),
    "garbage": (lambda p: p.write_bytes(b"not a model at all"), "not a torch checkpoint (torch.save writes a zip"),
    "empty": (lambda p: p.write_bytes(b""), "an empty file"),
}


@pytest.mark.parametrize("kind", sorted(FILES))
def test_load_names_the_format_it_found(tmp_path, kind):
    write, message = FILES[kind]
    path = tmp_path / "model.pt"
    write(path)
    for trust in (False, True):
        with pytest.raises(ModelFormatError) as caught:
            latdeploy.load(path, trust_pickle=trust)
        assert message in str(caught.value)
        assert "pickle" not in str(caught.value).lower()


@pytest.mark.parametrize("kind", sorted(FILES))
def test_export_of_a_file_that_is_not_a_checkpoint_is_one_line_exit_2(tmp_path, monkeypatch, capsys, kind):
    write, message = FILES[kind]
    path = tmp_path / "model.pt"
    write(path)
    monkeypatch.chdir(tmp_path)  # where export would write its default bundle
    monkeypatch.setattr(sys, "argv", ["latdeploy", "export", str(path), "--samples", "2"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    stderr = capsys.readouterr().err
    assert exit_info.value.code == 2, stderr
    assert stderr.count("\n") == 1 and message in stderr
    assert "pickle" not in stderr.lower()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["model.pt", *(["model.onnx"] if kind == "onnx" else [])]
    )
