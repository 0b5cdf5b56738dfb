"""``urp review collect|list|export|label|discard`` and ``urp nlu add``: the trainers' loop.

The inbox is :mod:`urp.review`; every command reads the store named by ``URP_DB_URL`` and
writes into the project's ``data/nlu``.
"""

from __future__ import annotations

import argparse
import getpass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from urp.cli import common
from urp.review.inbox import REASON_LABELS, group
from urp.review.training import TrainingData

if TYPE_CHECKING:
    from urp.review.store import ReviewStore

TRACKER_STORE_VARIABLE = "URP_TRACKER_STORE_URL"


def _store() -> ReviewStore:
    # Imported here: the CLI starts fast.
    from urp.core.hashing import UserHasher
    from urp.review.store import ReviewStore

    return ReviewStore(common.database(), UserHasher.from_environment())


def _collect(args: argparse.Namespace) -> int:
    from urp.privacy import tracker_store_url
    from urp.review.inbox import ReviewCollector
    from urp.review.tracker import tracker_events

    # The same tracker store as the privacy purge: make run's SQLite file by default.
    url = args.tracker_store or tracker_store_url()
    since = datetime.fromisoformat(args.since).astimezone() if args.since else None
    store = _store()
    collector = ReviewCollector()
    events = counted = 0
    batch = []
    for event in tracker_events(url, since):
        events += 1
        batch += collector.feed(event)
        if len(batch) >= 200:
            counted += store.record(batch)
            batch = []
    counted += store.record(batch)
    print(
        f"Letti {events} eventi dal tracker store: {counted} messaggi nuovi nella casella, "
        f"{store.counts()['open']} da rivedere in tutto."
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    items = _store().open_items(args.limit)
    if not items:
        print("La casella è vuota: nessun messaggio da rivedere.")
        return 0
    for number, found in enumerate(group(items), start=1):
        print(
            f"Gruppo {number}: {found.occurrences} messaggi, intent suggerito "
            f"{found.suggested_intent or '-'}"
        )
        for item in found.items:
            reasons = ", ".join(REASON_LABELS[r] for r in item.reasons)
            print(f"  n. {item.id} ({item.occurrences}x, {reasons}): {item.text}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from urp.review.export import to_nlu_yaml

    items = _store().open_items(args.limit)
    args.out.write_text(to_nlu_yaml(items), encoding="utf-8")
    print(f"Esportati {len(items)} messaggi da rivedere in {args.out} (formato NLU di Rasa).")
    return 0


def _label(args: argparse.Namespace) -> int:
    training = TrainingData.from_environment()
    added = _store().label(args.id, args.intent, args.by, training, text=args.text)
    print(f"Esempio aggiunto a {added.path.name} come {added.intent}: {added.text}")
    return 0


def _discard(args: argparse.Namespace) -> int:
    _store().discard(args.id, args.by)
    print(f"Messaggio n. {args.id} scartato.")
    return 0


def _nlu_add(args: argparse.Namespace) -> int:
    added = TrainingData.from_environment().add(args.intent, args.text)
    print(f"Esempio aggiunto a {added.path} come {added.intent}: {added.text}")
    print("Poi: `make train` e `make eval-nlu` per vedere cosa è migliorato.")
    return 0


def add_parsers(commands: common.Commands) -> None:
    """``urp review`` and ``urp nlu``."""
    actions = common.group(commands, "review", "casella dei formatori: messaggi da rivedere")
    collect = actions.add_parser(
        "collect", help="legge il tracker store SQL di Rasa e riempie la casella"
    )
    collect.add_argument(
        "--tracker-store",
        metavar="URL",
        help=f"URL SQLAlchemy del tracker store (predefinito ${TRACKER_STORE_VARIABLE}, "
        "altrimenti il file SQLite di make run)",
    )
    collect.add_argument("--since", metavar="AAAA-MM-GG", help="solo gli eventi da questa data")
    collect.set_defaults(handler=_collect)
    listing = actions.add_parser("list", help="i messaggi da rivedere, raggruppati")
    listing.add_argument("--limit", type=int, default=500)
    listing.set_defaults(handler=_list)
    export = actions.add_parser("export", help="esporta la casella in un file NLU YAML di Rasa")
    export.add_argument("--out", type=Path, required=True, metavar="FILE")
    export.add_argument("--limit", type=int, default=500)
    export.set_defaults(handler=_export)
    label = actions.add_parser("label", help="aggiunge un messaggio come esempio di un intent")
    label.add_argument("id", type=int)
    label.add_argument("intent")
    label.add_argument("--text", help="il testo corretto, se diverso dal messaggio")
    label.add_argument("--by", default=getpass.getuser(), help="chi decide (per il registro)")
    label.set_defaults(handler=_label)
    discard = actions.add_parser("discard", help="scarta un messaggio")
    discard.add_argument("id", type=int)
    discard.add_argument("--by", default=getpass.getuser(), help="chi decide (per il registro)")
    discard.set_defaults(handler=_discard)

    nlu_actions = common.group(commands, "nlu", "dati di addestramento NLU (data/nlu)")
    add = nlu_actions.add_parser(
        "add", help="aggiunge un esempio nel file del suo intent, se non è un doppione"
    )
    add.add_argument("intent")
    add.add_argument("text")
    add.set_defaults(handler=_nlu_add)
