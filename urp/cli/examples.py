"""``urp data load-examples``: the example data named in the settings (:mod:`urp.examples`)."""

from __future__ import annotations

import argparse

from urp.cli import common
from urp.core.settings import load_settings


def _data_load_examples(args: argparse.Namespace) -> int:
    from urp.examples import load_examples
    from urp.information.memo import MemoService

    settings = load_settings()
    if settings.example_data is None:
        print(f"Nessun dato d'esempio indicato in {settings.source} (example_data).")
        return 0
    database = common.database()
    if args.if_empty and MemoService(database).current() is not None:
        print("Il database contiene già un memo: dati d'esempio non caricati.")
        return 0
    load = load_examples(database, settings, settings.example_data)
    print(
        f"Dati d'esempio caricati da {load.folder}: {load.memos} memo, {load.shifts} turni "
        f"di farmacia, {load.zones} zone di balneazione, {load.contributions} bandi, "
        f"{load.quick_replies} risposte rapide."
    )
    return 0


def add_parsers(commands: common.Commands) -> None:
    """``urp data``."""
    actions = common.group(commands, "data", "dati dell'ufficio")
    load = actions.add_parser(
        "load-examples", help="carica i dati d'esempio indicati nelle impostazioni (example_data)"
    )
    load.add_argument(
        "--if-empty", action="store_true", help="solo se il database non ha ancora nessun memo"
    )
    load.set_defaults(handler=_data_load_examples)
