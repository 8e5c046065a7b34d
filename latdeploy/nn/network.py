"""Reference architectures, built from a JSON-able config (plain data: stored in model files).

- ``mlp`` (:class:`LatencyMLP`): encoder, then ``Linear -> neuron`` per layer.
- ``convnet`` (:class:`SpikingConvNet`): encoder, then a config-given list of layers.
- ``vgg11``: a :class:`SpikingConvNet` whose layers are VGG-11's (for 32x32x3 input).

Every model runs time-first ``[T, B, ...]``: stateless layers (``Conv2d``, ``Linear``,
pooling, ``Flatten``, ``BatchNorm2d``) are applied to each step alone, neurons integrate
over time. ``forward(x)`` returns ``(layer_spikes, output_v_pre)``: one spike tensor per
neuron layer and the output layer's membrane potential before reset.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from latdeploy.errors import ModelFormatError
from latdeploy.neurons.registry import NEURON_KINDS
from latdeploy.nn.encoders import LatencyEncoder, LearnableLatencyEncoder, SpatioTemporalCompression
from latdeploy.nn.layers import SpikeTimeMaxPool2d, SumPool2d
from latdeploy.nn.neurons import NEURONS

VGG11_CHANNELS = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


def make_neuron(kind: str, size: int | tuple[int, ...], options: dict[str, Any]) -> nn.Module:
    """Return a neuron module of ``kind`` (a key of :data:`latdeploy.nn.neurons.NEURONS`) for a
    layer of ``size`` neurons (an int, or the layer's output shape).

    Raises:
        ModelFormatError: if the kind is unknown.
    """
    if kind not in NEURONS:
        raise ModelFormatError(f"unknown neuron kind {kind!r}; known: {sorted(NEURONS)}")
    return NEURONS[kind](size, **options)


def is_neuron(module: nn.Module) -> bool:
    """Return True for a module that integrates over time (takes and returns ``[T, B, ...]``): the torch
    module of a registered neuron kind (:data:`latdeploy.neurons.registry.NEURON_KINDS`, kinds registered
    later included)."""
    return any(isinstance(module, kind.torch_module) for _, kind in NEURON_KINDS.items())


def make_encoder(config: dict[str, Any], chip_inputs: int | None = None) -> nn.Module:
    """Return the encoder named by ``config["encoder"]`` (default ``"latency"``).

    ``latency``: :class:`LatencyEncoder`; ``learned_latency``: :class:`LearnableLatencyEncoder`
    from ``config["input_size"]`` analog inputs to ``chip_inputs`` features; ``stc``:
    :class:`SpatioTemporalCompression` with ``config["stc_decay"]`` and ``config["stc_max_level"]``.

    Raises:
        ModelFormatError: for an unknown encoder name.
    """
    name = config.get("encoder", "latency")
    timesteps = int(config["timesteps"])
    if name == "latency":
        return LatencyEncoder(timesteps)
    if name == "learned_latency":
        if chip_inputs is None:
            raise ModelFormatError("encoder 'learned_latency' is only available for the 'mlp' architecture")
        return LearnableLatencyEncoder(timesteps, int(config["input_size"]), chip_inputs)
    if name == "stc":
        return SpatioTemporalCompression(
            timesteps, float(config.get("stc_decay", 1.0)), float(config.get("stc_max_level", 15.0))
        )
    raise ModelFormatError(f"unknown encoder {name!r}; known: ['latency', 'learned_latency', 'stc']")


class LatencyMLP(nn.Module):
    """Encoder, then ``Linear -> neuron`` per layer; the last neuron layer is the output.

    Config keys: ``sizes`` (e.g. ``[64, 128, 10]``; ``sizes[0]`` is what the chip
    receives), ``timesteps``, ``encoder`` (default ``latency``; ``learned_latency``
    also needs ``input_size``, the analog input width), ``neuron`` (a key of
    :data:`latdeploy.nn.neurons.NEURONS`, default ``lif``), ``neuron_options`` (extra keyword
    arguments of the neuron class), and for ``lif``: ``threshold``, ``bias`` (neuron
    bias), ``current_decay``, ``voltage_decay``, ``surrogate``.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.config = dict(config)
        sizes = list(config["sizes"])
        self.timesteps = int(config["timesteps"])
        self.encoder = make_encoder(config, chip_inputs=sizes[0])
        self.linears = nn.ModuleList(
            nn.Linear(n_in, n_out, bias=False) for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
        )
        kind = str(config.get("neuron", "lif"))
        options = dict(config.get("neuron_options", {}))
        if kind == "lif":
            options = {
                "threshold": float(config.get("threshold", 1.0)),
                "current_decay": float(config.get("current_decay", 1.0)),
                "voltage_decay": float(config.get("voltage_decay", 0.0)),
                "bias": bool(config.get("bias", True)),
                "surrogate": str(config.get("surrogate", "fast_sigmoid")),
                **options,
            }
        self.neurons = nn.ModuleList(make_neuron(kind, n_out, options) for n_out in sizes[1:])

    def run_spikes(self, spikes_in: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Run the spiking layers on encoded input ``[T, B, n_in]``.

        Returns:
            ``(layer_spikes, output_v_pre)``: one ``[T, B, n]`` spike tensor per
            layer and the output layer's membrane potential before reset.
        """
        layer_spikes: list[torch.Tensor] = []
        x = spikes_in
        v_pre = x
        for linear, neuron in zip(self.linears, self.neurons, strict=True):
            x, v_pre = neuron(linear(x))
            layer_spikes.append(x)
        return layer_spikes, v_pre

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Encode the input and run; returns what :meth:`run_spikes` returns."""
        return self.run_spikes(self.encoder(x))


def _stateless_layer(spec: dict[str, Any], channels: int, features: int) -> nn.Module:
    kind = spec["type"]
    if kind == "conv":
        return nn.Conv2d(
            channels,
            int(spec["channels"]),
            int(spec.get("kernel", 3)),
            stride=int(spec.get("stride", 1)),
            padding=int(spec.get("padding", 0)),
            groups=int(spec.get("groups", 1)),
            bias=False,
        )
    if kind == "linear":
        return nn.Linear(features, int(spec["features"]), bias=False)
    if kind == "batchnorm":
        return nn.BatchNorm2d(channels)
    if kind == "avgpool":
        return nn.AvgPool2d(int(spec.get("kernel", 2)))
    if kind == "sumpool":
        return SumPool2d(int(spec.get("kernel", 2)))
    if kind == "spikemaxpool":
        return SpikeTimeMaxPool2d(int(spec.get("kernel", 2)))
    if kind == "flatten":
        return nn.Flatten()
    raise ModelFormatError(
        f"unknown layer type {kind!r}; known: conv, linear, batchnorm, avgpool, sumpool, spikemaxpool, flatten, neuron"
    )


class SpikingConvNet(nn.Module):
    """Encoder, then the layers listed in ``config["layers"]`` (time-first, per-step for stateless ones).

    Config keys: ``input_shape`` (``[C, H, W]`` that the chip's first layer receives),
    ``timesteps``, ``encoder`` (``latency`` or ``stc``), ``neuron`` (default neuron spec:
    ``{"kind": ..., **options}``) and ``layers``: a list of dicts with ``type`` one of
    ``conv`` (``channels``, ``kernel``, ``stride``, ``padding``, ``groups``; no bias),
    ``batchnorm``, ``avgpool`` / ``sumpool`` / ``spikemaxpool`` (max of binary spikes, for TTFS;
    ``kernel``), ``flatten``, ``linear``
    (``features``; no bias) and ``neuron`` (keys override the default spec; a neuron layer
    has the shape of its input). The last layer must be a neuron: the output.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.config = dict(config)
        self.timesteps = int(config["timesteps"])
        self.encoder = make_encoder(config)
        default_neuron = dict(config.get("neuron", {"kind": "lif", "bias": False}))
        shape = tuple(int(n) for n in config["input_shape"])
        probe = torch.zeros(1, *shape)
        layers = []
        for spec in config["layers"]:
            if spec["type"] == "neuron":
                options = {**default_neuron, **{k: v for k, v in spec.items() if k != "type"}}
                kind = options.pop("kind", "lif")
                layers.append(make_neuron(kind, tuple(probe.shape[1:]), options))
                continue
            layer = _stateless_layer(spec, probe.shape[1] if probe.dim() == 4 else 0, probe.shape[-1])
            layer.eval()
            if not isinstance(layer, nn.BatchNorm2d):  # keeps the shape; on meta tensors it imports torch._dynamo
                with torch.no_grad():
                    probe = layer(probe)
            layers.append(layer)
        if not layers or not is_neuron(layers[-1]):
            raise ModelFormatError("the last layer of a convnet config must be a 'neuron' layer (the output)")
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Encode ``x`` and run every layer; returns ``(layer_spikes, output_v_pre)``."""
        x = self.encoder(x)
        layer_spikes: list[torch.Tensor] = []
        v_pre = x
        for layer in self.layers:
            if is_neuron(layer):
                x, v_pre = layer(x)
                layer_spikes.append(x)
            else:
                steps, batch = x.shape[:2]
                x = layer(x.flatten(0, 1))
                x = x.reshape(steps, batch, *x.shape[1:])
        return layer_spikes, v_pre


def _square(value: int | tuple[int, ...], what: str) -> int:
    values = (value,) if isinstance(value, int) else tuple(value)
    if len(set(values)) != 1:
        raise ModelFormatError(f"{what} {list(values)} is not square; a convnet config holds square ones only")
    return int(values[0])


def _pool_spec(kind: str, module: nn.Module, path: str) -> dict[str, Any]:
    kernel = _square(module.kernel_size, f"{path}: kernel")
    stride = _square(module.stride if module.stride is not None else kernel, f"{path}: stride")
    if stride != kernel or _square(module.padding, f"{path}: padding") != 0:
        raise ModelFormatError(f"{path}: a pooling layer with stride != kernel or padding has no convnet config")
    return {"type": kind, "kernel": kernel}


def layer_spec(module: nn.Module, path: str) -> dict[str, Any]:
    """Return the :class:`SpikingConvNet` layer entry that rebuilds ``module`` (the inverse of its
    config; ``path`` names the module in errors).

    Raises:
        ModelFormatError: for a module with no convnet config form (another type, a bias in a
            ``Conv2d``/``Linear``, non-square kernels, a neuron kind that is not registered).
    """
    if is_neuron(module):
        kinds = [name for name, cls in NEURONS.items() if type(module) is cls]
        if not kinds:
            raise ModelFormatError(f"{path}: neuron {type(module).__name__} is not one of {sorted(NEURONS)}")
        options: dict[str, Any] = {}
        for name in list(inspect.signature(type(module).__init__).parameters)[2:]:
            value = getattr(module, name)
            options[name] = value is not None if name == "bias" else value
        return {"type": "neuron", "kind": kinds[0], **options}
    if isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None:
        raise ModelFormatError(f"{path}: {type(module).__name__} has a bias; latdeploy's blocks hold biases in neurons")
    if isinstance(module, nn.Conv2d):
        return {
            "type": "conv",
            "channels": module.out_channels,
            "kernel": _square(module.kernel_size, f"{path}: kernel"),
            "stride": _square(module.stride, f"{path}: stride"),
            "padding": _square(module.padding, f"{path}: padding"),
            "groups": module.groups,
        }
    if isinstance(module, nn.Linear):
        return {"type": "linear", "features": module.out_features}
    if isinstance(module, nn.BatchNorm2d):
        return {"type": "batchnorm"}
    if isinstance(module, nn.Flatten) and module.start_dim == 1 and module.end_dim == -1:
        return {"type": "flatten"}
    for kind, cls in (("avgpool", nn.AvgPool2d), ("sumpool", SumPool2d), ("spikemaxpool", SpikeTimeMaxPool2d)):
        if type(module) is cls:
            return _pool_spec(kind, module, path)
    raise ModelFormatError(
        f"{path}: {type(module).__name__} has no convnet config; a Sequential saves with Conv2d, Linear (no bias), "
        "BatchNorm2d, AvgPool2d, SumPool2d, SpikeTimeMaxPool2d, Flatten and latdeploy's neurons"
    )


def sequential_config(model: nn.Sequential, metadata: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return the ``convnet`` config that rebuilds the ``nn.Sequential`` ``model`` of latdeploy's
    blocks (nested Sequentials are flattened) with the encoder, ``timesteps`` and ``input_shape`` of
    ``metadata``, and the map from each of the Sequential's state_dict keys to the rebuilt model's.

    Raises:
        ModelFormatError: for a layer with no config form (:func:`layer_spec`).
    """
    leaves: list[tuple[str, nn.Module]] = []

    def walk(module: nn.Module, path: str) -> None:
        if isinstance(module, nn.Sequential):
            for name, child in module.named_children():
                walk(child, f"{path}.{name}" if path else name)
        else:
            leaves.append((path, module))

    walk(model, "")
    config: dict[str, Any] = {
        "arch": "convnet",
        "input_shape": [int(n) for n in metadata["input_shape"]],
        "timesteps": int(metadata["timesteps"]),
        "encoder": str(metadata["encoder"]),
        "layers": [layer_spec(module, path) for path, module in leaves],
    }
    keys = {
        f"{path}.{name}": f"layers.{index}.{name}"
        for index, (path, module) in enumerate(leaves)
        for name in module.state_dict()
    }
    return config, keys


def vgg11_layers(width: float = 1.0, classes: int = 10, batch_norm: bool = True) -> list[dict[str, Any]]:
    """Return VGG-11's layer list for 32x32 input: 8 conv 3x3 (pad 1) -> neuron blocks,
    5 average pools, then ``Linear(512 * width, classes) -> neuron``; ``width`` scales channels."""
    layers: list[dict[str, Any]] = []
    for entry in VGG11_CHANNELS:
        if entry == "M":
            layers.append({"type": "avgpool", "kernel": 2})
            continue
        layers.append({"type": "conv", "channels": max(1, round(int(entry) * width)), "kernel": 3, "padding": 1})
        if batch_norm:
            layers.append({"type": "batchnorm"})
        layers.append({"type": "neuron"})
    layers += [{"type": "flatten"}, {"type": "linear", "features": classes}, {"type": "neuron"}]
    return layers


def _build_vgg11(config: dict[str, Any]) -> SpikingConvNet:
    layers = vgg11_layers(
        float(config.get("width", 1.0)), int(config.get("classes", 10)), bool(config.get("batch_norm", True))
    )
    model = SpikingConvNet({"input_shape": [3, 32, 32], **config, "layers": layers})
    model.config = dict(config)
    return model


ARCHITECTURES: dict[str, Callable[[dict[str, Any]], nn.Module]] = {
    "mlp": LatencyMLP,
    "convnet": SpikingConvNet,
    "vgg11": _build_vgg11,
}


def build_model(config: dict[str, Any]) -> nn.Module:
    """Build the architecture named by ``config["arch"]``.

    Raises:
        ModelFormatError: if the architecture is unknown or the config incomplete.
    """
    arch = config.get("arch")
    if arch not in ARCHITECTURES:
        raise ModelFormatError(f"unknown architecture {arch!r}; known: {sorted(ARCHITECTURES)}")
    try:
        return ARCHITECTURES[arch](config)
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFormatError(f"invalid config for architecture {arch!r}: {error}") from error
