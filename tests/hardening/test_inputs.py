"""latdeploy.data.spike_files.load_spike_array: examples of every refusal, then a fuzz test."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from latdeploy.data.spike_files import MAX_ELEMENTS, load_spike_array
from latdeploy.errors import InputFormatError, LatdeployError
from tests.hardening.fuzzing import MEMORY_GROWTH_LIMIT_BYTES, peak_rss_bytes, read_or_refuse


def _save(tmp_path, array, name="in.npy"):
    path = tmp_path / name
    np.save(path, array)
    return path


def test_binary_and_graded_spikes_load_with_their_values(tmp_path):
    rng = np.random.default_rng(0)
    binary = rng.integers(0, 2, (3, 8, 64)).astype(np.bool_)
    loaded = load_spike_array(_save(tmp_path, binary), expected_shape=(None, 8, 64), max_value=1)
    assert loaded.dtype == np.uint8 and np.array_equal(loaded, binary)
    graded = rng.integers(0, 1000, (2, 4, 5))
    loaded = load_spike_array(_save(tmp_path, graded), max_value=1000)
    assert loaded.dtype == np.int32 and np.array_equal(loaded, graded)
    as_float = load_spike_array(_save(tmp_path, binary.astype(np.float32)), max_value=1)
    assert np.array_equal(as_float, binary)


def _header_only(tmp_path, shape, dtype="<u1"):
    """A .npy file whose header claims ``shape`` but holds no data."""
    path = tmp_path / "huge.npy"
    with path.open("wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": dtype, "fortran_order": False, "shape": shape})
    return path


@pytest.mark.parametrize(
    ("make", "kwargs", "message"),
    [
        (lambda t: t / "absent.npy", {}, "no such input file"),
        (lambda t: _write(t, b"hello"), {}, "not a .npy file"),
        (lambda t: _save(t, np.array([{"a": 1}], dtype=object)), {}, "field 'dtype' is object"),
        (lambda t: _save(t, np.array(["1", "0"])), {}, "field 'dtype' is <U1"),
        (lambda t: _save(t, np.array([1 + 2j])), {}, "field 'dtype' is complex128"),
        (lambda t: _save(t, np.zeros((0, 3), np.uint8)), {}, "each >= 1"),
        (lambda t: _save(t, np.zeros((2, 3), np.uint8)), {"expected_shape": (None, 4)}, r"expected \(any, 4\)"),
        (lambda t: _save(t, np.zeros((2, 3), np.uint8)), {"expected_shape": (2, 3, 1)}, "expected"),
        (lambda t: _save(t, np.array([0.0, np.nan])), {}, "NaN or infinite"),
        (lambda t: _save(t, np.array([0.0, np.inf])), {}, "NaN or infinite"),
        (lambda t: _save(t, np.array([0.5, 1.0])), {}, "fractions"),
        (lambda t: _save(t, np.array([0, 2])), {"max_value": 1}, r"spans \[0, 2\], outside the spike range \[0, 1\]"),
        (lambda t: _save(t, np.array([-1, 0])), {}, "outside the spike range"),
        (lambda t: _header_only(t, (MAX_ELEMENTS + 1,)), {}, "more than the limit"),
        (lambda t: _header_only(t, (2**40, 2**40)), {}, "more than the limit"),
        (lambda t: _header_only(t, (2**28,), "<f8"), {}, "bytes, over"),
        (lambda t: _header_only(t, (100,)), {}, "truncated"),
        (lambda t: _write(t, np.lib.format.magic(1, 0) + b"\x10\x00{'descr': x}     \n"), {}, "malformed .npy header"),
        (lambda t: _write(t, np.lib.format.magic(9, 0) + b"\x00" * 20), {}, "format version"),
    ],
)
def test_bad_spike_files_are_refused_naming_file_and_field(tmp_path, make, kwargs, message):
    path = make(tmp_path)
    with pytest.raises(InputFormatError, match=message) as error:
        load_spike_array(path, **kwargs)
    assert path.name in str(error.value) and "\n" not in str(error.value)


def _write(tmp_path, data: bytes):
    path = tmp_path / "raw.npy"
    path.write_bytes(data)
    return path


def test_pickled_object_array_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"

    class CreatesFile:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.npy"
    with path.open("wb") as handle:
        np.lib.format.write_array(handle, np.array([CreatesFile()], dtype=object), allow_pickle=True)
    with pytest.raises(InputFormatError, match="evil.npy: field 'dtype' is object"):
        load_spike_array(path)
    assert not marker.exists()
    with path.open("rb") as handle:
        np.load(handle, allow_pickle=True)
    assert marker.exists()  # the crafted file does run code when unpickled: the refusal above is meaningful


VALID = np.random.default_rng(1).integers(0, 2, (2, 8, 16)).astype(np.uint8)


def _valid_bytes(tmp_path) -> bytes:
    return _save(tmp_path, VALID, "valid.npy").read_bytes()


@settings(max_examples=150)
@given(data=st.data())
def test_fuzz_spike_array_reader(tmp_path_factory, data):
    tmp_path = tmp_path_factory.mktemp("npy")
    raw = bytearray(_valid_bytes(tmp_path))
    mode = data.draw(st.sampled_from(["truncate", "mutate", "array", "header"]))
    if mode == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif mode == "mutate":
        for _ in range(data.draw(st.integers(1, 8))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    elif mode == "array":
        dtype = data.draw(st.sampled_from(["u1", "i2", "i8", "f4", "f8", "?", "u8"]))
        array = data.draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)))
        raw = bytearray(_save(tmp_path, array, "array.npy").read_bytes())
    else:
        shape = data.draw(st.lists(st.integers(-3, 2**62), min_size=0, max_size=7).map(tuple))
        descr = data.draw(st.sampled_from(["<u1", "<f8", "|O", "<U3", "V8", "<i4", "bogus"]))
        header = repr({"descr": descr, "fortran_order": data.draw(st.booleans()), "shape": shape}).encode()
        header += b" " * (63 - len(header) % 64) + b"\n"
        raw = bytearray(np.lib.format.magic(1, 0) + len(header).to_bytes(2, "little") + header)
        raw += data.draw(st.binary(max_size=64))
    path = tmp_path / "fuzz.npy"
    path.write_bytes(bytes(raw))
    expected_shape = data.draw(st.sampled_from([None, (None, 8, 16), (2, None, None)]))
    max_value = data.draw(st.sampled_from([1, 3, 255, 70000]))
    before = peak_rss_bytes()
    error = read_or_refuse(lambda: load_spike_array(path, expected_shape=expected_shape, max_value=max_value), path)
    assert error is None or isinstance(error, LatdeployError)
    assert peak_rss_bytes() - before < MEMORY_GROWTH_LIMIT_BYTES


def test_unpicklable_python_pickle_file_is_refused(tmp_path):
    path = tmp_path / "p.npy"
    path.write_bytes(pickle.dumps([1, 0, 1]))
    with pytest.raises(InputFormatError, match="not a .npy file"):
        load_spike_array(path)
