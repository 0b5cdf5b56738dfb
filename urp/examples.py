"""The example office data shipped with a settings file (``example_data``).

A folder with ``memo*.yml``, ``farmacie.csv``, ``bandi.yml``, optionally the operators'
quick replies ``risposte-rapide.yml``, the office's FAQ ``faq.yml`` and, for
municipalities by the sea, ``balneazione.yml``. ``make run`` loads it into an empty store,
so that a fresh machine answers about memos, pharmacies, bathing, contributions and the
Comune's other questions from the start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from urp.core.clock import Clock, utc_now
from urp.core.data_files import DataFileError
from urp.core.db import Database
from urp.core.settings import Settings
from urp.faq.entries import read_faq_file
from urp.faq.store import FaqService
from urp.handoff.quick_replies import QuickReplyService, read_quick_replies
from urp.information.bathing import BathingService, read_zones
from urp.information.contributions import ContributionService, read_contributions
from urp.information.memo import MemoService, read_memo
from urp.information.pharmacy import PharmacyService, read_shifts

PHARMACIES_FILE = "farmacie.csv"
BATHING_FILE = "balneazione.yml"
CONTRIBUTIONS_FILE = "bandi.yml"
QUICK_REPLIES_FILE = "risposte-rapide.yml"
FAQ_FILE = "faq.yml"
# Who the example FAQ entries were last changed by.
EXAMPLES_AUTHOR = "esempi"


@dataclass(frozen=True)
class ExampleLoad:
    folder: Path
    memos: int
    shifts: int
    zones: int
    contributions: int
    quick_replies: int
    faq_entries: int = 0


def load_examples(
    database: Database, settings: Settings, folder: Path, *, clock: Clock = utc_now
) -> ExampleLoad:
    """Load every file of ``folder``; all files are checked before anything is written.

    Memos go last: a store with a memo has the whole example (``--if-empty`` relies on it).
    Loading again changes nothing.
    """
    if not folder.is_dir():
        raise DataFileError(f"{folder}: la cartella dei dati d'esempio non esiste")
    memo_files = sorted(folder.glob("memo*.yml"))
    if not memo_files:
        raise DataFileError(f"{folder}: nessun file memo*.yml")
    for required in (PHARMACIES_FILE, CONTRIBUTIONS_FILE):
        if not (folder / required).is_file():
            raise DataFileError(f"{folder}: manca {required}")
    memos = [
        read_memo(path, settings.memo_header, settings.subscription.topics) for path in memo_files
    ]
    shifts = read_shifts(folder / PHARMACIES_FILE)
    zones = read_zones(folder / BATHING_FILE) if (folder / BATHING_FILE).is_file() else []
    contributions = read_contributions(folder / CONTRIBUTIONS_FILE)
    replies_path = folder / QUICK_REPLIES_FILE
    replies = read_quick_replies(replies_path) if replies_path.is_file() else []
    faq_path = folder / FAQ_FILE
    faq_entries = read_faq_file(faq_path) if faq_path.is_file() else []

    PharmacyService(database).load(shifts)
    if zones:
        BathingService(database, clock=clock).load(zones)
    ContributionService(database, clock=clock).load(contributions)
    if replies:
        QuickReplyService(database).load(replies)
    if faq_entries:
        FaqService(database, clock=clock).import_entries(faq_entries, by=EXAMPLES_AUTHOR)
    memo_service = MemoService(database, clock=clock)
    for memo in memos:
        memo_service.publish(memo)
    return ExampleLoad(
        folder,
        len(memos),
        len(shifts),
        len(zones),
        len(contributions),
        len(replies),
        len(faq_entries),
    )


def load_faq_examples(database: Database, folder: Path, *, clock: Clock = utc_now) -> int:
    """Only the example FAQ (a store filled before the FAQ existed gets it too); 0 when
    the folder has none. Loading again changes nothing."""
    faq_path = folder / FAQ_FILE
    if not faq_path.is_file():
        return 0
    entries = read_faq_file(faq_path)
    FaqService(database, clock=clock).import_entries(entries, by=EXAMPLES_AUTHOR)
    return len(entries)
