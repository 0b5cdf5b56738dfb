"""``urp calls load|list``: calls for grants and contributions (:mod:`urp.information.contributions`).

The command keeps its public name, ``calls``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from urp.cli import common
from urp.core.settings import load_settings


def _calls_load(args: argparse.Namespace) -> int:
    from urp.information.contributions import ContributionService, read_contributions

    report = ContributionService(common.database()).load(read_contributions(args.file))
    print(common.upserted(report, "Bandi", "i"))
    return 0


def _calls_list(args: argparse.Namespace) -> int:
    from urp.information.contributions import ContributionService, ContributionState

    today = common.today(load_settings())
    contributions = ContributionService(common.database()).contributions()
    if not contributions:
        print("Nessun bando caricato.")
    for contribution in contributions:
        state = contribution.state(today)
        if state == ContributionState.OPEN:
            closes_on = contribution.closes_on
            when = "aperto" + (f" fino al {closes_on:%d/%m/%Y}" if closes_on else "")
        elif state == ContributionState.CLOSED:
            when = f"chiuso il {contribution.closes_on:%d/%m/%Y}"
        elif contribution.opens_on:
            when = f"in arrivo, apre il {contribution.opens_on:%d/%m/%Y}"
        else:
            when = f"in arrivo ({contribution.expected})"
        print(f"{contribution.title} [{contribution.key}]: {when}")
    return 0


def add_parsers(commands: common.Commands) -> None:
    """``urp calls``."""
    actions = common.group(commands, "calls", "bandi e contributi")
    load = actions.add_parser("load", help="carica o aggiorna i bandi da un file YAML")
    load.add_argument("file", type=Path, help="file .yml con l'elenco calls")
    load.set_defaults(handler=_calls_load)
    listing = actions.add_parser("list", help="i bandi, aperti, in arrivo o chiusi")
    listing.set_defaults(handler=_calls_list)
