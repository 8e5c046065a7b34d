"""The ``latdeploy`` command line: thin click commands over library functions.

Exit status: 0 success; 1 internal error; 2 user error (bad file, profile, option);
3 parity failure (the fixed-point simulator and the hardware backend disagree).

Each command lives in its own module and registers itself on :data:`cli` when
imported below. A command parses its options (shared ones from :mod:`latdeploy.cli.options`),
makes one call into :mod:`latdeploy.flows` and prints with :mod:`latdeploy.cli.format`.

Deferred imports (the only function-level imports of the package, each deliberate):

* ``latdeploy.flows.*`` inside each command: the flows import the simulators, onnx,
  onnxruntime and the data sets, which ``latdeploy --help`` and option errors do not need;
* ``torch`` in ``finetune`` (to set its thread count);
* ``latdeploy.nn.checkpoint.TrustedPickleWarning`` in ``export``, with the flow;
* ``lava`` itself, in :mod:`latdeploy.backends.lava` (its builders and ``run_lava``): imported
  only when a Lava run starts, so that everything else works without lava-nc installed.
"""

from latdeploy.cli import (
    energy_cmd,  # noqa: F401  (registers ``energy``)
    export_cmd,  # noqa: F401  (registers ``export``)
    finetune_cmd,  # noqa: F401  (registers ``finetune``)
    inspect_cmd,  # noqa: F401  (registers ``inspect``)
    map_cmd,  # noqa: F401  (registers ``map``)
    profiles_cmd,  # noqa: F401  (registers ``profiles``)
    run_cmd,  # noqa: F401  (registers ``run``)
    sweep_cmd,  # noqa: F401  (registers ``sweep``)
    verify_cmd,  # noqa: F401  (registers ``verify``)
)
from latdeploy.cli.app import cli, main

__all__ = ["cli", "main"]
