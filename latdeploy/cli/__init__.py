"""The ``latdeploy`` command line: thin click commands over library functions.

Exit status: 0 success; 1 internal error; 2 user error (bad file, profile, option);
3 parity failure (the fixed-point simulator and Lava disagree).

Each command lives in its own module and registers itself on :data:`cli` when
imported below.
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
