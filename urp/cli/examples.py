"""``urp data load-examples``: the example data named in the settings (:mod:`urp.examples`)."""

from __future__ import annotations

import argparse

from urp.cli import common
from urp.core.settings import load_settings


def _data_load_examples(args: argparse.Namespace) -> int:
    from urp.examples import load_examples, load_faq_examples
    from urp.faq.entries import DRAFT, PUBLISHED, RETIRED
    from urp.faq.store import FaqService
    from urp.information.memo import MemoService

    settings = load_settings()
    if settings.example_data is None:
        print(f"Nessun dato d'esempio indicato in {settings.source} (example_data).")
        return 0
    database = common.database()
    if args.if_empty and MemoService(database).current() is not None:
        # A store filled before the FAQ existed still gets the example FAQ, once.
        has_faq = bool(FaqService(database).entries((DRAFT, PUBLISHED, RETIRED)))
        count = 0 if has_faq else load_faq_examples(database, settings.example_data)
        print(
            "Il database contiene già un memo: dati d'esempio non caricati"
            + (f", tranne le {count} voci delle FAQ d'esempio." if count else ".")
        )
        return 0
    load = load_examples(database, settings, settings.example_data)
    print(
        f"Dati d'esempio caricati da {load.folder}: {load.memos} memo, {load.shifts} turni "
        f"di farmacia, {load.zones} zone di balneazione, {load.contributions} bandi, "
        f"{load.quick_replies} risposte rapide, {load.faq_entries} voci delle FAQ."
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
