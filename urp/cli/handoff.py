"""``urp handoffs stats|sweep``: the conversations handed to the office's operators.

The queue is :mod:`urp.handoff.queue`; ``sweep`` reaches the citizens through Rasa's API.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from urp.cli import common
from urp.core.settings import Settings, load_settings

if TYPE_CHECKING:
    from urp.handoff.queue import HandoffService
    from urp.handoff.records import Handoff


def _handoff_service(settings: Settings) -> HandoffService:
    from urp.handoff.queue import HandoffService

    return HandoffService(common.database(), settings)


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _handoffs_stats(args: argparse.Namespace) -> int:
    settings = load_settings()
    days = _handoff_service(settings).stats(settings.timezone)
    # Counts and times only: never a conversation id (the phone number on WhatsApp).
    if args.json:
        print(json.dumps([asdict(day) for day in days], ensure_ascii=False, indent=2))
        return 0
    if not days:
        print("Nessuna conversazione passata all'URP.")
        return 0
    print(f"Conversazioni passate all'URP: {sum(day.handoffs for day in days)}")
    print("Tempi in minuti: attesa fino alla presa in carico, risoluzione fino alla chiusura.")
    print(
        f"\n{'giorno':<10} {'totale':>6} {'prese':>6} {'chiuse':>6} "
        f"{'attesa med.':>11} {'p90':>5} {'risol. med.':>11} {'p90':>5}"
    )
    for day in days:
        print(
            f"{day.day:<10} {day.handoffs:>6} {day.assigned:>6} {day.resolved:>6} "
            f"{_minutes(day.wait_median):>11} {_minutes(day.wait_p90):>5} "
            f"{_minutes(day.resolution_median):>11} {_minutes(day.resolution_p90):>5}"
        )
    return 0


def _handoffs_sweep(args: argparse.Namespace) -> int:
    from urp.handoff.chat import HandoffChat
    from urp.handoff.rasa_api import RasaConversations
    from urp.widget.outbox import WebOutbox

    try:
        conversations = RasaConversations.from_environment()
    except ValueError:
        return common.fail(
            "per avvisare i cittadini serve il segreto dell'API di Rasa (RASA_JWT_SECRET)"
        )
    # The web chat keeps what its citizens have not had yet: those are not sent again.
    chat = HandoffChat(
        _handoff_service(load_settings()), conversations, receipts=WebOutbox(common.database())
    )
    result = chat.sweep()
    redelivered = chat.redeliver()

    def ids(handoffs: Sequence[Handoff]) -> str:
        return f" (conversazioni {', '.join(str(h.id) for h in handoffs)})" if handoffs else ""

    print(f"Cittadini avvisati di nuovo dell'attesa: {len(result.remind)}{ids(result.remind)}")
    print(
        f"Conversazioni rimesse in coda perché inattive: {len(result.released)}"
        f"{ids(result.released)}"
    )
    if result.resolved:
        print(f"Conversazioni chiuse perché inattive: {len(result.resolved)}{ids(result.resolved)}")
    print(f"Risposte degli operatori rimandate: {redelivered}")
    return 0


def add_parsers(commands: common.Commands) -> None:
    """``urp handoffs``."""
    actions = common.group(commands, "handoffs", "conversazioni passate agli operatori")
    stats = actions.add_parser(
        "stats", help="conversazioni, attesa e tempi di risoluzione per giorno"
    )
    stats.add_argument("--json", action="store_true", help="stampa in formato JSON")
    stats.set_defaults(handler=_handoffs_stats)
    sweep = actions.add_parser(
        "sweep",
        help="avvisa chi aspetta, rimette in coda le chat inattive, rimanda le risposte "
        "non consegnate",
    )
    sweep.set_defaults(handler=_handoffs_sweep)
