"""Chip arithmetic from the profile: implemented arithmetics load, others are refused naming the field."""

from __future__ import annotations

import pytest
import yaml

from latdeploy.errors import ProfileError
from latdeploy.hw.arithmetic import LOIHI, Arithmetic
from latdeploy.hw.profile import PROFILE_DIR, load_profile


def _write(tmp_path, field, value):
    document = yaml.safe_load((PROFILE_DIR / "loihi2.yaml").read_text())
    document["arithmetic"][field]["value"] = value
    path = tmp_path / "mychip.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


@pytest.mark.parametrize("name", ["loihi1", "loihi2"])
def test_shipped_chip_profiles_describe_lavas_arithmetic(name):
    arithmetic = load_profile(name).arithmetic
    assert isinstance(arithmetic, Arithmetic)
    assert (arithmetic.state_limit, arithmetic.v_max, arithmetic.decay_unity) == (1 << 23, (1 << 23) - 1, 4096)
    assert (arithmetic.theta(3), arithmetic.vth_max) == (3 << 6, (1 << 17) - 1)
    assert arithmetic.comparison == ">"  # Lava's LIF spikes on v > theta
    assert arithmetic == Arithmetic(**{**LOIHI.__dict__, "name": name})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("threshold_comparison", "greater_equal"),
        ("state_bits", 16),
        ("u_state_bits", 16),
        ("v_state_bits", 32),
        ("decay_bits", 16),
        ("threshold_shift", 0),
        ("activation_shift", 8),
        ("weight_exp_max", 9),
        ("weight_exp_min", -9),
        ("threshold_mantissa_bits", 18),
        ("bias_mantissa_bits", 14),
        ("sign_modes", ["mixed"]),
    ],
)
def test_a_profile_whose_arithmetic_the_code_does_not_implement_is_refused_naming_the_field(tmp_path, field, value):
    path = _write(tmp_path, field, value)
    with pytest.raises(ProfileError, match=rf"mychip\.yaml: field 'arithmetic\.{field}'"):
        load_profile(path)


@pytest.mark.parametrize(
    ("field", "value"), [("weight_bits", 4), ("threshold_mantissa_bits", 12), ("weight_exp_min", -4)]
)
def test_a_profile_may_narrow_the_ranges_the_quantizer_uses(tmp_path, field, value):
    assert getattr(load_profile(_write(tmp_path, field, value)).arithmetic, field) == value


def test_an_energy_only_profile_has_no_arithmetic():
    with pytest.raises(ProfileError, match="energy-only"):
        _ = load_profile("cmos45nm").arithmetic
