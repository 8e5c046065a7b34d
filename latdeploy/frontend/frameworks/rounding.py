"""The warning a framework converter gives when it converts a neuron to the same network in another float order.

Since the float-order variant kinds (``norse_lif``, ``decay_input_lif``: ``docs/neurons.md``) reproduce Norse's
``LIF`` and SpikingJelly's ``decay_input=True`` step op for op, the one case left is a layer bias before a
neuron of a stock kind (:func:`warn_bias_order`).
"""

from __future__ import annotations

import warnings


class RoundingOrderWarning(UserWarning):
    """A framework neuron was converted to the same network in real arithmetic whose float32 rounding order
    differs from the framework's: a spike can differ where ``v`` lies within float32 rounding of the threshold."""


def warn_bias_order(framework: str, path: str, folded: tuple[str, ...]) -> None:
    """Warn that the layer bias of ``folded`` now reaches neuron ``path`` in Loihi's order.

    The framework adds the bias inside the synaptic sum (``v + (W x + b)``); latdeploy's neuron adds it to
    ``v`` after the sum (``(v + W x) + b``), as Loihi holds it. Real arithmetic agrees; float32 can round
    the two differently, so a spike can differ where ``v`` lies within rounding of the threshold.
    """
    warnings.warn(
        f"layer {path!r}: the bias of {', '.join(folded) or 'the previous layer'} is added to v after the synaptic "
        f"sum (Loihi's order); {framework} adds it inside the sum, which float32 can round differently near the "
        "threshold (bias=False converts bit for bit)",
        RoundingOrderWarning,
        stacklevel=3,
    )
