"""The documentation: the generated reference pages are current, every command and option of the CLI is in
``docs/cli.md``, and every relative link of README.md and docs/*.md resolves (files and #anchors)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import click
import pytest

import latdeploy

ROOT = Path(latdeploy.__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
EXPLICIT_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")
README_LIMIT = 250


def _tool():
    spec = importlib.util.spec_from_file_location("latdeploy_gen_cli_docs", ROOT / "tools" / "gen_cli_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: the rendered text lower-cased, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
    text = text.replace("`", "").replace("*", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor of ``page``: its headings' slugs (duplicates numbered as GitHub does) and explicit ones."""
    text = FENCE.sub("", page.read_text())
    found: set[str] = set(EXPLICIT_ANCHOR.findall(text))
    counts: dict[str, int] = {}
    for heading in HEADING.findall(text):
        base = slug(heading)
        count = counts.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        counts[base] = count + 1
    return found


def links(page: Path) -> list[str]:
    """The relative links of ``page`` outside code blocks (not http(s), mailto)."""
    text = FENCE.sub("", page.read_text())
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code
    targets = [a or b for a, b in LINK.findall(text)]
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def test_the_generated_pages_are_current():
    stale = [str(page.relative_to(ROOT)) for page in _tool().stale_pages()]
    assert not stale, f"{', '.join(stale)} out of date: run .venv/bin/python tools/gen_cli_docs.py and commit it"


def _commands(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        context = click.Context(command)
        for name in command.list_commands(context):
            found += _commands(command.get_command(context, name), [*path, name])
    return found


def test_every_command_and_option_is_in_the_cli_reference():
    from latdeploy.cli import cli

    page = (ROOT / "docs" / "cli.md").read_text()
    sections = dict(re.findall(r"^## `([^`]+)`\n(.*?)(?=^## |\Z)", page, re.MULTILINE | re.DOTALL))
    missing = []
    for path, command in _commands(cli, ["latdeploy"]):
        name = " ".join(path)
        if name not in sections:
            missing.append(name)
            continue
        for parameter in command.params:
            if isinstance(parameter, click.Option) and not parameter.hidden:
                missing += [f"{name} {flag}" for flag in parameter.opts if f"`{flag}`" not in sections[name]]
    assert not missing, f"not in docs/cli.md: {missing}; run .venv/bin/python tools/gen_cli_docs.py"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        file = page if not path else (page.parent / path).resolve()
        if not file.exists():
            broken.append(f"{target} (no file {file})")
            continue
        if ROOT not in file.parents and file != ROOT:
            broken.append(f"{target} (outside the repository)")
            continue
        if anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target} (no heading #{anchor} in {file.relative_to(ROOT)})")
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"


def test_the_readme_fits_a_newcomer():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) < README_LIMIT, f"README.md has {len(lines)} lines; move detail to docs/"


def test_the_link_checker_finds_a_broken_link_and_anchor(tmp_path):
    (tmp_path / "a.md").write_text("# Title `x`\n\n## Two words\n")
    page = tmp_path / "b.md"
    page.write_text(
        "[ok](a.md#two-words) [ok](a.md#title-x) [bad](a.md#nope) [gone](c.md) `[code](d.md)` [web](https://x)"
    )
    assert links(page) == ["a.md#two-words", "a.md#title-x", "a.md#nope", "c.md"]
    assert anchors(tmp_path / "a.md") == {"title-x", "two-words"}
