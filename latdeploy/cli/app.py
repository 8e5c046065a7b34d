"""The ``latdeploy`` click group and the entry point that maps errors to exit codes.

Commands live in sibling modules (one per command or group) that register on :data:`cli`.

Exit status: 0 success; 1 internal error; 2 user error (bad file, profile, option, output
path); 3 parity failure (the fixed-point simulator and the hardware backend disagree); 130
interrupted by Ctrl-C (SIGINT), 143 by SIGTERM, 129 by SIGHUP. SIGTERM and SIGHUP unwind like
Ctrl-C (:mod:`latdeploy.cli.interrupts`), so that every cleanup runs: no partial bundle, no
backend process (Lava's) left.
"""

from __future__ import annotations

import sys

import click

from latdeploy.cli.interrupts import exit_interrupted, handle_interrupts
from latdeploy.errors import EXIT_INTERNAL_ERROR, EXIT_USER_ERROR, LatdeployError, raise_if_interrupted
from latdeploy.untrusted.text import printable


@click.group()
@click.version_option(package_name="latdeploy")
def cli() -> None:
    """Deploy latency-coded spiking neural networks to neuromorphic hardware."""


def _invoke() -> None:
    """Parse ``sys.argv`` and run its command (as ``cli.main`` does, less the empty line that
    click prints on Ctrl-C: an interrupt is one line).

    Raises:
        SystemExit: for ``--help``, ``--version`` and commands that exit with a status.
    """
    try:
        with cli.make_context("latdeploy", sys.argv[1:]) as context:
            cli.invoke(context)
    except click.exceptions.Exit as done:
        raise_if_interrupted()
        sys.exit(done.exit_code)
    raise_if_interrupted()


def main() -> None:
    """Run the CLI (its commands registered), mapping errors to exit codes."""
    handle_interrupts()
    try:
        _invoke()
    except KeyboardInterrupt as error:
        exit_interrupted(error)
    except click.exceptions.Abort as error:
        if isinstance(error.__cause__, KeyboardInterrupt):
            exit_interrupted(error.__cause__)
        click.echo("aborted", err=True)
        sys.exit(EXIT_USER_ERROR)
    except click.ClickException as error:
        click.echo(f"error: {printable(error.format_message())} (see 'latdeploy --help')", err=True)
        sys.exit(EXIT_USER_ERROR)
    except LatdeployError as error:
        click.echo(f"error: {printable(error, keep_lines=False)}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except SystemExit:
        raise
    except Exception as error:  # a bug: say so, keep it short, exit 1
        click.echo(f"internal error: {type(error).__name__}: {printable(error)}", err=True)
        sys.exit(EXIT_INTERNAL_ERROR)
