"""Evaluate a latdeploy.nn model on a data split with one of the decoders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from latdeploy.nn.decoders import decide


@dataclass(frozen=True)
class Evaluation:
    """Accuracy, mean decision step (undecided samples count as ``T``) and samples decided by a spike."""

    accuracy: float
    mean_decision_step: float
    decided: int


def model_inputs(x: np.ndarray, config: dict[str, Any]) -> torch.Tensor:
    """Return the tensor a model's encoder takes for data ``x``: ``[N, features]`` images get their
    ``[C, H, W]`` shape for convnets; event streams and MLP inputs pass unchanged."""
    tensor = torch.from_numpy(np.asarray(x))
    if config["arch"] != "mlp" and config.get("encoder", "latency") != "stc":
        return tensor.reshape(len(tensor), *config.get("input_shape", [3, 32, 32]))
    return tensor


def evaluate(model: torch.nn.Module, x: np.ndarray, y: np.ndarray, decoder: str, chunk: int = 256) -> Evaluation:
    """Run ``model`` (eval mode, no gradients) on ``x`` in chunks and decide with ``decoder``.

    Returns:
        The :class:`Evaluation` against labels ``y``. Raises ``ValueError`` for an unknown decoder.
    """
    labels, steps, decided = [], [], []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(x), chunk):
            layer_spikes, v_pre = model(model_inputs(x[start : start + chunk], model.config))
            decision = decide(layer_spikes[-1].transpose(0, 1).numpy(), v_pre.transpose(0, 1).numpy(), decoder)
            labels.append(decision.label)
            steps.append(decision.step)
            decided.append(decision.decided)
    label, step = np.concatenate(labels), np.concatenate(steps)
    return Evaluation(float((label == np.asarray(y)).mean()), float(step.mean()), int(np.concatenate(decided).sum()))
