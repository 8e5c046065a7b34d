"""Every ``latdeploy`` command, registered on :data:`latdeploy.cli.app.cli` by importing its module."""

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
from latdeploy.cli.app import cli

__all__ = ["cli"]
