"""The documentation names only what exists: every command it shows is a command (with those
options), the README's links lead to files in the repository, and the partner-file page's
example is the example file. Broken links between docs pages are `make docs`'s (strict) job."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

import main

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# `python main.py ...`, `.venv/bin/python main.py ...`, or the console script at the start of a
# code span or line (`rebill` alone is also the name of a system user in deployment.md).
_COMMAND = re.compile(r"main\.py((?: +[^ \n`#;]+)*)|(?:^|`|/bin/)rebill((?: +[^ \n`#;]+)*)", re.M)


def _commands() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for match in _COMMAND.finditer(page.read_text(encoding="utf-8")):
            words = (match.group(1) or match.group(2) or "").strip()
            if words:
                found.append((page.name, words))
    return found


def _options(command: Any) -> dict[str, Any]:
    return {opt: param for param in command.params for opt in param.opts + param.secondary_opts}


def _check(words: list[str]) -> str | None:
    """Walk the command tree along `words`; the first thing shown that does not exist."""
    command: Any = typer.main.get_command(main.app)  # Typer vendors its own click
    path: list[str] = []
    rest = list(words)
    while rest and hasattr(command, "commands"):  # a group
        word = rest.pop(0)
        if word.startswith("-"):  # an option of the group (`--debug`, `reconcile --partner P`)
            param = _options(command).get(word.split("=")[0].strip("[]"))
            if param is None and word.strip("[]") != "--help":
                return f"`{' '.join(path) or 'main.py'}` has no option {word}"
            if param is not None and not param.is_flag and "=" not in word and rest:
                rest.pop(0)  # its value
            continue
        alternatives = word.strip("[]").split("|")  # `invoices list|show|void`: each must exist
        if not all(re.fullmatch(r"[a-z][a-z-]*", name) for name in alternatives):
            return None  # a placeholder (COMMAND, ...) or an argument
        missing = [name for name in alternatives if name not in command.commands]
        if missing:
            return f"no command `{' '.join([*path, *missing])}`"
        if len(alternatives) > 1:
            return None
        command = command.commands[word.strip("[]")]
        path.append(word.strip("[]"))
    known = {*_options(command), "--help"}
    shown = {m.group(0) for m in re.finditer(r"--[a-z][a-z-]*", " ".join(rest))}
    unknown = sorted(shown - known)
    if unknown:
        return f"`{' '.join(path)}` has no option {', '.join(unknown)}"
    return None


@pytest.mark.parametrize(("page", "words"), _commands())
def test_every_command_shown_exists(page: str, words: str) -> None:
    problem = _check(words.split())
    assert problem is None, f"{page}: {words}: {problem}"


def test_readme_links_lead_to_files() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if not re.match(r"[a-z]+://", t)]
    assert local, "the README links into docs/"
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, f"README links to missing files: {missing}"


def test_partner_file_page_shows_the_example_file() -> None:
    page = (ROOT / "docs" / "partner-file.md").read_text(encoding="utf-8")
    example = (ROOT / "examples" / "acme.toml").read_text(encoding="utf-8")
    assert f"```toml\n{example}```" in page
