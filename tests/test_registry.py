"""The one registry type: registration, lookup and the uniform failed-lookup error."""

from __future__ import annotations

import pytest

from latdeploy.errors import ModelFormatError, UnsupportedLayerError
from latdeploy.registry import Registry


class Alpha:
    pass


class Beta:
    pass


def test_register_by_decorator_and_by_call_then_look_up():
    kernels: Registry[type, object] = Registry("float kernel")

    @kernels.register(Alpha)
    def alpha_kernel():
        return "alpha"

    kernels.add(Beta, len)
    assert kernels.get(Alpha) is alpha_kernel and kernels.get(Beta) is len
    assert Alpha in kernels and len(kernels) == 2 and kernels.names() == ["Alpha", "Beta"]
    assert kernels.keys() == [Alpha, Beta] and kernels.find(int) is None


def test_a_failed_lookup_names_role_key_and_the_supported_keys():
    kernels: Registry[type, object] = Registry("fixed-point kernel", ModelFormatError, hint="quantize first")
    kernels.add(Beta, len)
    kernels.add(Alpha, len)
    with pytest.raises(ModelFormatError, match=r"^node 'x': no fixed-point kernel for int; supported: Alpha, Beta; "):
        kernels.get(int, subject="node 'x'")
    with pytest.raises(UnsupportedLayerError, match="no backend for 'nope'; supported: none"):
        Registry("backend").get("'nope'")


def test_remove_unregisters_and_returns_the_entry():
    kernels: Registry[type, object] = Registry("float kernel")
    kernels.add(Alpha, len)
    assert kernels.remove(Alpha) is len and Alpha not in kernels and len(kernels) == 0
    with pytest.raises(UnsupportedLayerError, match="no float kernel for Alpha; supported: none"):
        kernels.remove(Alpha)
