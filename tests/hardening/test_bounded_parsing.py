"""Bounded parsing (issue 16): every hostile or broken input of the list exits 2 with one line
naming the file, the field and the limit, and writes nothing; nothing is expanded, recursed
into or read in full beyond its limit first."""

from __future__ import annotations

import json
import multiprocessing
import sys
from pathlib import Path

import h5py
import numpy as np
import onnx
import pytest
import torch
import yaml

from latdeploy import cli, errors
from latdeploy.backends.lava.children import MAX_LAVA_PROCESSES
from latdeploy.backends.nir import write_nir
from latdeploy.energy.counting import energy_from_counts
from latdeploy.errors import ModelFormatError, ProfileError, ResourceError
from latdeploy.flows.run import simulate_in_chunks
from latdeploy.frontend.hdf5_file import MAX_BYTES, MAX_ELEMENTS
from latdeploy.hw.profile import PROFILE_DIR, load_profile
from latdeploy.ir import LIF, Dense, Graph, SpikeInput
from latdeploy.ir.onnx_io import to_onnx
from latdeploy.report.bundle import dump_json
from latdeploy.sim.budget import plan_chunks, simulation_bytes
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.untrusted.file_hash import sha256_of_file
from latdeploy.untrusted.json_document import MAX_DEPTH, check_nesting, load_json
from latdeploy.untrusted.text import printable
from latdeploy.untrusted.yaml_document import MAX_BYTES as YAML_MAX_BYTES
from tests.conftest import SHIPPED_MODEL, int_graph
from tests.hardening.fuzzing import MEMORY_GROWTH_LIMIT_BYTES, peak_rss_bytes

SHIPPED_PROFILE = (PROFILE_DIR / "loihi2.yaml").read_text()
BILLION_LAUGHS = "lol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)
HOSTILE_CHARACTERS = ("\x00", "\u202e", "\x1b[31m")


def _cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["latdeploy", *args])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    return exit_info.value.code, capsys.readouterr().err


def _refused(monkeypatch, capsys, tmp_path: Path, *args: str, says: tuple[str, ...]) -> str:
    """Run the CLI; assert exit 2, one line holding every text of ``says``, and no new file in ``tmp_path``."""
    before = sorted(tmp_path.rglob("*"))
    code, stderr = _cli(monkeypatch, capsys, *args)
    assert code == errors.EXIT_USER_ERROR, stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
    for text in says:
        assert text in stderr, f"{text!r} not in {stderr!r}"
    assert sorted(tmp_path.rglob("*")) == before, "something was written"
    return stderr


