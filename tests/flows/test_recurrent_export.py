"""A recurrent NIR graph (two LIF layers, each feeding itself through a weight) goes through
``latdeploy export`` on the user's spikes: quantized on them, run on real Lava, 0 fixed-vs-Lava
mismatches, and the bundle verifies again from its own copy of the file with the recorded ``--dt``."""

from __future__ import annotations

import json

import jsonschema
import nir
import numpy as np
from click.testing import CliRunner

from latdeploy.cli import cli
from tests.flows.test_bundle_profile import _documented_schemas
from tests.frontend.test_nir_recurrent import _recurrent_graph


def test_recurrent_nir_exports_to_lava_with_parity_and_verifies_again(tmp_path) -> None:
    nir.write(tmp_path / "recurrent.nir", _recurrent_graph())
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "spikes.npz",
        x=(rng.random((12, 10, 5)) < 0.3).astype(np.uint8),
        y=rng.integers(0, 3, 12),
    )
    out = tmp_path / "bundle"
    gates = ["--max-accuracy-drop", "100", "--min-agreement", "0"]  # random labels: parity is what is judged
    common = ["--data", str(tmp_path / "spikes.npz"), "--dt", "1e-4", *gates]
    exported = CliRunner().invoke(cli, ["export", str(tmp_path / "recurrent.nir"), "-o", str(out), *common])
    assert exported.exit_code == 0, exported.output
    parity = json.loads((out / "parity.json").read_text())
    assert parity["fixed_vs_hardware"] == {"compared": 12 * 10 * (7 + 3), "first_divergence": None, "mismatches": 0}
    layers = json.loads((out / "quantization.json").read_text())["layers"]
    assert [(layer["neuron"], layer["extra"]["recurrent"]) for layer in layers] == [("lif1", "rec1"), ("lif2", "rec2")]
    manifest = json.loads((out / "manifest.json").read_text())
    recorded = manifest["model"]
    assert (recorded["file"], recorded["format"], recorded["dt"]) == ("model.nir", "nir", 1e-4)
    schemas = _documented_schemas()
    for name in ("manifest.json", "parity.json"):
        jsonschema.validate(json.loads((out / name).read_text()), schemas[name])
    # the bundle's own copy of the file, the recorded --dt and data: verify needs none of them again
    (tmp_path / "recurrent.nir").unlink()
    verified = CliRunner().invoke(cli, ["verify", str(out), *gates])
    assert verified.exit_code == 0, verified.output
