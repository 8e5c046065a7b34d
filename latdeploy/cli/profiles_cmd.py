"""``latdeploy profiles list`` and ``latdeploy profiles show NAME``: the shipped hardware profiles."""

from __future__ import annotations

import click

from latdeploy.cli.app import cli
from latdeploy.hw.profile import load_profile, shipped_profiles


@cli.group()
def profiles() -> None:
    """List and show hardware profiles (hw_profiles/*.yaml)."""


@profiles.command("list")
def list_profiles() -> None:
    """Print one line per shipped profile: name, kind and description."""
    loaded = [load_profile(name) for name in shipped_profiles()]
    width = max(len(profile.name) for profile in loaded)
    for profile in loaded:
        click.echo(f"{profile.name:<{width}}  {profile.kind:<11}  {profile.description}")


@profiles.command("show")
@click.argument("name")
def show_profile(name: str) -> None:
    """Print profile NAME (a shipped name or a YAML path) as YAML that --profile PATH accepts back."""
    click.echo(load_profile(name).to_yaml(), nl=False)