def _profile(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _with_value(section: str, field: str, value) -> str:
    document = yaml.safe_load(SHIPPED_PROFILE)
    document[section][field]["value"] = value
    return yaml.safe_dump(document, sort_keys=False)


# --- profiles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["profiles", "show"], ["map", str(SHIPPED_MODEL), "--profile"]])
def test_yaml_alias_bomb_is_refused_before_expansion(monkeypatch, capsys, tmp_path, command):
    path = _profile(tmp_path, "bomb.yaml", BILLION_LAUGHS + SHIPPED_PROFILE)
    before = peak_rss_bytes()
    _refused(monkeypatch, capsys, tmp_path, *command, str(path), says=("bomb.yaml", "alias *a0", "not"))
    assert peak_rss_bytes() - before < MEMORY_GROWTH_LIMIT_BYTES


def test_oversized_yaml_is_refused_before_parsing(monkeypatch, capsys, tmp_path):
    path = _profile(tmp_path, "huge.yaml", SHIPPED_PROFILE + "#" * YAML_MAX_BYTES)
    _refused(monkeypatch, capsys, tmp_path, "profiles", "show", str(path), says=("huge.yaml", str(YAML_MAX_BYTES)))


@pytest.mark.parametrize(
    ("section", "field", "value", "says"),
    [
        ("arithmetic", "u_state_bits", 0, "'arithmetic.u_state_bits' must be >= 1, got 0"),
        ("arithmetic", "threshold_mantissa_bits", 1e11, "'arithmetic.threshold_mantissa_bits' must be an integer"),
        ("arithmetic", "threshold_mantissa_bits", 10**11, "'arithmetic.threshold_mantissa_bits' must be <= 32"),
        ("arithmetic", "v_state_bits", 33, "'arithmetic.v_state_bits' must be <= 32, got 33"),
        ("arithmetic", "decay_bits", 10**400, "'arithmetic.decay_bits' must be <= 31, got 10000000... (401 digits)"),
        ("energy", "synaptic_op_j", 1e308, "'energy.synaptic_op_j' must be <= 0.001, got 1e+308"),
        ("energy", "static_power_w", 1e300, "'energy.static_power_w' must be <= 1000000.0"),
        ("resources", "neurons_per_core", 2**40, "'resources.neurons_per_core' must be <= 16777216"),
    ],
)
def test_profile_numbers_out_of_their_physical_range_are_refused(
    monkeypatch, capsys, tmp_path, section, field, value, says
):
    path = _profile(tmp_path, "range.yaml", _with_value(section, field, value))
    for command in (["profiles", "show", str(path)], ["map", str(SHIPPED_MODEL), "--profile", str(path)]):
        _refused(monkeypatch, capsys, tmp_path, *command, says=("range.yaml", says))


def test_control_characters_in_a_profile_name_never_reach_the_terminal(monkeypatch, capsys, tmp_path):
    document = yaml.safe_load(SHIPPED_PROFILE)
    document["name"] = "loihi" + "".join(HOSTILE_CHARACTERS)
    path = _profile(tmp_path, "named.yaml", yaml.safe_dump(document, allow_unicode=True))
    stderr = _refused(monkeypatch, capsys, tmp_path, "profiles", "show", str(path), says=("named.yaml", "'name'"))
    assert not any(character in stderr for character in ("\x00", "\u202e", "\x1b"))


def test_printable_escapes_controls_bidi_and_escape_sequences():
    assert printable("a\x1b[31mb\u202ec\x00d\u2066") == "a\\x1b[31mb\\u202ec\\x00d\\u2066"
    assert printable("two\nlines\tkept") == "two\nlines\tkept"
    assert printable("one\nline", keep_lines=False) == "one\\x0aline"
    assert printable("ordinary µJ name") == "ordinary µJ name"


def test_report_html_escapes_names():
    from latdeploy.report.html import _ENVIRONMENT

    page = _ENVIRONMENT.from_string("<h1>{{ name }}</h1>").render(name="<b>\u202e\x1b[31m")
    assert page == "<h1>&lt;b&gt;\\u202e\\x1b[31m</h1>"


# --- JSON, checkpoints ---------------------------------------------------------------------------


def test_json_depth_and_size_limits():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(
        ModelFormatError, match=f"x.json: JSON nests 100000 levels deep, more than the limit of {MAX_DEPTH}"
    ):
        load_json(deep, "x.json")
    with pytest.raises(ModelFormatError, match="more than the limit of 10"):
        load_json("[1, 2, 3, 4, 5]", "x.json", max_bytes=10)
    assert load_json('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', "x.json") == {"a": "[" * 40}
    value: list = []
    for _ in range(100_000):
        value = [value]
    with pytest.raises(ModelFormatError, match=f"meta nests deeper than the limit of {MAX_DEPTH}"):
        check_nesting(value, "meta")


def _checkpoint(tmp_path: Path, name: str, change) -> Path:
    payload = torch.load(SHIPPED_MODEL, weights_only=True)
    change(payload)
    path = tmp_path / name
    torch.save(payload, path)
    return path


def _deep_metadata(payload: dict) -> None:
    value: list = []
    for _ in range(200):
        value = [value]
    payload["metadata"]["note"] = value


def _complex_weights(payload: dict) -> None:
    name = next(iter(payload["state_dict"]))
    payload["state_dict"][name] = payload["state_dict"][name].to(torch.complex64)


def _object_weights(payload: dict) -> None:
    name = next(iter(payload["state_dict"]))
    payload["state_dict"][name] = payload["state_dict"][name].to_sparse()


def _encoder_mismatch(payload: dict) -> None:
    payload["config"]["encoder"] = "stc"
    payload["metadata"]["encoder"] = "stc"


def _input_mismatch(payload: dict) -> None:
    payload["metadata"]["input_shape"] = [3, 7]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (_deep_metadata, "field 'metadata' nests deeper than the limit of 32 levels"),
        (_complex_weights, "state_dict field 'linears.0.weight' holds torch.complex64 values"),
        (_object_weights, "state_dict field 'linears.0.weight' holds layout torch.sparse_coo values"),
        (_encoder_mismatch, "encoder 'stc' turns metadata field 'input_shape' [64] into [8, 1]"),
        (_input_mismatch, "metadata field 'input_shape' [3, 7] does not fit encoder 'latency'"),
    ],
)
def test_hostile_checkpoints_are_refused_before_the_first_forward_pass(monkeypatch, capsys, tmp_path, change, says):
    path = _checkpoint(tmp_path, "hostile.pt", change)
    out = tmp_path / "bundle"
    _refused(monkeypatch, capsys, tmp_path, "export", str(path), "-o", str(out), says=("hostile.pt", says))
    _refused(monkeypatch, capsys, tmp_path, "map", str(path), says=("hostile.pt", says))


