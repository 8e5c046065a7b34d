"""What a neuron kind declares: one :class:`NeuronKind` ties a torch module, two IR nodes and every rule.

All of latdeploy's neurons are current based (CUBA) and share Loihi's sub-threshold update
(decays rounding toward zero, the 24-bit wrap of ``u``, the saturation of ``v``,
``a << 6``), written once per array namespace: numpy (:func:`latdeploy.sim.fixed_neurons.cuba_step`),
torch (:func:`latdeploy.nn.fake_quant_int.cuba_step`) and numba
(:func:`latdeploy.sim.kernels.cuba_step`), all reading :data:`latdeploy.hw.arithmetic.LOIHI`.
This follows Lava's own split: ``AbstractPyLifModelFixed.subthr_dynamics`` once,
``spiking_activation``/``reset_voltage`` per kind.

A kind differs in its **firing rule** only: the threshold test and the reset, written once as
a :data:`FireRule` against a :class:`FiringOps` namespace. :class:`NumpyOps` runs it on integer
(or, in the divergence analysis, float) membranes; the torch namespace
(:class:`latdeploy.nn.fake_quant_int.TorchOps`) runs it with surrogate gradients for
fake-quant training. The numba kernel selects the same rule by the ``mode`` the kind declares
(optional: a kind without one runs its numpy rule in the fixed-point simulator).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from torch import nn

    from latdeploy.hw.profile import Profile
    from latdeploy.ir.nodes import Node

COMPARISONS = (">", ">=")


class FiringOps:
    """The array namespace a firing rule is written against.

    ``comparison`` is the threshold test (``">"``: ``v > theta``; ``">="``: ``v >= theta``).
    """

    def __init__(self, comparison: str) -> None:
        if comparison not in COMPARISONS:
            raise ValueError(f"comparison must be one of {COMPARISONS}, got {comparison!r}")
        self.comparison = comparison

    def reached(self, v: Any, theta: Any) -> Any:
        """Return 1 where ``v`` crosses ``theta`` under :attr:`comparison`, else 0, as ``v``'s type."""
        raise NotImplementedError

    def ones_like(self, v: Any) -> Any:
        """Return ones shaped and typed as ``v``."""
        raise NotImplementedError


class NumpyOps(FiringOps):
    """numpy: exact comparisons (the fixed-point reference, the divergence analysis, Lava read-back)."""

    def reached(self, v: np.ndarray, theta: Any) -> np.ndarray:
        """Return ``v > theta`` (or ``v >= theta``) as ``v``'s dtype."""
        crossed = v > theta if self.comparison == ">" else v >= theta
        return crossed.astype(v.dtype)

    def ones_like(self, v: np.ndarray) -> np.ndarray:
        """Return ``np.ones_like(v)``."""
        return np.ones_like(v)


@dataclass(frozen=True)
class Firing:
    """One step of a firing rule: the ``payload`` (0/1, or graded levels), the membrane ``v_pre``
    before the reset, ``v`` after it, the kind's next extra ``state`` and ``counted``: where an
    overflow of ``v`` this step counts (``None``: everywhere)."""

    payload: Any
    v_pre: Any
    v: Any
    state: Any = None
    counted: Any = None


FireRule = Callable[[FiringOps, Any, Any, Any, "Node"], Firing]
"""``fire(ops, v, theta, state, node) -> Firing``: the threshold test and reset of one step on the
membrane ``v`` after the sub-threshold update (``theta``: the threshold in ``v``'s units)."""
NeuronQuantizer = Callable[["Node", "Node", "Profile", float, int], tuple["Node", "Node", dict[str, Any]]]
"""``quantizer(synapse, neuron, profile, clip_quantile, weight_bits) -> (synapse_int, neuron_int, facts)``."""


def no_state(ops: FiringOps, like: Any) -> None:
    """The extra state of a kind that has none."""
    return None


