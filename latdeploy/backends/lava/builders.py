"""The Lava builder registry: how each integer node type becomes lava-nc processes.

Registry contract: :data:`LAVA_BUILDERS` (:func:`register_lava_builder`) maps an integer node
type to ``builder(node, inputs, context) -> LavaNode``; ``inputs`` holds one Lava out port
per name in ``node.inputs``, each flat (``(size,)``, neurons in the IR's C order,
``(C, H, W)`` flattened), and the builder returns the flat out port of its node
(adapting shapes with Lava's virtual ports, e.g. ``reshape``/``transpose`` for
``Conv``'s ``(X, Y, C)`` layout). A neuron builder must reset its state every
``context.reset_interval`` steps at ``context.reset_offset`` and return its
process, which records its own payloads for ``context.steps`` steps (and ``u`` and ``v`` with
``context.record_state``: a :class:`~latdeploy.backends.lava.processes.recording.RecordedProcess`),
and a ``v_pre(u, v)`` rebuilder (``[B, T, N]`` int32 each) for the output layer. Builders
import Lava themselves.

Every neuron kind with a Lava Process (:class:`latdeploy.neurons.base.LavaNeuron`) gets
:func:`build_kind_neuron` as its builder when the kind is registered; a kind that declares a
refusal instead gets none, and :data:`LAVA_REFUSALS` holds its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from latdeploy.backends.lava.selection import lava_selected_model
from latdeploy.errors import BackendError
from latdeploy.hw.arithmetic import LOIHI
from latdeploy.ir import DenseInt, Node
from latdeploy.neurons.base import LavaNeuron, NeuronKind, NumpyOps, import_object
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.registry import Registry
from latdeploy.sim.fixed_neurons import bias_of, decay_toward_zero


@dataclass(frozen=True)
class BuildContext:
    """What a builder needs beyond its node: the sample period (reset interval), the
    node's reset phase (``lag + 1``, Lava counts steps from 1), its lag, the run length,
    ``message_bits``, the ``num_message_bits`` its inputs need (0: binary spikes;
    else the bits of the largest graded payload, :func:`latdeploy.ir.neurons_ext.message_bits`),
    ``timesteps``, the algorithmic steps of one sample (0: not given), and ``record_state``: whether a
    neuron records ``u`` and ``v`` besides its payloads (the output layer's)."""

    reset_interval: int
    reset_offset: int
    lag: int
    steps: int
    message_bits: int = 0
    timesteps: int = 0
    record_state: bool = False


@dataclass
class LavaNode:
    """What a builder made: the flat out port downstream nodes connect to; for a neuron,
    its recorded process (``receive()`` gives its recording) and the ``v_pre(u, v)`` rebuilder."""

    out_port: Any
    process: Any = None
    v_pre: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None


LavaBuilder = Callable[[Node, list[Any], BuildContext], LavaNode]
LAVA_BUILDERS: Registry[type[Node], LavaBuilder] = Registry(
    "Lava builder", BackendError, plugins="latdeploy.backends.lava.plugins"
)
LAVA_REFUSALS: Registry[type[Node], str] = Registry("Lava refusal", BackendError)
"""Why a neuron kind's integer node has no Lava builder (the kind's declared refusal)."""


def register_lava_builder(node_type: type[Node]) -> Callable[[LavaBuilder], LavaBuilder]:
    """Decorator: register ``builder`` as the Lava builder of ``node_type``; returns the builder."""
    return LAVA_BUILDERS.register(node_type)


def lava_builder(node: Node) -> LavaBuilder:
    """Return the Lava builder of ``node``.

    Raises:
        BackendError: naming the node, with its kind's refusal reason if it declared one, else
            the registry's ``no Lava builder for <Type>; supported: ...``.
    """
    reason = LAVA_REFUSALS.find(type(node))
    if reason is not None:
        raise BackendError(f"node {node.name!r}: {type(node).__name__} cannot run on Lava: {reason}")
    return LAVA_BUILDERS.get(type(node), subject=f"node {node.name!r}")


def connect_process(
    process_type: Any, node: Node, inputs: list[Any], in_port: str, fields: tuple[str, ...], **params: Any
) -> Any:
    """Return ``process_type(name=node.name, **params)`` with the node's attributes named in ``fields``
    passed on under the same names, fed by ``inputs[0]`` at its port ``in_port``."""
    process = process_type(name=node.name, **{field: getattr(node, field) for field in fields}, **params)
    inputs[0].connect(getattr(process, in_port))
    return process


def build_dense_process(
    process_type: Any, node: Node, inputs: list[Any], context: BuildContext, **params: Any
) -> LavaNode:
    """Return a Lava ``Dense``-like ``process_type`` (weights, ``weight_exp``, ``num_weight_bits``, the
    context's ``num_message_bits``, extra ``params``) fed by ``inputs[0]`` at ``s_in``, out at ``a_out``."""
    weights = node.weight.astype(np.int32)
    fields = ("weight_exp", "num_weight_bits")
    dense = connect_process(
        process_type, node, inputs, "s_in", fields, weights=weights, num_message_bits=context.message_bits, **params
    )
    return LavaNode(out_port=dense.a_out)


def build_neuron_process(process_type: Any, node: Node, inputs: list[Any], context: BuildContext, **params: Any) -> Any:
    """Return a flat (``shape=(N,)``) neuron ``process_type`` with the node's ``du``, ``dv``, ``vth``
    and bias, resetting at the context's phase (extra ``params`` passed on), fed by ``inputs[0]`` at
    ``a_in``, as its recorded subclass (:func:`~latdeploy.backends.lava.processes.recording.recorded_process`)
    recording ``context.steps`` steps (and ``u``, ``v`` with ``context.record_state``)."""
    from latdeploy.backends.lava.processes.recording import recorded_process

    reset = {"reset_interval": context.reset_interval, "reset_offset": context.reset_offset}
    record = {"record_steps": context.steps, "record_state": context.record_state}
    bias_mant = node.bias_mant.astype(np.int32)
    fields = ("du", "dv", "vth", "bias_exp")
    return connect_process(
        recorded_process(process_type),
        node,
        inputs,
        "a_in",
        fields,
        shape=(node.size,),
        bias_mant=bias_mant,
        **reset,
        **record,
        **params,
    )


@register_lava_builder(DenseInt)
def build_dense(node: DenseInt, inputs: list[Any], context: BuildContext) -> LavaNode:
    """Return Lava's ``Dense`` (weights, ``weight_exp``, ``num_weight_bits``) fed by ``inputs[0]``."""
    from lava.proc.dense.process import Dense

    return build_dense_process(Dense, node, inputs, context)


def build_kind_neuron(kind: NeuronKind, node: Node, inputs: list[Any], context: BuildContext) -> LavaNode:
    """Return ``kind``'s Lava Process (flat, ``shape=(N,)``, its ``params``) fed by ``inputs[0]``,
    resetting at the context's phase, with the kind's ``v_pre`` rebuilder."""
    lava: LavaNeuron = kind.lava  # type: ignore[assignment]
    process = build_neuron_process(import_object(lava.process), node, inputs, context, **lava.params(node))
    return LavaNode(out_port=process.s_out, process=process, v_pre=lambda u, v: lava_v_pre(kind, node, u, v))


def kind_process_and_model(kind: NeuronKind) -> tuple[type, type]:
    """Return ``kind``'s Lava Process class and its ProcessModel class: the one the kind declares, else
    the one Lava's own search and selection pick (``Loihi2SimCfg(select_tag="fixed_pt")``).

    Raises:
        BackendError: if the kind has no Lava Process, or Lava selects no model for it.
    """
    if not isinstance(kind.lava, LavaNeuron):
        raise BackendError(f"neuron kind {kind.name!r} has no Lava Process: {kind.lava}")
    process = import_object(kind.lava.process)
    model = import_object(kind.lava.model) if kind.lava.model is not None else lava_selected_model(process)
    return process, model


def process_models(kinds: list[NeuronKind]) -> dict[Any, Any]:
    """Return ``{Process class: ProcessModel class}`` of the recorded neuron processes of ``kinds``
    (:mod:`latdeploy.backends.lava.processes.recording`; the run configuration's
    ``exception_proc_model_map``): each kind's model (:func:`kind_process_and_model`), recording.

    Raises:
        BackendError: as :func:`kind_process_and_model`.
    """
    from latdeploy.backends.lava.processes.recording import recorded_model, recorded_process

    models = {}
    for kind in kinds:
        process, model = kind_process_and_model(kind)
        models[recorded_process(process)] = recorded_model(model, process)
    return models


def membrane_before_reset(neuron: Node, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rebuild ``v`` before the spike reset from per-step ``u`` and ``v`` ``[B, T, N]``.

    ``v_pre[t] = clip(trunc0(v[t-1] (4096 - dv) / 4096) + u[t] + bias)`` with
    ``v[-1] = 0`` (each sample starts from reset state), in Lava's int32 arithmetic.
    """
    previous = np.concatenate([np.zeros_like(v[:, :1]), v[:, :-1]], axis=1)
    updated = decay_toward_zero(previous, LOIHI.decay_unity - neuron.dv) + u + bias_of(neuron)
    return np.clip(updated, -LOIHI.v_max, LOIHI.v_max).astype(np.int32)


def lava_v_pre(kind: NeuronKind, neuron: Node, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Return ``neuron``'s ``v`` before the reset from Lava's per-step ``u`` and ``v`` ``[B, T, N]``:
    :func:`membrane_before_reset`, then, for a kind that needs it (``replay_v_pre``: state Lava does not
    read back), its firing rule replayed over it (e.g. TTFS: zero from the step after the spike)."""
    v_pre = membrane_before_reset(neuron, u, v)
    if not kind.replay_v_pre:
        return v_pre
    ops = NumpyOps(kind.comparison)
    theta = np.int32(LOIHI.theta(neuron.vth))
    state = kind.start(ops, v_pre[:, 0])
    for step in range(v_pre.shape[1]):
        firing = kind.fire(ops, v_pre[:, step], theta, state, neuron)
        v_pre[:, step], state = firing.v_pre, firing.state
    return v_pre


def _add_kind(kind: NeuronKind) -> None:
    if isinstance(kind.lava, LavaNeuron):
        LAVA_BUILDERS.add(kind.int_node, partial(build_kind_neuron, kind))
    else:
        LAVA_REFUSALS.add(kind.int_node, kind.lava)


def _remove_kind(kind: NeuronKind) -> None:
    (LAVA_BUILDERS if isinstance(kind.lava, LavaNeuron) else LAVA_REFUSALS).remove(kind.int_node)


NEURON_KINDS.subscribe(_add_kind, _remove_kind)