# --- ONNX and NIR ------------------------------------------------------------------------------


def _onnx_file(tmp_path: Path, change) -> Path:
    model = to_onnx(int_graph(np.random.default_rng(0), (4, 3), 4))
    change(model)
    path = tmp_path / "hostile.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def _opset(version: int):
    def change(model: onnx.ModelProto) -> None:
        for opset in model.opset_import:
            if opset.domain == "":
                opset.version = version

    return change


def _ir_version(model: onnx.ModelProto) -> None:
    model.ir_version = 99


def _deep_onnx_metadata(model: onnx.ModelProto) -> None:
    for prop in model.metadata_props:
        if prop.key == "latdeploy.metadata":
            prop.value = "[" * 100_000 + "]" * 100_000


def _list_onnx_metadata(model: onnx.ModelProto) -> None:
    for prop in model.metadata_props:
        if prop.key == "latdeploy.metadata":
            prop.value = "[1, 2]"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (_opset(999), "ai.onnx opset 999; this reader implements 1.."),
        (_ir_version, "ONNX field 'ir_version' is 99; this reader implements 3.."),
        (_deep_onnx_metadata, "'latdeploy.metadata': JSON nests 100000 levels deep, more than the limit of 32"),
        (_list_onnx_metadata, "'latdeploy.metadata' is not a JSON object"),
    ],
)
def test_onnx_versions_and_metadata_are_checked(monkeypatch, capsys, tmp_path, change, says):
    path = _onnx_file(tmp_path, change)
    _refused(monkeypatch, capsys, tmp_path, "inspect", str(path), says=("hostile.onnx", says))


def _nir_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    graph = Graph(
        (
            SpikeInput("input", (), neurons=6),
            Dense("d1", ("input",), weight=rng.standard_normal((5, 6)).astype(np.float32)),
            LIF("l1", ("d1",), bias=np.zeros(5, np.float32)),
        ),
        {"timesteps": 4},
    )
    path = tmp_path / "hostile.nir"
    write_nir(graph, path)
    return path


def test_nir_metadata_json_has_a_depth_limit(monkeypatch, capsys, tmp_path):
    path = _nir_file(tmp_path)
    with h5py.File(path, "r+") as handle:
        del handle["node/metadata/latdeploy.metadata"]
        handle["node/metadata/latdeploy.metadata"] = "[" * 100_000 + "]" * 100_000
    _refused(monkeypatch, capsys, tmp_path, "inspect", str(path), says=("hostile.nir", "nests 100000 levels deep"))


def test_nir_huge_declared_shape_is_refused_before_reading(monkeypatch, capsys, tmp_path):
    path = _nir_file(tmp_path)
    with h5py.File(path, "r+") as handle:
        del handle["node/nodes/d1/weight"]
        handle.create_dataset("node/nodes/d1/weight", shape=(100_000, 50_000), dtype="f4", chunks=True)
    assert path.stat().st_size < 1 << 20
    before = peak_rss_bytes()
    _refused(
        monkeypatch,
        capsys,
        tmp_path,
        "inspect",
        str(path),
        says=("hostile.nir", "'/node/nodes/d1/weight' declares shape [100000, 50000]", str(MAX_ELEMENTS)),
    )
    assert peak_rss_bytes() - before < MEMORY_GROWTH_LIMIT_BYTES


# --- HDF5 .net ---------------------------------------------------------------------------------


def _net_file(tmp_path: Path, weight_shape: tuple[int, int] = (10, 64)) -> Path:
    path = tmp_path / "hostile.net"
    with h5py.File(path, "w") as handle:
        handle["layer/0/type"] = np.bytes_("input")
        handle["layer/0/shape"] = np.array([64])
        handle["layer/1/type"] = np.bytes_("dense")
        handle["layer/1/shape"] = np.array([weight_shape[0]])
        handle.create_dataset("layer/1/weight", shape=weight_shape, dtype="f4", chunks=True)
        handle["simulation/tSample"] = 8
    return path


