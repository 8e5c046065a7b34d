"""The ``latdeploy`` click group and the entry point that maps errors to exit codes.

Commands live in sibling modules (one per command or group) that register on :data:`cli`.

Exit status: 0 success; 1 internal error; 2 user error (bad file, profile, option);
3 parity failure (the fixed-point simulator and the hardware backend disagree); 130 interrupted by
Ctrl-C (SIGINT), 143 by SIGTERM. SIGTERM unwinds like Ctrl-C, so that every cleanup
runs: no partial bundle, no backend process (Lava's) left.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

import click

from latdeploy.errors import (
    EXIT_INTERNAL_ERROR,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USER_ERROR,
    LatdeployError,
)
from latdeploy.untrusted.text import printable


class TerminationRequested(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that it unwinds (and cleans up) like Ctrl-C."""


def _raise_termination(_signum: int, _frame: Any) -> None:
    raise TerminationRequested


@click.group()
@click.version_option(package_name="latdeploy")
def cli() -> None:
    """Deploy latency-coded spiking neural networks to neuromorphic hardware."""


def main() -> None:
    """Console entry point: run the CLI, mapping errors to exit codes."""
    signal.signal(signal.SIGTERM, _raise_termination)
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort as error:
        if isinstance(error.__cause__, KeyboardInterrupt):
            terminated = isinstance(error.__cause__, TerminationRequested)
            click.echo(f"interrupted by {'SIGTERM' if terminated else 'Ctrl-C'}", err=True)
            sys.exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)
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
