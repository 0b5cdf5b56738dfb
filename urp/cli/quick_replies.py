"""``urp quick-replies load|list``: the operators' canned answers (:mod:`urp.handoff.quick_replies`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from urp.cli import common


def _quick_replies_load(args: argparse.Namespace) -> int:
    from urp.handoff.quick_replies import QuickReplyService, read_quick_replies

    load = QuickReplyService(common.database()).load(read_quick_replies(args.file))
    print(
        f"Risposte rapide: nuove {load.created}, aggiornate {load.updated}, "
        f"invariate {load.unchanged}, tolte {load.removed}."
    )
    return 0


def _quick_replies_list(args: argparse.Namespace) -> int:
    from urp.handoff.quick_replies import QuickReplyService

    replies = QuickReplyService(common.database()).list()
    if not replies:
        print("Nessuna risposta rapida: caricale con `urp quick-replies load FILE`.")
    for number, reply in enumerate(replies, start=1):
        print(f"{number}. {reply.title}: {common.clip(reply.text)}")
    return 0


def add_parsers(commands: common.Commands) -> None:
    """``urp quick-replies``."""
    actions = common.group(commands, "quick-replies", "risposte rapide degli operatori")
    load = actions.add_parser(
        "load", help="rende le risposte rapide uguali a quelle di un file YAML"
    )
    load.add_argument("file", type=Path, help="file .yml con l'elenco quick_replies")
    load.set_defaults(handler=_quick_replies_load)
    listing = actions.add_parser("list", help="elenca le risposte rapide")
    listing.set_defaults(handler=_quick_replies_list)
