"""Hardware profiles: shipped files load with a source for every value; schema errors name file and field."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from latdeploy.errors import LatdeployError, ProfileError
from latdeploy.hw.profile import PROFILE_DIR, load_profile, shipped_profiles
from latdeploy.hw.profile_schema import FIELDS, NULLABLE, SCHEMA, SECTIONS_OF_KIND


def test_shipped_profiles_are_the_four_of_the_issue_and_xylo():
    assert shipped_profiles() == ["cmos45nm", "loihi1", "loihi2", "spinnaker2", "xylo-audio2"]


@pytest.mark.parametrize("name", ["cmos45nm", "loihi1", "loihi2", "spinnaker2", "xylo-audio2"])
def test_every_shipped_profile_has_every_field_of_its_kind_with_a_source(name):
    profile = load_profile(name)
    assert set(profile.values) == set(SECTIONS_OF_KIND[profile.kind])
    for section in profile.values:
        assert set(profile.values[section]) == set(SCHEMA[section]) == set(profile.sources[section])
        assert all(source.strip() for source in profile.sources[section].values())
        nulls = {(section, n) for n, v in profile.values[section].items() if v is None}
        assert nulls <= NULLABLE


def test_the_figures_the_issue_names():
    loihi2, loihi1, cmos = load_profile("loihi2"), load_profile("loihi1"), load_profile("cmos45nm")
    assert loihi2["arithmetic.state_bits"] == 24 and loihi2["energy.synaptic_op_j"] == pytest.approx(23.6e-12)
    assert loihi2["resources.neurons_per_core"] == 8192 and loihi1["resources.neurons_per_core"] == 1024
    assert loihi2["arithmetic.graded_spike_bits"] > 0 and loihi1["arithmetic.graded_spike_bits"] == 0
    assert loihi2["arithmetic.threshold_comparison"] == "greater"
    assert cmos["energy.synaptic_op_j"] == pytest.approx(0.9e-12) and cmos["energy.ann_mac_j"] == pytest.approx(4.6e-12)
    assert load_profile("spinnaker2")["energy.synaptic_op_j"] == pytest.approx(450e-12)


def test_an_energy_only_profile_refuses_arithmetic_questions_with_a_profile_error():
    with pytest.raises(ProfileError, match="energy-only.*arithmetic.weight_bits"):
        load_profile("cmos45nm")["arithmetic.weight_bits"]
    assert issubclass(ProfileError, LatdeployError)


@pytest.mark.parametrize("name", ["cmos45nm", "loihi1", "loihi2", "spinnaker2", "xylo-audio2"])
def test_to_yaml_round_trips_exactly(tmp_path, name):
    profile = load_profile(name)
    path = tmp_path / f"{name}-copy.yaml"
    path.write_text(profile.to_yaml())
    again = load_profile(str(path))
    assert (again.name, again.kind, again.description) == (profile.name, profile.kind, profile.description)
    assert again.values == profile.values and again.sources == profile.sources


def _write(tmp_path, mutate, base="loihi2"):
    document = yaml.safe_load((PROFILE_DIR / f"{base}.yaml").read_text())
    mutate(document)
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["resources"].pop("cores_per_chip"), "resources.cores_per_chip' is missing"),
        (lambda d: d["energy"]["spike_j"].update(value="a lot"), "energy.spike_j' must be a number"),
        (lambda d: d["arithmetic"]["state_bits"].pop("source"), "arithmetic.state_bits' has no 'source'"),
        (lambda d: d["arithmetic"]["state_bits"].update(source="  "), "arithmetic.state_bits' has no 'source'"),
        (
            lambda d: d["resources"]["neurons_per_core"].update(value=-1),
            "neurons_per_core' must be >= 1, got -1",
        ),
        (lambda d: d["resources"]["cores_per_chip"].update(value=0), "resources.cores_per_chip' must be >= 1"),
        (lambda d: d["resources"]["fan_in_per_core"].update(value=4096.5), "fan_in_per_core' must be an integer"),
        (lambda d: d["resources"]["conv_weight_sharing"].update(value=1), "conv_weight_sharing' must be true or"),
        (lambda d: d["resources"]["conv_population_axon_slots"].update(value=-2), "axon_slots' must be >= 0"),
        (lambda d: d["resources"]["conv_population_axon_slots"].update(value=True), "axon_slots' must be an integer"),
        (lambda d: d["arithmetic"]["weight_bits"].update(value=True), "weight_bits' must be an integer"),
        (lambda d: d["arithmetic"]["weight_bits"].update(value=9), "weight_bits' must be <= 8"),
        (lambda d: d["arithmetic"]["weight_exp_min"].update(value=9), "weight_exp_min' \\(9\\) exceeds"),
        (lambda d: d["arithmetic"]["sign_modes"].update(value=["both"]), "sign_modes' must be a non-empty list"),
        (lambda d: d["arithmetic"]["threshold_comparison"].update(value=">"), "threshold_comparison' must be one"),
        (lambda d: d["arithmetic"]["decay_bits"].update(value=None), "decay_bits' must have a value"),
        (lambda d: d["energy"]["spike_j"].update(unit="J"), "energy.spike_j' has unknown key"),
        (lambda d: d["energy"].update(bogus={"value": 1, "source": "x"}), "unknown field\\(s\\) \\['bogus'\\]"),
        (lambda d: d.pop("arithmetic"), "section 'arithmetic' is missing"),
        (lambda d: d.update(kind="fpga"), "field 'kind' must be one of"),
        (lambda d: d.update(name=""), "field 'name' must be a non-empty string"),
        (lambda d: d.update(extras={}), "unknown top-level field"),
    ],
)
def test_schema_errors_name_the_file_and_field(tmp_path, mutate, message):
    path = _write(tmp_path, mutate)
    with pytest.raises(ProfileError, match=message) as error:
        load_profile(path)
    assert "custom.yaml" in str(error.value) and "\n" not in str(error.value)


def test_energy_only_profile_may_not_carry_chip_sections(tmp_path):
    path = _write(tmp_path, lambda d: d.update(resources={}), base="cmos45nm")
    with pytest.raises(ProfileError, match="unknown top-level field.*resources.*energy-only"):
        load_profile(path)


def test_malformed_yaml_and_missing_files_are_profile_errors(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ProfileError, match="broken.yaml: not valid YAML"):
        load_profile(str(broken))
    with pytest.raises(ProfileError, match="no such profile file"):
        load_profile(str(tmp_path / "absent.yaml"))


def test_unknown_profile_name_lists_shipped_ones():
    with pytest.raises(ProfileError, match="loihi2"):
        load_profile("loihi9")


def test_every_problem_is_reported_at_once_in_one_line(tmp_path):
    def mutate(document):
        document["energy"]["spike_j"]["value"] = -1.0
        document["resources"]["cores_per_chip"]["value"] = 0
        document["arithmetic"].pop("decay_bits")

    with pytest.raises(ProfileError) as error:
        load_profile(_write(tmp_path, mutate))
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'custom.yaml'}: 3 problems: ") and "\n" not in message
    assert "field 'energy.spike_j' must be >= 0.0, got -1.0" in message
    assert "field 'resources.cores_per_chip' must be >= 1, got 0" in message
    assert "field 'arithmetic.decay_bits' is missing" in message


def test_a_misspelt_key_is_named_with_the_key_it_resembles(tmp_path):
    def mutate(document):
        document["energy"]["spike_jj"] = document["energy"].pop("spike_j")
        document["descripton"] = document.pop("description")
        document["arithmetic"]["state_bits"]["sorce"] = document["arithmetic"]["state_bits"].pop("source")

    with pytest.raises(ProfileError) as error:
        load_profile(_write(tmp_path, mutate))
    message = str(error.value)
    assert "unknown field(s) ['spike_jj'] in section 'energy' (did you mean 'spike_j'?)" in message
    assert "field 'energy.spike_j' is missing" in message
    assert "unknown top-level field 'descripton' for a chip profile (did you mean 'description'?)" in message
    assert (
        "field 'arithmetic.state_bits' has unknown key 'sorce'; only 'value' and 'source' (did you mean 'source'?)"
        in (message)
    )


def test_a_long_list_of_problems_is_cut_and_counted(tmp_path):
    def mutate(document):
        for entry in document["resources"].values():
            entry["value"] = "many"
        for entry in document["arithmetic"].values():
            entry["value"] = "many"

    with pytest.raises(ProfileError, match=r"\(and \d+ more problems\)$") as error:
        load_profile(_write(tmp_path, mutate))
    assert str(error.value).startswith(f"{tmp_path / 'custom.yaml'}: 23 problems: field 'arithmetic.weight_bits' must")
    assert len(str(error.value)) < 600


def test_the_schema_table_and_the_loaded_sections_agree():
    assert SCHEMA == {section: tuple(fields) for section, fields in FIELDS.items()}
    assert set(SECTIONS_OF_KIND["chip"]) == set(FIELDS)
    per_operation = {("energy", name) for name in ("synaptic_op_j", "neuron_update_active_j", "neuron_update_idle_j")}
    assert (
        NULLABLE == {("energy", "static_power_w"), ("energy", "time_per_step_s"), ("energy", "spike_j")} | per_operation
    )


@pytest.mark.parametrize("name", ["cmos45nm", "loihi1", "loihi2", "spinnaker2", "xylo-audio2"])
def test_shipped_profiles_validate_against_the_published_json_schema(name):
    schema = json.loads((PROFILE_DIR.parent.parent.parent / "docs" / "profile.schema.json").read_text())
    document = yaml.safe_load((PROFILE_DIR / f"{name}.yaml").read_text())
    jsonschema.validate(document, schema)
    document["resources" if "resources" in document else "energy"]["spike_jj"] = {"value": 1, "source": "x"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)
