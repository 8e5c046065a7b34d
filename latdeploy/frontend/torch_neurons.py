"""Torch converters of latdeploy's extra neurons (registered with :mod:`latdeploy.frontend.torch_module`).

``TTFSNeuron`` -> :class:`~latdeploy.ir.TTFS`; ``MultiThresholdLIF`` ->
:class:`~latdeploy.ir.MultiThresholdLIF` (``levels``, ``reset``). ``LIF`` with
``reset="subtract"`` is converted by ``convert_lif`` to :class:`~latdeploy.ir.SoftResetLIF`.
"""

from __future__ import annotations

from latdeploy.frontend.torch_module import ConversionState, neuron_node, register_converter
from latdeploy.ir.neurons_ext import TTFS, MultiThresholdLIF
from latdeploy.nn import neurons


@register_converter(neurons.TTFSNeuron)
def convert_ttfs(module: neurons.TTFSNeuron, state: ConversionState, path: str) -> None:
    """``TTFSNeuron`` -> :class:`~latdeploy.ir.TTFS` (flattened; bias plus any pending bias).

    Raises:
        UnsupportedLayerError: as :func:`~latdeploy.frontend.torch_module.neuron_node`.
    """
    state.add(neuron_node(TTFS, module, state, path), state.shape)


@register_converter(neurons.MultiThresholdLIF)
def convert_multi_threshold(module: neurons.MultiThresholdLIF, state: ConversionState, path: str) -> None:
    """``MultiThresholdLIF`` -> :class:`~latdeploy.ir.MultiThresholdLIF` with its ``levels`` and ``reset``.

    Raises:
        UnsupportedLayerError: as :func:`~latdeploy.frontend.torch_module.neuron_node`.
    """
    node = neuron_node(MultiThresholdLIF, module, state, path, levels=module.levels, reset=module.reset)
    state.add(node, state.shape)