def test_net_huge_declared_weight_is_refused_before_reading(monkeypatch, capsys, tmp_path):
    path = _net_file(tmp_path, (30_000, 10_000))
    assert path.stat().st_size < 1 << 20
    before = peak_rss_bytes()
    _refused(
        monkeypatch,
        capsys,
        tmp_path,
        "inspect",
        str(path),
        says=("hostile.net", "'/layer/1/weight' declares shape [30000, 10000]", str(MAX_ELEMENTS), str(MAX_BYTES)),
    )
    assert peak_rss_bytes() - before < MEMORY_GROWTH_LIMIT_BYTES


def test_net_external_link_is_refused(monkeypatch, capsys, tmp_path):
    secret = tmp_path / "elsewhere.h5"
    with h5py.File(secret, "w") as handle:
        handle["weight"] = np.ones((10, 64), np.float32)
    path = _net_file(tmp_path)
    with h5py.File(path, "r+") as handle:
        del handle["layer/1/weight"]
        handle["layer/1/weight"] = h5py.ExternalLink(str(secret), "/weight")
    _refused(monkeypatch, capsys, tmp_path, "inspect", str(path), says=("hostile.net", "external link", "elsewhere.h5"))


def test_net_external_storage_is_refused(monkeypatch, capsys, tmp_path):
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.ones((10, 64), np.float32).tobytes())
    path = _net_file(tmp_path)
    with h5py.File(path, "r+") as handle:
        del handle["layer/1/weight"]
        handle.create_dataset("layer/1/weight", shape=(10, 64), dtype="f4", external=[(str(raw), 0, 10 * 64 * 4)])
    _refused(monkeypatch, capsys, tmp_path, "inspect", str(path), says=("hostile.net", "'/layer/1/weight'", "external"))


# --- verify bundles ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("manifest", "says"),
    [
        ("{not json", "manifest.json: not valid JSON"),
        ("[1, 2, 3]", "manifest.json: not a latdeploy manifest (a JSON list, not an object)"),
        ('{"model": [1]}', "fields 'model' and 'profile' must be JSON objects"),
        ('{"model": {"path": 3}}', "field 'model.path' must be a string"),
        ("[" * 100_000 + "]" * 100_000, "manifest.json: JSON nests 100000 levels deep"),
    ],
)
@pytest.mark.parametrize("command", ["verify", "energy"])
def test_malformed_manifests_are_one_line_user_errors(monkeypatch, capsys, tmp_path, manifest, says, command):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "manifest.json").write_text(manifest)
    _refused(monkeypatch, capsys, tmp_path, command, str(bundle), says=(says,))


def test_corrupt_graph_onnx_is_a_one_line_user_error(monkeypatch, capsys, tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "manifest.json").write_text(json.dumps({"model": {"path": str(SHIPPED_MODEL)}}))
    (bundle / "graph.onnx").write_bytes(b"\x08\x07garbage\xff\xff\xff")
    (bundle / "graph.int.onnx").write_bytes(b"")
    args = ("verify", str(bundle), "--model", str(SHIPPED_MODEL))
    _refused(monkeypatch, capsys, tmp_path, *args, says=("graph.onnx: not a readable ONNX file",))


def test_bundle_model_is_size_checked_before_hashing(monkeypatch, capsys, tmp_path):
    model = tmp_path / "huge.pt"
    with model.open("wb") as handle:
        handle.truncate(3 * 2**30)  # sparse: 3 GiB declared, nothing on disk
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "manifest.json").write_text(json.dumps({"model": {"path": str(model), "sha256": "0" * 64}}))
    says = ("huge.pt: file is 3221225472 bytes, more than the limit of 2147483648",)
    _refused(monkeypatch, capsys, tmp_path, "verify", str(bundle), says=says)


def test_hashing_streams_and_matches(tmp_path):
    import hashlib

    path = tmp_path / "data.bin"
    data = np.random.default_rng(0).bytes(3 << 20)
    path.write_bytes(data)
    assert sha256_of_file(path) == hashlib.sha256(data).hexdigest()
    with pytest.raises(ModelFormatError, match="more than the limit of 1000"):
        sha256_of_file(path, limit=1000)


