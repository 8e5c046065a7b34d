"""Where each IR node of a converted torch model comes from: one map from node name to torch parameters.

The torch frontend records a :class:`ParameterSource` for every node a torch layer makes (the
layer's module path, the module, and the parameters the node's values are read from) while it
converts; :func:`latdeploy.frontend.torch_module.convert_module` returns the map next to the graph.
Fine-tuning (:class:`latdeploy.nn.integer_forward.IntegerForward`) runs the IR and reaches the
torch parameters through it, so it never walks the torch layers itself.

A synapse that :func:`latdeploy.passes.fuse_synapses.fuse_synapse_chains` merges with the plain
pool before it (kernel = stride, no padding: ``AvgPool2d``/``SumPool2d`` then ``Conv2d`` or
``Flatten -> Linear``) keeps its name; its source then holds the pool (:class:`FusedPool`), and
:meth:`ParameterSource.ir_weight` gives the fused weight as a differentiable function of the
torch weight (each tap repeated over its pool window, times the pool factor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class FusedPool:
    """A plain pool (kernel = stride ``kernel``, no padding) merged into the synapse after it.

    ``factor`` is the pool's scale (``1`` for a sum pool, ``1 / (kh kw)`` for an average pool) and
    ``shape`` the pool's per-step input ``(C, H, W)``.
    """

    kernel: tuple[int, int]
    factor: float
    shape: tuple[int, int, int]

    def spread(self, weight: torch.Tensor) -> torch.Tensor:
        """Return the fused weight of synapse weight ``weight`` (``[out, in]`` dense or ``[out, in/g, kh, kw]``
        conv): each tap repeated over its pool window and scaled by the pool factor."""
        (kh, kw), (channels, height, width) = self.kernel, self.shape
        dense = weight.dim() == 2
        taps = weight.reshape(weight.shape[0], channels, height // kh, width // kw) if dense else weight
        spread = taps.repeat_interleave(kh, dim=2).repeat_interleave(kw, dim=3) * self.factor
        return spread.reshape(weight.shape[0], -1) if dense else spread

    def gather(self, weight: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """Return the synapse weight of ``shape`` whose :meth:`spread` is ``weight`` (one tap per window)."""
        (kh, kw), dense = self.kernel, len(shape) == 2
        taps = weight.reshape(weight.shape[0], *self.shape) if dense else weight
        return (taps[:, :, ::kh, ::kw] / self.factor).reshape(shape).astype(np.float32)


@dataclass(frozen=True)
class ParameterSource:
    """The torch layer one IR node was made from and the parameters its values are read from.

    Attributes:
        path: the layer's module path in the model (``"layers.3"``, ``"linears.0"``).
        module: the layer.
        weight: the torch parameter the node's ``weight`` is made from (``None``: the node has no
            trainable weight, e.g. a pool).
        bias: the torch parameter the node's ``bias`` holds (a neuron's own bias; ``None``: none).
        pool: the plain pool merged into this synapse by the fusion pass (``None``: none).
        folded: module paths of further layers whose parameters the node's values hold but this map
            does not express (a batch norm folded into a synapse; a synapse's bias moved into the neuron).
    """

    path: str
    module: nn.Module
    weight: nn.Parameter | None = None
    bias: nn.Parameter | None = None
    pool: FusedPool | None = None
    folded: tuple[str, ...] = ()

    def ir_weight(self, weight: torch.Tensor) -> torch.Tensor:
        """Return the IR node's weight (after synapse fusion) for torch weight ``weight``, differentiably."""
        return weight if self.pool is None else self.pool.spread(weight)

    def torch_weight(self, weight: np.ndarray) -> np.ndarray:
        """Return the torch weight whose :meth:`ir_weight` is ``weight``.

        Raises:
            ValueError: if the source has no weight.
        """
        if self.weight is None:
            raise ValueError(f"layer {self.path!r} has no weight")
        return weight if self.pool is None else self.pool.gather(weight, tuple(self.weight.shape))

    def folding(self, path: str) -> ParameterSource:
        """Return this source with layer ``path`` folded into the node."""
        return ParameterSource(self.path, self.module, self.weight, self.bias, self.pool, (*self.folded, path))
