"""The example office data shipped with a settings file (``example_data``).

A folder with ``memo*.yml``, ``farmacie.csv``, ``bandi.yml``, optionally the operators'
quick replies ``risposte-rapide.yml`` and, for municipalities by the sea,
``balneazione.yml``. ``make run`` loads it into an empty store, so that a fresh
machine answers about memos, pharmacies, bathing and contributions from the start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from urp.core.clock import Clock, utc_now
from urp.core.data_files import DataFileError
from urp.core.db import Database
from urp.core.settings import Settings
from urp.handoff.quick_replies import QuickReplyService, read_quick_replies
from urp.information.bathing import BathingService, read_zones
from urp.information.contributions import ContributionService, read_contributions
from urp.information.memo import MemoService, read_memo
from urp.information.pharmacy import PharmacyService, read_shifts

PHARMACIES_FILE = "farmacie.csv"
BATHING_FILE = "balneazione.yml"
CONTRIBUTIONS_FILE = "bandi.yml"
QUICK_REPLIES_FILE = "risposte-rapide.yml"


@dataclass(frozen=True)
class ExampleLoad:
    folder: Path
    memos: int
    shifts: int
    zones: int
    contributions: int
    quick_replies: int


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

    PharmacyService(database).load(shifts)
    if zones:
        BathingService(database, clock=clock).load(zones)
    ContributionService(database, clock=clock).load(contributions)
    if replies:
        QuickReplyService(database).load(replies)
    memo_service = MemoService(database, clock=clock)
    for memo in memos:
        memo_service.publish(memo)
    return ExampleLoad(
        folder, len(memos), len(shifts), len(zones), len(contributions), len(replies)
    )
