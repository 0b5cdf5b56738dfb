"""``urp``: the command line for the URP office and for deployers.

One module per command group, named after the feature it drives (``urp calls`` is
:mod:`urp.cli.contributions`); each adds its parsers and holds its handlers. This module
only puts the groups together, in the order ``urp --help`` lists them, and runs one.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from urp.cli import (
    bathing,
    broadcasts,
    common,
    console,
    contributions,
    db,
    examples,
    faq,
    handoff,
    memo,
    nlu,
    operators,
    pharmacy,
    privacy,
    quick_replies,
    reports,
    review,
    settings,
    subscription,
    widget,
)
from urp.core import log_privacy

# ``broadcasts`` adds ``memo publish``, so it comes after ``memo``.
GROUPS = (
    settings,
    nlu,
    db,
    subscription,
    memo,
    broadcasts,
    pharmacy,
    bathing,
    contributions,
    faq,
    reports,
    operators,
    handoff,
    privacy,
    quick_replies,
    console,
    widget,
    examples,
    review,
)


def build_parser() -> argparse.ArgumentParser:
    """Every command, each with a ``handler`` default that runs it."""
    parser = argparse.ArgumentParser(prog="urp", description="Sportello URP: comandi di gestione")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMANDO")
    for group in GROUPS:
        group.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The ``urp`` console script: 0 done, 2 something the operator must correct."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log_privacy.install()
    args = build_parser().parse_args(argv)
    return common.run(args.handler, args)
