"""The plugin import of :data:`latdeploy.frontend.converters.CONVERTERS`: the modules that register torch converters.

Imported on the table's first lookup, so that importing :mod:`latdeploy.frontend` (the ``.net`` and ``.nir``
readers) does not import torch.
"""

from __future__ import annotations

from latdeploy.frontend import torch_layers  # noqa: F401  (registers the conv-net layers)
