"""Acceptance: a neuron kind written entirely here, added with no edit to any package file.

It follows ``docs/neurons.md`` ("How to add a neuron kind") literally, step by step: an
integrate-and-fire neuron that compares ``v >= vth << 6`` and **resets to a non-zero potential**
(``v <- reset_mant << 6``, float ``v <- reset_potential``). The module fixture registers its IR
nodes (``register_node``) and the kind (one ``NEURON_KINDS.add`` line) and removes them again,
so nothing leaks into other tests. The kind then converts from its torch module, quantizes,
runs in the fixed-point simulator (its numpy rule: it declares no numba mode) bit for bit as its
own ProcessModel does in real Lava (``Loihi2SimCfg(select_tag="fixed_pt")``, the model passed
through the run configuration's ``exception_proc_model_map``), and round-trips ONNX.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from latdeploy.frontend.torch_module import graph_from_module
from latdeploy.hw.profile import load_profile
from latdeploy.ir import NODE_TYPES, register_node
from latdeploy.ir.neurons_ext import FloatNeuron, IntNeuron
from latdeploy.ir.onnx_io import from_onnx, to_onnx
from latdeploy.neurons.base import Firing, FiringOps, LavaNeuron, NeuronKind
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.nn.neurons import CubaNeuron
from latdeploy.passes.quantize import quantize
from latdeploy.passes.quantize_neurons import threshold_snapping_quantizer
from latdeploy.sim.fixed import simulate_fixed
from latdeploy.sim.float_sim import simulate_float
from tests.ir.test_onnx_io import _assert_same_graph

pytest.importorskip("lava.magma.core.run_configs")

from lava.magma.core.decorator import implements, requires, tag  # noqa: E402
from lava.magma.core.resources import CPU  # noqa: E402
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol  # noqa: E402

from latdeploy.backends.lava import run_lava  # noqa: E402
from latdeploy.backends.lava.processes.neuron_models import AbstractLatencyNeuronModel  # noqa: E402
from latdeploy.backends.lava.processes.neurons import LatencyNeuronProcess  # noqa: E402

PROFILE = load_profile("loihi2")


# 1. the torch module: a CubaNeuron whose _fire is the kind's float rule
class ResetIF(CubaNeuron):
    """Integrate-and-fire with reset to a potential: ``s = v >= threshold``; ``v <- reset_potential`` where ``s``."""

    def __init__(self, size: int, reset_potential: float = 0.0, **options: Any) -> None:
        super().__init__(size, **options)
        self.reset_potential = float(reset_potential)

    def _fire(self, v: torch.Tensor, state: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        s = self._spike(v - self.threshold)
        return s, v, v * (1.0 - s) + s * self.reset_potential, None


# 2. the IR nodes (registered by the fixture)
@dataclass
class ResetIFNode(FloatNeuron):
    """Float node of :class:`ResetIF`: ``v <- reset_potential`` where ``v >= threshold``."""

    reset_potential: float = 0.0


@dataclass
class ResetIFInt(IntNeuron):
    """Integer node: ``s = v >= vth << 6``; ``v <- reset_mant << 6`` where ``s``."""

    reset_mant: int = 0


# 3. the firing rule, once, against the array namespace
def fire(ops: FiringOps, v: Any, theta: Any, state: None, node: ResetIFInt) -> Firing:
    spike = ops.reached(v, theta)
    return Firing(payload=spike, v_pre=v, v=v * (1 - spike) + spike * (node.reset_mant << 6))


# 4. the Lava Process and its fixed_pt ProcessModel
class ResetIFProcess(LatencyNeuronProcess):
    """CUBA neuron: spike where ``v >= vth << 6``, then ``v = reset_mant << 6``."""

    def __init__(self, *, reset_mant: int = 0, **kwargs: Any) -> None:
        super().__init__(reset_mant=int(reset_mant), **kwargs)


@implements(proc=ResetIFProcess, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyResetIFModelFixed(AbstractLatencyNeuronModel):
    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.reset_level = int(proc_params["reset_mant"]) << 6

    def fire(self) -> np.ndarray:
        spiked = self.v >= self.theta
        self.v[spiked] = self.reset_level
        return spiked.astype(np.int32)


# 5. the kind
KIND = NeuronKind(
    name="reset_if",
    torch_module=ResetIF,
    fields=("reset_potential",),
    float_node=ResetIFNode,
    int_node=ResetIFInt,
    comparison=">=",
    fire=fire,
    quantizer=threshold_snapping_quantizer(
        ResetIFInt, lambda neuron, scale: {"reset_mant": round(neuron.reset_potential * scale)}
    ),
    lava=LavaNeuron(
        process=f"{__name__}:ResetIFProcess",
        model=f"{__name__}:PyResetIFModelFixed",
        params=lambda node: {"reset_mant": node.reset_mant},
    ),
)


@pytest.fixture(scope="module", autouse=True)
def registered_kind():
    """Register the nodes and the kind (6. one registry line); remove them afterwards."""
    register_node(ResetIFNode)
    register_node(ResetIFInt)
    NEURON_KINDS.add(KIND.name, KIND)
    yield KIND
    NEURON_KINDS.remove(KIND.name)
    NODE_TYPES.remove(ResetIFInt.__name__)
    NODE_TYPES.remove(ResetIFNode.__name__)


@settings(max_examples=2, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    size=st.tuples(st.integers(3, 12), st.integers(2, 6)),
    timesteps=st.integers(4, 8),
    reset_potential=st.sampled_from([0.25, 0.5, -0.5]),
)
def test_a_kind_written_in_a_test_exports_and_runs_bit_exact_on_its_lava_model(seed, size, timesteps, reset_potential):
    torch.manual_seed(seed)
    fan_in, fan_out = size
    model = nn.Sequential(nn.Linear(fan_in, fan_out, bias=False), ResetIF(fan_out, reset_potential, threshold=0.5))
    with torch.no_grad():
        model[0].weight.uniform_(-0.2, 0.6)
    graph = graph_from_module(model, {"input_shape": [fan_in], "timesteps": timesteps})
    assert type(graph.neurons()[0]) is ResetIFNode

    rng = np.random.default_rng(seed)
    spikes = (rng.random((3, timesteps, fan_in)) < 0.5).astype(np.uint8)
    float_trace = simulate_float(graph, spikes)
    with torch.no_grad():
        expected, _ = model[1](model[0](torch.from_numpy(spikes.astype(np.float32)).transpose(0, 1)))
    assert np.array_equal(float_trace.layers[graph.neurons()[0].name].spikes, expected.transpose(0, 1).numpy())

    int_graph, _ = quantize(graph, PROFILE, spikes)
    neuron = int_graph.neurons()[0]
    assert type(neuron) is ResetIFInt and neuron.reset_mant == round(reset_potential * neuron.vth / 0.5)

    fixed = simulate_fixed(int_graph, spikes)
    lava = run_lava(int_graph, spikes, timeout=300)
    name = neuron.name
    assert fixed.layers[name].spikes.any()
    for key in ("spikes", "v_pre", "u", "v"):
        assert np.array_equal(getattr(lava.trace.layers[name], key), getattr(fixed.layers[name], key)), key

    for g in (graph, int_graph):
        _assert_same_graph(g, from_onnx(to_onnx(g)))
