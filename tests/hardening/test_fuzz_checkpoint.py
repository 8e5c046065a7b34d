"""Fuzz latdeploy.nn.checkpoint.load: truncated, mutated and structurally wrong model files."""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import latdeploy
from latdeploy.nn import build_model
from tests.hardening.fuzzing import MEMORY_GROWTH_LIMIT_BYTES, peak_rss_bytes, read_or_refuse

METADATA = {"input_shape": [16], "timesteps": 4, "encoder": "latency", "dataset": "sklearn-digits", "classes": 4}
CONFIG = {"arch": "mlp", "sizes": [16, 8, 4], "timesteps": 4, "threshold": 1.0}

ODD_NUMBERS = st.sampled_from(
    [0, -1, 1, 2**31, 2**62, -(2**62), 10**12, True, math.nan, math.inf, -math.inf, 0.0, -0.5]
)


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


DEEP = st.integers(33, 500).map(lambda depth: _nested(depth))
ODD_VALUES = st.one_of(
    ODD_NUMBERS,
    DEEP,
    st.none(),
    st.text(max_size=8),
    st.lists(ODD_NUMBERS, max_size=4),
    st.dictionaries(st.text(max_size=4), ODD_NUMBERS, max_size=2),
)
ODD_TENSORS = st.one_of(
    st.tuples(st.integers(0, 40), st.integers(0, 40)).map(lambda s: torch.zeros(s)),
    st.sampled_from([math.nan, math.inf, -math.inf]).map(lambda v: torch.full((8, 16), v)),
    st.sampled_from([torch.int64, torch.uint8, torch.bool, torch.float16]).map(lambda d: torch.zeros((8, 16), dtype=d)),
    st.just(torch.zeros(())),
    st.sampled_from([torch.complex64, torch.complex128]).map(lambda d: torch.zeros((8, 16), dtype=d)),
    st.just(torch.zeros((8, 16)).to_sparse()),
)


def _payload() -> dict:
    torch.manual_seed(0)
    model = build_model(CONFIG)
    return {
        "format": "latdeploy-model",
        "format_version": 1,
        "config": dict(CONFIG),
        "state_dict": {k: v.clone() for k, v in model.state_dict().items()},
        "metadata": dict(METADATA),
    }


@st.composite
def structural_mutation(draw) -> dict:
    payload = _payload()
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["top", "config", "metadata", "state_dict", "delete"]))
        if where == "top":
            payload[draw(st.sampled_from(["format", "format_version", "config", "state_dict", "metadata"]))] = draw(
                ODD_VALUES
            )
        elif where == "delete":
            section = draw(st.sampled_from(["top", "config", "metadata", "state_dict"]))
            target = payload if section == "top" else payload.get(section)
            if isinstance(target, dict) and target:
                target.pop(draw(st.sampled_from(sorted(target, key=str))))
        elif where == "state_dict" and isinstance(payload.get("state_dict"), dict):
            key = draw(st.sampled_from(["linears.0.weight", "linears.1.weight", "neurons.0.bias", "extra"]))
            payload["state_dict"][key] = draw(st.one_of(ODD_TENSORS, ODD_VALUES))
        elif isinstance(payload.get(where), dict):
            keys = sorted(CONFIG) + ["neuron", "neuron_options", "encoder"] if where == "config" else sorted(METADATA)
            value = draw(
                st.one_of(
                    ODD_VALUES,
                    st.lists(st.integers(-2, 2**40), max_size=5),
                    st.sampled_from(["mlp", "convnet", "vgg11", "ttfs", "multi_threshold", "stc"]),
                )
            )
            payload[where][draw(st.sampled_from(keys))] = value
    return payload


@settings(max_examples=60)
@given(payload=structural_mutation())
def test_fuzz_checkpoint_structure(tmp_path_factory, payload):
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    torch.save(payload, path)
    before = peak_rss_bytes()
    read_or_refuse(lambda: latdeploy.load(path), path)
    assert peak_rss_bytes() - before < MEMORY_GROWTH_LIMIT_BYTES


@settings(max_examples=80)
@given(data=st.data())
def test_fuzz_checkpoint_bytes(tmp_path_factory, data):
    directory = tmp_path_factory.mktemp("ckpt")
    path = directory / "model.pt"
    torch.save(_payload(), path)
    raw = bytearray(path.read_bytes())
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        for _ in range(data.draw(st.integers(1, 16))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    path.write_bytes(bytes(raw))
    before = peak_rss_bytes()
    read_or_refuse(lambda: latdeploy.load(path), path)
    assert peak_rss_bytes() - before < MEMORY_GROWTH_LIMIT_BYTES


def test_unmutated_payload_loads():
    """The fuzzers start from a valid file (else they would only test the first check)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "model.pt"
        torch.save(_payload(), path)
        model, metadata = latdeploy.load(path)
    assert metadata["classes"] == 4 and sum(p.numel() for p in model.parameters()) == 16 * 8 + 8 * 4 + 8 + 4