# --- options -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["export", str(SHIPPED_MODEL), "--lava-timeout", "nan"], "'nan' is not a finite number"),
        (["export", str(SHIPPED_MODEL), "--hardware-timeout", "inf"], "'inf' is not a finite number"),
        (["export", str(SHIPPED_MODEL), "--lava-timeout", "-1"], "--lava-timeout"),
        (["verify", str(SHIPPED_MODEL), "--seed", "-1"], "Invalid value for '--seed'"),
        (["finetune", str(SHIPPED_MODEL), "--seed", "-1"], "Invalid value for '--seed'"),
        (["finetune", str(SHIPPED_MODEL), "--lr", "nan"], "'nan' is not a finite number"),
        (["run", str(SHIPPED_MODEL), "--input", "x.npy", "--memory-limit", "lots"], "'lots' is not a size"),
        (["run", str(SHIPPED_MODEL), "--input", "x.npy", "--memory-limit", "nanG"], "is not a size of at least 1M"),
    ],
)
def test_options_are_validated_by_the_parser(monkeypatch, capsys, tmp_path, args, says):
    monkeypatch.chdir(tmp_path)
    _refused(monkeypatch, capsys, tmp_path, *args, says=(says,))


# --- energy, JSON writer -----------------------------------------------------------------------


def test_energy_overflow_is_refused_and_json_is_always_valid():
    profile = load_profile("loihi2")
    energy = dict(profile.values["energy"], synaptic_op_j=1e308)
    hostile = type(profile)(profile.name, profile.description, profile.kind, profile.path, {"energy": energy}, {})
    counts = {
        "samples": 1,
        "timesteps": 4,
        "per_layer": [
            {
                "sops": 1e10,
                "sops_dense": 1e10,
                "neuron_updates": 1.0,
                "neuron_updates_active": 1.0,
                "spikes": 1.0,
                "macs_ann": 1,
                "adds_ann": 0,
            }
        ],
    }
    with pytest.raises(ProfileError, match="loihi2.yaml: the energy per inference overflows"):
        energy_from_counts(counts, hostile)
    with pytest.raises(ValueError, match="JSON compliant"):
        dump_json({"energy_j": float("inf")})


# --- Lava processes, memory --------------------------------------------------------------------


def test_lava_process_count_is_bounded_before_lava_starts(monkeypatch, capsys, tmp_path):
    deep = int_graph(np.random.default_rng(0), (4,) * 41, 4)
    path = tmp_path / "deep.onnx"
    path.write_bytes(to_onnx(deep).SerializeToString())
    spikes = tmp_path / "in.npy"
    np.save(spikes, np.zeros((4, 4), np.uint8))
    out = tmp_path / "out.npy"
    args = ("run", str(path), "--input", str(spikes), "--backend", "lava", "-o", str(out))
    before = {child.pid for child in multiprocessing.active_children()}
    _refused(monkeypatch, capsys, tmp_path, *args, says=(f"the limit is {MAX_LAVA_PROCESSES} per run",))
    assert {child.pid for child in multiprocessing.active_children()} == before


def test_memory_is_refused_up_front_with_the_figure_and_the_limit(monkeypatch, capsys, tmp_path):
    spikes = tmp_path / "long.npy"
    np.save(spikes, np.zeros((64, 2**18), np.uint8))
    out = tmp_path / "out.npy"
    args = ("run", str(SHIPPED_MODEL), "--input", str(spikes), "--backend", "fixed", "-o", str(out))
    _refused(
        monkeypatch,
        capsys,
        tmp_path,
        *args,
        "--memory-limit",
        "64M",
        says=("1 sample(s) x 262144 steps", "MiB of memory", "more than the limit of 64.0 MiB", "--memory-limit"),
    )


def test_simulation_in_chunks_equals_one_run():
    graph = int_graph(np.random.default_rng(1), (16, 12, 5), 6, vth=20)
    batch = (np.random.default_rng(2).random((9, 6, 16)) < 0.4).astype(np.uint8)
    one = simulation_bytes(graph, 1, 6, "fixed")
    kept = plan_chunks(graph, 9, 6, "fixed", 10**9).peak_bytes - 9 * one
    limit = kept + 3 * one + one // 2
    assert plan_chunks(graph, 9, 6, "fixed", limit).chunk == 3
    whole, chunked = simulate_fixed(graph, batch), simulate_in_chunks(graph, batch, "fixed", limit)
    assert whole.overflow == chunked.overflow
    for name, layer in whole.layers.items():
        for field in ("spikes", "v_pre", "u", "v"):
            np.testing.assert_array_equal(getattr(layer, field), getattr(chunked.layers[name], field))
    with pytest.raises(ResourceError, match="more than the limit of"):
        plan_chunks(graph, 9, 6, "fixed", kept + one // 2)