def no_params(node: Node) -> dict[str, Any]:
    """The extra Process parameters of a kind that needs none."""
    return {}


def import_object(path: str) -> Any:
    """Return the object named by ``"package.module:Name"`` (importing the module).

    Raises:
        ImportError, AttributeError: if the module or the name does not exist.
    """
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class LavaNeuron:
    """A kind's Lava Process and, optionally, the ProcessModel to run it with (``"module:Name"``
    paths, imported only when a Lava network is built: Lava is an optional dependency).

    ``model`` goes into the run configuration's ``exception_proc_model_map``, so a Process whose
    folder holds no model (one defined in a test) runs too; ``None`` lets Lava choose
    (``select_tag="fixed_pt"``). ``params(node)`` gives the Process's extra keyword arguments.
    """

    process: str
    model: str | None = None
    params: Callable[[Node], dict[str, Any]] = no_params


@dataclass(frozen=True)
class NeuronKind:
    """Everything latdeploy knows about one neuron kind.

    Attributes:
        name: the kind's key in :data:`latdeploy.neurons.registry.NEURON_KINDS`.
        torch_module: the torch module class (a subclass of it matches too) the kind converts from;
            ``module_options`` are the constructor options that select this kind among those
            sharing the class (e.g. ``{"reset": "subtract"}``) and are passed when the float
            simulator builds the module back from a float node.
        fields: names of the extra attributes copied torch module -> float node -> integer node
            (e.g. ``("levels", "reset")``).
        float_node, int_node: the IR node classes (registered with ``register_node``).
        comparison: the integer threshold test, ``">"`` (Lava's stock LIF) or ``">="``.
        fire: the firing rule (:data:`FireRule`); ``start(ops, like)`` its initial extra state.
        quantizer: the layer quantizer of the float node (:data:`NeuronQuantizer`).
        lava: the Lava Process/ProcessModel (:class:`LavaNeuron`), or a string saying why the
            kind has none (the Lava backend then refuses graphs holding it, with that reason).
        mode: ``mode(node) -> (mode, levels)`` of the numba kernel
            (:func:`latdeploy.sim.kernels.cuba_neuron_kernel`), or ``None``: the fixed-point
            simulator runs the numpy rule.
        single_spike: at most one spike per sample (its first-spike times are reported per layer).
        reset: ``"zero"`` or ``"subtract"``; ``None``: the node's own ``reset`` field says.
        replay_v_pre: ``v`` before the reset, rebuilt from Lava's ``u`` and ``v``, still needs the
            rule replayed over it (state Lava does not read back, e.g. TTFS's ``fired``).
    """

    name: str
    torch_module: type[nn.Module]
    float_node: type[Node]
    int_node: type[Node]
    comparison: str
    fire: FireRule
    quantizer: NeuronQuantizer
    lava: LavaNeuron | str
    mode: Callable[[Node], tuple[int, int]] | None = None
    start: Callable[[FiringOps, Any], Any] = no_state
    module_options: dict[str, Any] = field(default_factory=dict)
    fields: tuple[str, ...] = ()
    single_spike: bool = False
    reset: str | None = "zero"
    replay_v_pre: bool = False

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(f"neuron kind {self.name!r}: comparison must be one of {COMPARISONS}")

    def accepts(self, module: nn.Module) -> bool:
        """Return whether torch ``module`` is of this kind (its class, and ``module_options`` as set)."""
        return isinstance(module, self.torch_module) and all(
            getattr(module, option) == value for option, value in self.module_options.items()
        )

    def firing_vth(self, vth: int) -> int:
        """Return the smallest ``v >> 6`` that fires at threshold ``vth`` (``vth + 1`` for ``>``)."""
        return vth + 1 if self.comparison == ">" else vth

    def resets_to_zero(self, node: Node) -> bool:
        """Return whether a spike of ``node`` sets ``v`` to zero (else it subtracts the threshold)."""
        return (self.reset or getattr(node, "reset", "zero")) == "zero"
