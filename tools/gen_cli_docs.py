"""Write the generated reference pages: ``docs/cli.md`` from the click commands and
``docs/profile.schema.json`` from the profile models.

    .venv/bin/python tools/gen_cli_docs.py           # rewrite both files
    .venv/bin/python tools/gen_cli_docs.py --check   # exit 1, naming the stale file, if either is out of date

``docs/cli.md`` lists every command and subcommand of ``latdeploy`` (walked from
:data:`latdeploy.cli.cli`), with its usage, help text, arguments and every option: its flags, value
type or choices, default and help. ``tests/test_docs.py`` fails when either file differs from what
this tool writes, so a new option is documented by running it.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path

import click
from click.core import UNSET

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from latdeploy.cli import cli  # noqa: E402
from latdeploy.hw.profile_schema import json_schema  # noqa: E402

CLI_PAGE = ROOT / "docs" / "cli.md"
SCHEMA_PAGE = ROOT / "docs" / "profile.schema.json"
REGENERATE = ".venv/bin/python tools/gen_cli_docs.py"


def _cell(text: object) -> str:
    """Text for one Markdown table cell (pipes escaped, one line)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _type(parameter: click.Parameter) -> str:
    """The value an option takes: its choices, range or type name; empty for a flag."""
    if isinstance(parameter, click.Option) and parameter.is_flag:
        return ""
    kind = parameter.type
    if isinstance(kind, click.Choice):
        return " \\| ".join(f"`{choice}`" for choice in kind.choices)
    if isinstance(kind, click.Path):
        return "PATH"
    if isinstance(kind, (click.IntRange, click.FloatRange)):
        number = "INTEGER" if isinstance(kind, click.IntRange) else "NUMBER"
        low = "" if kind.min is None else kind.min
        high = "" if kind.max is None else kind.max
        return f"{number} {low}..{high}"
    return kind.name.upper()


def _default(parameter: click.Parameter) -> str:
    """The default as the user sees it (``[x]`` in the help text counts too); empty when there is none."""
    default = parameter.default
    if isinstance(parameter, click.Option) and parameter.is_flag and not parameter.secondary_opts:
        return "on" if default is True else "off"
    if default is None or default is UNSET or default == () or callable(default):
        return ""
    if isinstance(default, bool) and isinstance(parameter, click.Option) and parameter.secondary_opts:
        return parameter.opts[0] if default else parameter.secondary_opts[0]
    return f"`{default}`"


def _options(command: click.Command) -> list[str]:
    rows = []
    for parameter in command.params:
        if not isinstance(parameter, click.Option) or parameter.hidden:
            continue
        flags = ", ".join(f"`{flag}`" for flag in [*parameter.opts, *parameter.secondary_opts])
        rows.append(f"| {flags} | {_type(parameter)} | {_default(parameter)} | {_cell(parameter.help or '')} |")
    rows.append("| `--help` |  |  | Show the command's help and exit. |")
    return ["| option | value | default | description |", "|---|---|---|---|", *rows]


def _command_section(path: list[str], command: click.Command, context: click.Context) -> list[str]:
    name = " ".join(path)
    lines = [f"## `{name}`", ""]
    usage = " ".join(command.collect_usage_pieces(context))
    lines += ["```", f"{name} {usage}".rstrip(), "```", ""]
    lines += [inspect.cleandoc(command.help or ""), ""]
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    if arguments:
        described = ", ".join(f"`{a.human_readable_name}`" + ("" if a.required else " (optional)") for a in arguments)
        lines += [f"Arguments: {described}.", ""]
    lines += [*_options(command), ""]
    return lines


Found = list[tuple[list[str], click.Command, click.Context]]


def _walk(path: list[str], command: click.Command, parent: click.Context | None) -> Found:
    context = click.Context(command, info_name=path[-1], parent=parent)
    found = [(path, command, context)]
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(context)):
            sub = command.get_command(context, name)
            if sub is not None and not sub.hidden:
                found += _walk([*path, name], sub, context)
    return found


def cli_page() -> str:
    """Return ``docs/cli.md``: every command, its arguments and options (flags, value, default, help)."""
    commands = _walk(["latdeploy"], cli, None)
    lines = [
        "# Command reference",
        "",
        f"Generated from the click commands by `tools/gen_cli_docs.py`; do not edit by hand (run `{REGENERATE}`).",
        "Exit statuses: [README](../README.md#exit-status), in detail [commands.md](commands.md#exit-codes).",
        "Every command's `--help` prints the same text.",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    for path, command, _ in commands[1:]:
        anchor = "-".join(path).lower()
        lines.append(f"| [`{' '.join(path)}`](#{anchor}) | {_cell(command.get_short_help_str(limit=120))} |")
    lines.append("")
    for path, command, context in commands:
        lines += _command_section(path, command, context)
    return "\n".join(lines).rstrip() + "\n"


def schema_page() -> str:
    """Return ``docs/profile.schema.json``: the JSON Schema of a profile file."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


PAGES = {CLI_PAGE: cli_page, SCHEMA_PAGE: schema_page}


def stale_pages() -> list[Path]:
    """Return the generated pages whose file differs from what this tool writes."""
    return [page for page, render in PAGES.items() if not page.is_file() or page.read_text() != render()]


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the generated pages; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if a page is out of date")
    arguments = parser.parse_args(argv)
    if arguments.check:
        stale = stale_pages()
        for page in stale:
            print(f"{page.relative_to(ROOT)} is out of date: run {REGENERATE}", file=sys.stderr)
        return 1 if stale else 0
    for page, render in PAGES.items():
        page.write_text(render())
        print(f"wrote {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
