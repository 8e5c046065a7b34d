"""Fuzz latdeploy.hw.profile.load_profile with mutated, truncated and hostile YAML."""

from __future__ import annotations

import math
import os

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from latdeploy.hw.profile import PROFILE_DIR, load_profile
from tests.hardening.fuzzing import MEMORY_GROWTH_LIMIT_BYTES, peak_rss_bytes, read_or_refuse

SHIPPED = (PROFILE_DIR / "loihi2.yaml").read_text()
DOCUMENT = yaml.safe_load(SHIPPED)

ODD_VALUES = st.one_of(
    st.sampled_from([0, -1, 2**31, 10**40, -(10**40), True, None, "", "eight", [], {}, math.nan, math.inf, -math.inf]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.lists(st.sampled_from(["mixed", "excitatory", "bogus", 1]), max_size=3),
)
HOSTILE_TEXTS = [
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
    "[" * 5000 + "]" * 5000,
    "lol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    + "".join(f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)),
    "name: x\n" + "#" * (300 * 1024),
    "name: !!python/object/apply:os.system ['touch /tmp/latdeploy-profile-pwned']\n",
    "name: 2001-13-45\n",
    "\x00\xff\xfe garbage",
    "",
    "- a\n- b\n",
    "name: x\ndescription: y\nkind: chip\narithmetic: 3\n",
]


def _leaves(document: dict) -> list[tuple[str, str]]:
    return [
        (section, name)
        for section, block in document.items()
        if isinstance(block, dict)
        for name, entry in block.items()
        if isinstance(entry, dict)
    ]


LEAVES = _leaves(DOCUMENT)


@st.composite
def mutated_document(draw) -> str:
    document = yaml.safe_load(SHIPPED)
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["value", "source", "delete", "top", "extra"]))
        section, name = draw(st.sampled_from(LEAVES))
        if not isinstance(document.get(section), dict) or not isinstance(document[section].get(name), dict):
            continue
        if action == "value":
            document[section][name]["value"] = draw(ODD_VALUES)
        elif action == "source":
            document[section][name]["source"] = draw(st.sampled_from([None, "", 3, ["x"]]))
        elif action == "delete":
            del document[section][name]
        elif action == "top":
            document[draw(st.sampled_from(["name", "description", "kind", section]))] = draw(ODD_VALUES)
        else:
            document[section][draw(st.sampled_from(["bogus", name]))] = draw(ODD_VALUES)
    return yaml.safe_dump(document, allow_unicode=True)


def _check_profile(path) -> None:
    profile = load_profile(str(path))
    for section, block in profile.values.items():
        for name, value in block.items():
            if isinstance(value, float):
                assert math.isfinite(value), f"{section}.{name} accepted a non-finite value {value}"


@settings(max_examples=60)
@given(text=mutated_document())
def test_fuzz_profile_fields(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("profile") / "fuzz.yaml"
    path.write_text(text)
    read_or_refuse(lambda: _check_profile(path), path)


@settings(max_examples=40)
@given(data=st.data())
def test_fuzz_profile_bytes(tmp_path_factory, data):
    raw = bytearray(SHIPPED.encode())
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        for _ in range(data.draw(st.integers(1, 12))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    path = tmp_path_factory.mktemp("profile") / "fuzz.yaml"
    path.write_bytes(bytes(raw))
    read_or_refuse(lambda: _check_profile(path), path)


def test_hostile_yaml_is_refused_without_running_code_or_blowing_up(tmp_path):
    for index, text in enumerate(HOSTILE_TEXTS):
        path = tmp_path / f"hostile{index}.yaml"
        path.write_bytes(text.encode("latin-1"))
        before = peak_rss_bytes()
        error = read_or_refuse(lambda path=path: _check_profile(path), path)
        assert error is not None, f"{text[:40]!r} was accepted"
        assert peak_rss_bytes() - before < MEMORY_GROWTH_LIMIT_BYTES
    assert not os.path.exists("/tmp/latdeploy-profile-pwned")


def test_unmutated_profile_loads(tmp_path):
    path = tmp_path / "copy.yaml"
    path.write_text(SHIPPED)
    _check_profile(path)


def test_non_finite_energy_is_refused(tmp_path):
    for value in (math.nan, math.inf, -math.inf):
        path = tmp_path / "nonfinite.yaml"
        document = yaml.safe_load(SHIPPED)
        document["energy"]["synaptic_op_j"] = {"value": value, "source": "test"}
        path.write_text(yaml.safe_dump(document))
        error = read_or_refuse(lambda path=path: load_profile(str(path)), path)
        assert error is not None and "energy.synaptic_op_j' must be a finite number" in str(error)
