"""``urp faq import|export|list|ask``: the office's knowledge base (:mod:`urp.faq`)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from urp.cli import common

if TYPE_CHECKING:
    from urp.faq.store import FaqService

# How many of the best matches ``urp faq ask`` shows with their scores.
SHOWN_MATCHES = 3


def _score(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


def _faq_import(args: argparse.Namespace) -> int:
    from urp.faq.entries import read_faq_file
    from urp.faq.store import FaqService

    entries = read_faq_file(args.file)  # every problem of the file, before any writing
    by = (args.by or "").strip() or getpass.getuser()
    service = FaqService(common.database())
    result = service.import_entries(entries, by=by)
    print(f"FAQ: nuove {result.added}, sostituite {result.replaced}, invariate {result.unchanged}.")
    _fill_meanings(service)
    return 0


def _fill_meanings(service: FaqService) -> None:
    """The new questions' vectors, computed once here: the running assistant's replicas
    then rebuild their index by reading them. The import is already written: a failure
    here is only a warning (the assistant computes what is missing)."""
    from urp.faq.meanings import fill

    try:
        computed = fill(service)
    except Exception as error:  # the entries are imported all the same
        print(
            f"Attenzione: significato delle domande non calcolato ({error}); "
            "lo calcolerà l'assistente.",
            file=sys.stderr,
        )
        return
    if computed:
        questions = "1 domanda nuova" if computed == 1 else f"{computed} domande nuove"
        print(f"Significato calcolato per {questions}.")


def _faq_export(args: argparse.Namespace) -> int:
    from urp.faq.entries import write_faq_file
    from urp.faq.store import FaqService

    entries = FaqService(common.database()).entries()
    write_faq_file(args.file, entries)
    print(f"Esportate {len(entries)} voci pubblicate in {args.file}.")
    return 0


def _faq_list(args: argparse.Namespace) -> int:
    from urp.core.text import fold
    from urp.faq.entries import DRAFT, PUBLISHED
    from urp.faq.store import FaqService

    statuses = (PUBLISHED, DRAFT) if args.drafts else (PUBLISHED,)
    entries = FaqService(common.database()).entries(statuses)
    if args.topic:
        entries = [e for e in entries if e.topic and fold(e.topic) == fold(args.topic)]
    if not entries:
        print("Nessuna voce: caricale con `urp faq import FILE`.")
        return 0
    topic: str | None = ""
    for entry in entries:
        if entry.topic != topic:
            topic = entry.topic
            print(f"\n{topic or 'Senza argomento'}:")
        draft = " [bozza]" if entry.status == DRAFT else ""
        count = len(entry.questions)
        print(
            f"  {entry.id}{draft}: {common.clip(entry.title, 60)} "
            f"({count} domand{'a' if count == 1 else 'e'})"
        )
    drafts = sum(entry.status == DRAFT for entry in entries)
    published = len(entries) - drafts
    summary = "1 voce pubblicata" if published == 1 else f"{published} voci pubblicate"
    if drafts:
        summary += ", 1 bozza" if drafts == 1 else f", {drafts} bozze"
    print(f"\n{summary}.")
    return 0


def _faq_ask(args: argparse.Namespace) -> int:
    from urp.core.settings import load_settings
    from urp.faq.search import LiveFaqIndex
    from urp.faq.store import FaqService

    index = LiveFaqIndex(FaqService(common.database()), load_settings().faq)
    answer = index.answer(args.question)
    if answer.kind == "answer":
        [match] = answer.matches
        print(f"Risposta (voce {match.entry.id}):\n{match.entry.answer}")
        if match.entry.link:
            print(match.entry.link)
    elif answer.kind == "suggestions":
        print("Forse cerchi:")
        for match in answer.matches:
            print(f"• {match.entry.title} ({match.entry.id})")
    else:
        print(
            "Nessuna risposta dalle FAQ: l'assistente dice che non se ne occupa e offre un operatore."
        )
    matches = index.search(args.question, limit=SHOWN_MATCHES)
    print("\nPunteggi migliori:" if matches else "\nNessuna voce somiglia alla domanda.")
    for match in matches:
        print(f"  {_score(match.score)}  {match.entry.id}: «{common.clip(match.question, 60)}»")
    return 0


def add_parsers(commands: common.Commands) -> None:
    """``urp faq``."""
    actions = common.group(commands, "faq", "base di conoscenza: le risposte dell'ufficio")
    load = actions.add_parser(
        "import", help="aggiunge o sostituisce le voci di un file YAML (per id)"
    )
    load.add_argument("file", type=Path, help="file .yml: elenco di voci id, questions, answer")
    load.add_argument(
        "--by", metavar="NOME", help="chi importa (predefinito: l'utente del sistema)"
    )
    load.set_defaults(handler=_faq_import)
    export = actions.add_parser("export", help="scrive le voci pubblicate in un file YAML")
    export.add_argument("file", type=Path, help="file .yml da scrivere")
    export.set_defaults(handler=_faq_export)
    listing = actions.add_parser("list", help="elenca le voci, per argomento")
    listing.add_argument("--topic", metavar="ARGOMENTO", help="solo le voci di questo argomento")
    listing.add_argument("--drafts", action="store_true", help="anche le bozze")
    listing.set_defaults(handler=_faq_list)
    ask = actions.add_parser("ask", help="cosa risponderebbe l'assistente, con i punteggi")
    ask.add_argument("question", metavar="DOMANDA", help="la domanda, tra virgolette")
    ask.set_defaults(handler=_faq_ask)
