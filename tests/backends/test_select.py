"""The backend a profile chooses: each shipped profile's arithmetic names the backend that computes it."""

from __future__ import annotations

import pytest

from latdeploy.backends.select import DEFAULT_BACKEND, backend_for_profile, resolve_backend
from latdeploy.hw.profile import load_profile


@pytest.mark.parametrize(
    ("profile", "backend"),
    [("loihi2", "lava"), ("loihi1", "lava"), ("xylo-audio2", "xylo"), ("cmos45nm", DEFAULT_BACKEND)],
)
def test_the_profile_chooses_the_backend_that_computes_its_arithmetic(profile, backend):
    assert backend_for_profile(load_profile(profile)).name == backend


def test_a_named_backend_wins_over_the_profile():
    assert resolve_backend("lava", load_profile("xylo-audio2")).name == "lava"
    assert resolve_backend(None, load_profile("xylo-audio2")).name == "xylo"
