"""The ``latdeploy`` click group and the entry point that maps errors to exit codes.

Commands live in sibling modules (one per command or group) that register on :data:`cli`.

Exit status: 0 success; 1 internal error; 2 user error (bad file, profile, option);
3 parity failure (the fixed-point simulator and Lava disagree).
"""

from __future__ import annotations

import sys

import click

from latdeploy.errors import EXIT_INTERNAL_ERROR, EXIT_USER_ERROR, LatdeployError


@click.group()
@click.version_option(package_name="latdeploy")
def cli() -> None:
    """Deploy latency-coded spiking neural networks to neuromorphic hardware."""


def main() -> None:
    """Console entry point: run the CLI, mapping errors to exit codes."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_USER_ERROR)
    except click.ClickException as error:
        click.echo(f"error: {error.format_message()} (see 'latdeploy --help')", err=True)
        sys.exit(EXIT_USER_ERROR)
    except LatdeployError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_USER_ERROR)
    except SystemExit:
        raise
    except Exception as error:  # a bug: say so, keep it short, exit 1
        click.echo(f"internal error: {type(error).__name__}: {error}", err=True)
        sys.exit(EXIT_INTERNAL_ERROR)
