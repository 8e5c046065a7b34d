"""Self-contained bundles: a bundle made with a profile file (and model) from a temporary directory
verifies and prices identically after both are deleted; ``--profile`` re-prices it, labelled."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from latdeploy.cli import cli as cli_group
from tests.conftest import ROOT


def _invoke(*args: str) -> tuple[str, str]:
    result = CliRunner().invoke(cli_group, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, shipped_model_path_module):
    work = tmp_path_factory.mktemp("own_profile")
    profile = work / "mychip.yaml"
    text = (ROOT / "hw_profiles" / "loihi2.yaml").read_text()
    profile.write_text(text.replace("name: loihi2", "name: mychip").replace("value: 23.6e-12", "value: 30.0e-12"))
    model = work / "model.pt"
    shutil.copyfile(shipped_model_path_module, model)
    out = work / "b.latdeploy"
    _invoke("export", str(model), "--profile", str(profile), "-o", str(out), "--samples", "3", "--json")
    profile.unlink()
    model.unlink()
    return out


@pytest.fixture(scope="module")
def shipped_model_path_module():
    return ROOT / "models" / "digits_mlp.pt"


def test_the_bundle_holds_its_profile_and_model(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["profile"]["name"] == "mychip" and manifest["profile"]["file"] == "profile.yaml"
    assert {"profile.yaml", "model.pt"} <= set(manifest["files"])
    assert "name: mychip" in (bundle / "profile.yaml").read_text()


def test_it_verifies_and_prices_identically_after_the_files_are_deleted(bundle):
    parity = json.loads((bundle / "parity.json").read_text())
    energy = json.loads((bundle / "energy.json").read_text())
    stdout, _ = _invoke("verify", str(bundle), "--samples", "3", "--hardware-samples", "3", "--json")
    again = json.loads(stdout)
    assert again.pop("robustness") == [] and again.pop("executor")["retries"] == [] and again == parity
    stdout, _ = _invoke("energy", str(bundle), "--samples", "3", "--json")
    table = json.loads(stdout)
    (priced,) = table["profiles"]
    assert priced["profile"] == "mychip" and priced["energy_j"] == energy["energy_j"]
    assert table["bundle_profile"] == {
        "built_for": "mychip",
        "repriced": False,
        "note": "mychip (the bundle's own profile.yaml)",
    }
    stdout, _ = _invoke("energy", str(bundle), "--samples", "3")
    assert stdout.splitlines()[0].endswith("(priced with mychip (the bundle's own profile.yaml))")


def test_a_later_profile_is_an_explicit_repricing(bundle):
    stdout, _ = _invoke("energy", str(bundle), "--samples", "3", "--profile", "loihi2")
    assert "re-priced with --profile loihi2 (the bundle was built for mychip)" in stdout.splitlines()[0]
    stdout, _ = _invoke("verify", str(bundle), "--samples", "3", "--hardware-samples", "1", "--profile", "loihi2")
    assert "re-priced with --profile loihi2 (the bundle was built for mychip)" in stdout.splitlines()[0]


def test_an_altered_profile_copy_is_refused(bundle, tmp_path):
    altered = tmp_path / "altered.latdeploy"
    shutil.copytree(bundle, altered)
    with (altered / "profile.yaml").open("a") as handle:
        handle.write("# edited\n")
    result = CliRunner().invoke(cli_group, ["energy", str(altered), "--samples", "3"])
    assert result.exit_code != 0 and "does not match the sha256 in manifest.json" in str(result.exception)


def test_verifying_a_bundle_warns_about_nothing(bundle):
    import warnings

    import numpy as np

    from latdeploy.ir.onnx_io import read_onnx
    from latdeploy.sim.float_sim import simulate_float

    graph = read_onnx(bundle / "graph.onnx")
    arrays = [value for node in graph.nodes for value in vars(node).values() if hasattr(value, "flags")]
    assert arrays and all(array.flags.writeable for array in arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        simulate_float(graph, np.zeros((1, graph.timesteps, graph.input.size), np.float32))


def _documented_schemas() -> dict[str, dict]:
    import re

    text = (ROOT / "docs" / "schemas.md").read_text()
    return {
        name: json.loads(body)
        for name, body in re.findall(r"<!-- schema: (\S+) -->\n```json\n(.*?)\n```", text, flags=re.S)
    }


def test_every_json_file_of_the_bundle_matches_its_documented_schema(bundle):
    import jsonschema

    from latdeploy.report import schema_versions

    schemas = _documented_schemas()
    assert {"manifest.json", "parity.json", "energy.json", "mapping.json", "quantization.json", "sweep.json"} <= set(
        schemas
    )
    for name in ("manifest.json", "parity.json", "energy.json", "mapping.json", "quantization.json"):
        document = json.loads((bundle / name).read_text())
        jsonschema.validate(document, schemas[name])
    assert schemas["parity.json"]["properties"]["schema_version"]["const"] == schema_versions.PARITY
    assert schemas["sweep.json"]["properties"]["schema_version"]["const"] == schema_versions.SWEEP


def test_a_newer_schema_version_is_refused_and_an_unversioned_manifest_read(bundle, tmp_path):
    from latdeploy.errors import ModelFormatError
    from latdeploy.flows.verify import read_manifest

    newer = tmp_path / "newer.latdeploy"
    shutil.copytree(bundle, newer)
    manifest = json.loads((newer / "manifest.json").read_text())
    (newer / "manifest.json").write_text(json.dumps({**manifest, "schema_version": 99}))
    with pytest.raises(ModelFormatError, match="schema_version 99 is newer than this latdeploy reads"):
        read_manifest(newer)
    del manifest["schema_version"]
    (newer / "manifest.json").write_text(json.dumps(manifest))
    assert read_manifest(newer)["profile"]["name"] == "mychip"
