"""``urp --help`` at every level, against ``cli_help.txt`` (made from the CLI before its split).

Operators and the docs rely on these texts: a change must be deliberate. After one, write
the new file with ``.venv/bin/python -m tests.unit.test_cli_help > tests/unit/cli_help.txt``
and review its diff.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from urp.cli import build_parser

GOLDEN = Path(__file__).with_name("cli_help.txt")


def parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ("urp",)
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the tree, depth first, in the order ``--help`` lists the commands."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, (*path, name))


def help_tree() -> str:
    """What ``urp ... --help`` prints for every command, each under ``== urp ...``."""
    return "".join(
        f"== {' '.join(path)}\n{parser.format_help()}" for path, parser in parsers(build_parser())
    )


def test_every_help_text_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # argparse wraps to the terminal's width
    expected = GOLDEN.read_text(encoding="utf-8")
    actual = help_tree()
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            str(GOLDEN.name),
            "urp --help",
        )
    )
    assert actual == expected, diff


def test_every_command_has_a_handler() -> None:
    leaves = [
        (path, parser)
        for path, parser in parsers(build_parser())
        if not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
    ]
    assert len(leaves) > 40
    assert [path for path, parser in leaves if not callable(parser.get_default("handler"))] == []


if __name__ == "__main__":
    os.environ["COLUMNS"] = "80"
    sys.stdout.write(help_tree())
