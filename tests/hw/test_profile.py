from __future__ import annotations

import pytest
import yaml

from latdeploy.errors import ProfileError
from latdeploy.hw.profile import PROFILE_DIR, SCHEMA, load_profile


def test_loihi2_profile_loads_with_a_source_for_every_number():
    profile = load_profile("loihi2")
    assert profile["arithmetic.state_bits"] == 24 and profile["energy.synaptic_op_j"] == pytest.approx(23.6e-12)
    for section, fields in SCHEMA.items():
        assert set(profile.sources[section]) == set(fields)
        assert all(source.strip() for source in profile.sources[section].values())


def _write(tmp_path, mutate):
    document = yaml.safe_load((PROFILE_DIR / "loihi2.yaml").read_text())
    mutate(document)
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["resources"].pop("cores_per_chip"), "resources.cores_per_chip' is missing"),
        (lambda d: d["energy"]["spike_j"].update(value="a lot"), "energy.spike_j' must be"),
        (lambda d: d["arithmetic"]["state_bits"].pop("source"), "arithmetic.state_bits' has no 'source'"),
        (lambda d: d["resources"]["neurons_per_core"].update(value=-1), "must be >= 0"),
        (lambda d: d["energy"].update(bogus={"value": 1, "source": "x"}), "unknown field"),
    ],
)
def test_schema_errors_name_the_file_and_field(tmp_path, mutate, message):
    path = _write(tmp_path, mutate)
    with pytest.raises(ProfileError, match=message) as error:
        load_profile(path)
    assert "custom.yaml" in str(error.value)


def test_unknown_profile_name_lists_shipped_ones():
    with pytest.raises(ProfileError, match="loihi2"):
        load_profile("loihi9")
