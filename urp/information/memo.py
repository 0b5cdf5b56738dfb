"""The office's memo: published with ``urp memo add``, sent to citizens on WhatsApp.

A memo is dated and has a header line and items (an UPPERCASE title, two or three plain
sentences, a short link, optionally the subscription topic it belongs to). The current
memo is the latest published. :func:`format_memo` turns it into WhatsApp messages.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from urp.core.clock import Clock, utc_now
from urp.core.data_files import (
    Change,
    Located,
    Problems,
    day_value,
    is_web_link,
    link_value,
    list_value,
    parse_day,
    read_yaml,
    text_value,
)
from urp.core.db import Database
from urp.core.models import Memo as MemoRow
from urp.core.models import MemoItem as MemoItemRow
from urp.core.settings import Topic
from urp.core.text import MESSAGE_LIMIT, pack_messages

# WhatsApp refuses longer texts: every message stays below this many characters.


@dataclass(frozen=True)
class MemoItem:
    title: str  # UPPERCASE
    text: str
    link: str
    topic: str | None = None  # a subscription topic key


@dataclass(frozen=True)
class Memo:
    published_on: date
    header: str  # "MEMO COMUNE DI ANCONA"
    items: tuple[MemoItem, ...]


class MemoService:
    """Memos in the store: publish (one per date), the current one, the list."""

    def __init__(self, database: Database, *, clock: Clock = utc_now) -> None:
        self._db = database
        self._clock = clock

    def publish(self, memo: Memo) -> Change:
        """Store ``memo``; a memo with the same date is replaced (reloading changes nothing)."""
        with self._db.transaction(write=True) as session:
            row = session.execute(
                select(MemoRow).where(MemoRow.published_on == memo.published_on)
            ).scalar_one_or_none()
            if row is None:
                row = MemoRow(published_on=memo.published_on, header=memo.header)
                change = Change.CREATED
            elif self._read(session, row) == memo:
                return Change.UNCHANGED
            else:
                row.header = memo.header
                session.execute(delete(MemoItemRow).where(MemoItemRow.memo_id == row.id))
                change = Change.UPDATED
            row.added_at = self._clock()
            session.add(row)
            session.flush()
            session.add_all(
                MemoItemRow(
                    memo_id=row.id,
                    position=position,
                    title=item.title,
                    text=item.text,
                    link=item.link,
                    topic=item.topic,
                )
                for position, item in enumerate(memo.items, start=1)
            )
            return change

    def current(self, today: date | None = None) -> Memo | None:
        """The latest memo; with ``today``, the latest not dated after it.

        A memo prepared in advance for next week is not out yet.
        """
        query = select(MemoRow).order_by(MemoRow.published_on.desc()).limit(1)
        if today is not None:
            query = query.where(MemoRow.published_on <= today)
        with self._db.transaction() as session:
            row = session.execute(query).scalar_one_or_none()
            return self._read(session, row) if row else None

    def memos(self) -> list[Memo]:
        """Every memo, newest first."""
        with self._db.transaction() as session:
            rows = session.execute(select(MemoRow).order_by(MemoRow.published_on.desc()))
            return [self._read(session, row) for row in rows.scalars()]

    def on(self, published_on: date) -> Memo | None:
        """The memo of that date (its web page: one stable address per memo)."""
        query = select(MemoRow).where(MemoRow.published_on == published_on)
        with self._db.transaction() as session:
            row = session.execute(query).scalar_one_or_none()
            return self._read(session, row) if row else None

    @staticmethod
    def stored(session: Session, memo_id: int) -> Memo | None:
        """The memo with that row id, in the caller's transaction (a broadcast's memo)."""
        row = session.get(MemoRow, memo_id)
        return MemoService._read(session, row) if row is not None else None

    @staticmethod
    def _read(session: Session, row: MemoRow) -> Memo:
        items = session.execute(
            select(MemoItemRow).where(MemoItemRow.memo_id == row.id).order_by(MemoItemRow.position)
        ).scalars()
        return Memo(
            row.published_on,
            row.header,
            tuple(MemoItem(i.title, i.text, i.link, i.topic) for i in items),
        )


# -- WhatsApp text -----------------------------------------------------------------------


def format_memo(memo: Memo, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The memo as WhatsApp messages, each shorter than ``limit`` characters.

    Header and items are separated by a blank line, titles in ``*bold*``. Messages break
    between items; an item is cut only when it alone is too long, at the end of a sentence
    (else at a space).
    """
    blocks = [f"*{memo.header}*\n{memo.published_on:%d/%m/%Y}"]
    blocks += [f"*{item.title}*\n{item.text}\n{item.link}" for item in memo.items]
    return pack_messages(blocks, limit)


# -- «Leggi il memo»: one template outside the window, the memo on request ----------------
#
# Outside the 24-hour window each message of a broadcast is a paid template, so a subscriber
# there gets one only: a short teaser with the link to the memo's web page and the template's
# quick-reply button «Leggi il memo». Tapping it is a message from the citizen, which opens
# the window: the whole memo follows free of charge (urp.broadcasts.delivery, the channel).

MEMO_BUTTON = "Leggi il memo"  # the quick-reply button's text in the approved template
MEMO_PAYLOAD_PREFIX = "memo:"  # "memo:<send_key>", if the button's payload is set on sending
# Where the widget's site (``urp widget serve``) is reachable by citizens: the memo's web
# page is there. Without it the teaser has no link (the button still works).
SITE_VARIABLE = "URP_WIDGET_PUBLIC_URL"
TEASER_MAX = 1000  # Meta's limit for a template's body parameter


