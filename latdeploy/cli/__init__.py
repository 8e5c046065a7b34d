"""The ``latdeploy`` command line: thin click commands over library functions.

Exit status: 0 success; 1 internal error; 2 user error (bad file, profile, option, output path);
3 parity failure (the fixed-point simulator and the hardware backend disagree); 130, 143, 129
stopped by Ctrl-C, SIGTERM, SIGHUP.

Each command lives in its own module and registers itself on :data:`cli` when
:mod:`latdeploy.cli.commands` imports it. A command parses its options (shared ones from :mod:`latdeploy.cli.options`),
makes one call into :mod:`latdeploy.flows` and prints with :mod:`latdeploy.cli.format`.

Deferred imports (docs/layout.md, "Deferred imports"; ``tests/test_layout.py`` checks that importing
every command loads no torch, numba, Lava, scipy, onnx, matplotlib or pydantic):

* the commands (and with them torch, numpy, click) in :func:`main` and on first use of :data:`cli`:
  :func:`main` first installs the handlers of Ctrl-C, SIGTERM and SIGHUP
  (:mod:`latdeploy.cli.interrupts`), so that a signal during those imports (a second or more)
  is one line and its exit status too;
* ``latdeploy.flows.*`` inside each command: the flows import the simulators, onnx,
  onnxruntime and the data sets, which ``latdeploy --help`` and option errors do not need;
* ``torch`` in ``finetune`` (to set its thread count);
* ``latdeploy.nn.checkpoint.TrustedPickleWarning`` in ``export``, with the flow;
* the verdict and the graph description in :mod:`latdeploy.cli.format`, when printed;
* the profile schema (pydantic) in :func:`latdeploy.hw.profile.load_profile`;
* the Lava runner and builders (torch) in :mod:`latdeploy.backends.lava`, on first use;
* ``lava`` itself, in :mod:`latdeploy.backends.lava` (its builders, ``run_lava`` and the process
  count of a run): imported
  only when a Lava run starts, so that everything else works without lava-nc installed.
"""

from __future__ import annotations

from typing import Any

from latdeploy.cli.interrupts import exit_interrupted, handle_interrupts

__all__ = ["cli", "main"]


def main() -> None:
    """Console entry point: handle interrupts, import the commands, run the CLI
    (:func:`latdeploy.cli.app.main` maps errors to exit codes)."""
    handle_interrupts()
    try:
        from latdeploy.cli.app import main as run_cli
        from latdeploy.cli.commands import cli  # noqa: F401  (registers every command)
    except KeyboardInterrupt as error:
        exit_interrupted(error)
    run_cli()


def __getattr__(name: str) -> Any:
    """Return :data:`cli` (the click group with every command registered).

    Raises:
        AttributeError: for any other name.
    """
    if name == "cli":
        from latdeploy.cli.commands import cli

        return cli
    raise AttributeError(f"module 'latdeploy.cli' has no attribute {name!r}")
