"""The shipped xylo-audio2 profile: Xylo's arithmetic, every number with a source, energies left unpriced."""

from __future__ import annotations

import dataclasses

import pytest

from latdeploy.hw.arithmetic import XYLO, Arithmetic
from latdeploy.hw.profile import load_profile, shipped_profiles


def test_the_profile_ships_and_describes_xylos_arithmetic() -> None:
    assert "xylo-audio2" in shipped_profiles()
    profile = load_profile("xylo-audio2")
    assert profile.arithmetic == dataclasses.replace(XYLO, name="xylo-audio2")
    assert isinstance(profile.arithmetic, Arithmetic) and profile.arithmetic.comparison == ">="
    assert (profile.arithmetic.v_min, profile.arithmetic.v_max, profile.arithmetic.decay_unity) == (-32768, 32767, 16)


def test_every_value_has_a_source_and_missing_energies_say_why() -> None:
    profile = load_profile("xylo-audio2")
    for section, values in profile.values.items():
        for name, value in values.items():
            source = profile.sources[section][name]
            assert source.strip(), f"{section}.{name}"
            if value is None:
                assert "not" in source, f"{section}.{name}: a null needs its reason"
    assert profile["energy.synaptic_op_j"] is None and profile["resources.fan_in_per_core"] == 16


@pytest.mark.parametrize("profile_name", ["loihi1", "loihi2"])
def test_loihi_profiles_keep_loihis_arithmetic(profile_name: str) -> None:
    assert load_profile(profile_name).arithmetic.decay_rule == "multiply"