def memo_path(published_on: date) -> str:
    """The memo's page on the widget's site: one per date, as memos are."""
    return f"/memo/{published_on:%Y-%m-%d}"


def memo_site(environ: Mapping[str, str] = os.environ) -> str | None:
    """The widget site's public address (``URP_WIDGET_PUBLIC_URL``), or None if unset or
    not a web address (a citizen's link must never point at a wrong or local place)."""
    site = (environ.get(SITE_VARIABLE) or "").strip().rstrip("/")
    return site if is_web_link(site + "/") else None


def memo_url(site: str | None, published_on: date) -> str | None:
    return f"{site.rstrip('/')}{memo_path(published_on)}" if site else None


def is_memo_request(text: str | None) -> bool:
    """Whether a template's quick reply is «Leggi il memo» (its payload or its text)."""
    value = (text or "").strip()
    return value.startswith(MEMO_PAYLOAD_PREFIX) or value.casefold() == MEMO_BUTTON.casefold()


def memo_teaser(memo: Memo, link: str | None = None, limit: int = TEASER_MAX) -> str:
    """The one template's text: what the memo is about, in one line (Meta refuses new lines
    in a parameter), then where to read it; never longer than ``limit``.

    «MEMO COMUNE DI ANCONA del 05/12/2026: SCIOPERO BUS · BANDO LIBRI. Tocca «Leggi il
    memo» per riceverlo qui, oppure aprilo su https://...»
    """
    head = f"{memo.header} del {memo.published_on:%d/%m/%Y}"
    where = f"Tocca «{MEMO_BUTTON}» per riceverlo qui"
    where += f", oppure aprilo su {link}" if link else ""
    where += "."
    titles = " · ".join(re.sub(r"\s+", " ", item.title).strip() for item in memo.items)
    room = limit - len(head) - len(where) - 4  # ": " and ". " between the three parts
    if len(titles) > room:
        titles = titles[: max(0, room - 1)].rstrip(" ·") + "…"
    if not titles.strip("…"):
        return f"{head}. {where}"[:limit]
    return f"{head}: {titles}. {where}"[:limit]


# -- file --------------------------------------------------------------------------------


def read_memo(path: Path, default_header: str, topics: Mapping[str, Topic]) -> Memo:
    """A memo from YAML: ``date``, optional ``header``, ``items`` of title, text, link, topic.

    Titles are uppercased; links must be web addresses; a topic must be one of the
    subscription topics in the settings. Raises :class:`~urp.core.data_files.DataFileError`.
    """
    data = read_yaml(path)
    problems = Problems(path)
    published_on = day_value(data, "date", problems)
    header = text_value(data, "header", problems, required=False) or default_header
    items = [_item(entry, problems, topics) for entry in list_value(data, "items", problems)]
    problems.raise_if_any()
    assert published_on is not None
    return Memo(published_on, header, tuple(item for item in items if item))


def _item(entry: Located, problems: Problems, topics: Mapping[str, Topic]) -> MemoItem | None:
    title = text_value(entry, "title", problems)
    text = text_value(entry, "text", problems)
    link = link_value(entry, "link", problems)
    topic = text_value(entry, "topic", problems, required=False)
    if topic is not None and topic not in topics:
        problems.add(
            entry.line_of("topic"),
            f"tema {topic!r} sconosciuto (temi delle impostazioni: {', '.join(topics)})",
        )
    if title is None or text is None or link is None:
        return None
    return MemoItem(title.upper(), text, link, topic)


# -- form --------------------------------------------------------------------------------


def memo_from_form(
    day: str,
    header: str,
    items: Sequence[Mapping[str, str]],
    default_header: str,
    topics: Mapping[str, Topic],
) -> tuple[Memo | None, list[str]]:
    """A memo from the console's form, with the same rules as :func:`read_memo`; the memo
    (None if any problem) and the problems, in Italian. Items left blank are ignored."""
    problems = []
    published_on = parse_day(day)
    if published_on is None:
        problems.append("Indica la data del memo (gg/mm/aaaa).")
    memo_items = []
    filled = [entry for entry in items if any((entry.get(k) or "").strip() for k in _FORM_KEYS)]
    for number, entry in enumerate(filled, start=1):
        title, text, link, topic = ((entry.get(k) or "").strip() for k in (*_FORM_KEYS, "topic"))
        missing = [label for key, label in _FORM_KEYS.items() if not (entry.get(key) or "").strip()]
        if missing:
            problems.append(f"Notizia {number}: manca {' e '.join(missing)}.")
        if link and not is_web_link(link):
            problems.append(f"Notizia {number}: il link deve essere un indirizzo http(s)://.")
        if topic and topic not in topics:
            problems.append(f"Notizia {number}: tema «{topic}» sconosciuto.")
        memo_items.append(MemoItem(title.upper(), text, link, topic or None))
    if not filled:
        problems.append("Scrivi almeno una notizia.")
    if problems or published_on is None:
        return None, problems
    return Memo(published_on, header.strip() or default_header, tuple(memo_items)), []


_FORM_KEYS = {"title": "il titolo", "text": "il testo", "link": "il link"}
