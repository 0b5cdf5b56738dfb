"""The office's knowledge base (FAQ) in the console: list, search, add, edit, retire and
publish entries, and the citizens' questions the FAQ could not answer.

Open to the same people as the trainers' inbox (trainers and admins). Every change is one
call of :class:`urp.faq.store.FaqService` with the trainer's username, so the console, the
import and the operators' drafts keep one history; the assistant answers from the next
message (every replica rebuilds its index when the FAQ's revision changes).

The questions that fell through (the FAQ action answered with suggestions or nothing)
come from the review inbox (:mod:`urp.review`, reason ``faq``), masked, grouped by the
entry that comes closest today or under «nessuna voce»: what to write next.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from aiohttp import web

from urp.console.access import ConsoleSession
from urp.console.shell import Shell
from urp.console.views import sentence
from urp.core.data_files import slug
from urp.faq.entries import (
    ANSWER_LIMIT,
    DRAFT,
    ID_PATTERN,
    PUBLISHED,
    RETIRED,
    STATUSES,
    FaqEntry,
    FaqEntryError,
    entry_problems,
)
from urp.faq.search import LiveFaqIndex
from urp.faq.store import FaqService
from urp.review.inbox import FAQ, InboxGroup, group
from urp.review.store import ReviewStateError, ReviewStore

# Who may see and change the FAQ: the same as the trainers' inbox.
FAQ_ROLES = ("trainer", "admin")
STATUS_LABELS = {DRAFT: "bozza", PUBLISHED: "pubblicata", RETIRED: "ritirata"}
# The badges of the handoffs' states (console.css): amber waits, blue is live, grey is over.
STATUS_CLASSES = {DRAFT: "status-pending", PUBLISHED: "status-assigned", RETIRED: "status-resolved"}
# The list's status filter: the entries in use (published and drafts) unless asked.
STATUS_FILTERS = {
    "": ("Pubblicate e bozze", (PUBLISHED, DRAFT)),
    PUBLISHED: ("Pubblicate", (PUBLISHED,)),
    DRAFT: ("Bozze", (DRAFT,)),
    RETIRED: ("Ritirate", (RETIRED,)),
    "tutte": ("Tutte", STATUSES),
}
NO_TOPIC = "-"
FELL_THROUGH_PAGE = 200
# The form's buttons: keep the entry's status, publish it, or keep it as a draft.
SAVE = "salva"
PUBLISH = "pubblica"
KEEP_DRAFT = "bozza"
ENTRY_ID = "{id:[a-z0-9][a-z0-9-]{1,63}}"


@dataclass
class EntryForm:
    """What the entry form shows: the fields as typed, and what is wrong with them."""

    entry_id: str = ""
    questions: str = ""
    answer: str = ""
    link: str = ""
    topic: str = ""
    version: str = ""
    from_item: str = ""
    problems: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, entry: FaqEntry) -> EntryForm:
        return cls(
            entry.id,
            "\n".join(entry.questions),
            entry.answer,
            entry.link or "",
            entry.topic or "",
            _version(entry),
        )

    @classmethod
    def posted(cls, form: Any) -> EntryForm:
        def value(name: str) -> str:
            # Browsers send a text box's line breaks as CRLF.
            return str(form.get(name) or "").replace("\r\n", "\n").strip()

        return cls(
            value("id").lower(),
            value("domande"),
            value("risposta"),
            value("link"),
            " ".join(value("tema").split()),
            value("versione"),
            value("da"),
        )

    def question_list(self) -> tuple[str, ...]:
        lines = (" ".join(line.split()) for line in self.questions.splitlines())
        return tuple(line for line in lines if line)

    def entry(self, entry_id: str, status: str) -> FaqEntry:
        return FaqEntry(
            id=entry_id,
            questions=self.question_list(),
            answer=self.answer,
            link=self.link or None,
            topic=self.topic or None,
            status=status,
        )


@dataclass
class FellThrough:
    """Unanswered questions that come closest to one entry (or to none)."""

    entry: FaqEntry | None
    answered: bool  # the entry answers them now: written since they were asked
    groups: list[InboxGroup] = field(default_factory=list)

    @property
    def occurrences(self) -> int:
        return sum(g.occurrences for g in self.groups)

    @property
    def count(self) -> int:
        return sum(len(g.items) for g in self.groups)


def _version(entry: FaqEntry) -> str:
    return entry.updated_at.isoformat() if entry.updated_at else ""


def _status_after(action: str, current: str) -> str:
    if action == PUBLISH:
        return PUBLISHED
    if action == KEEP_DRAFT:
        return DRAFT
    return current


class FaqPages:
    """Handlers of ``/faq``."""

    def __init__(self, shell: Shell, faq: FaqService, review: ReviewStore) -> None:
        self.shell = shell
        self.faq = faq
        self.review = review

    @cached_property
    def index(self) -> LiveFaqIndex:
        """The assistant's own search, to tell which entry an unanswered question is near."""
        return LiveFaqIndex(self.faq, self.shell.settings.faq)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/faq", self.list_page)
        app.router.add_get("/faq/nuova", self.new_page)
        app.router.add_post("/faq/nuova", self.create)
        app.router.add_get("/faq/senza-risposta", self.fell_through_page)
        app.router.add_post("/faq/senza-risposta/{item:\\d+}/scarta", self.discard)
        app.router.add_get(f"/faq/voci/{ENTRY_ID}", self.edit_page)
        app.router.add_post(f"/faq/voci/{ENTRY_ID}", self.update)
        app.router.add_post(f"/faq/voci/{ENTRY_ID}/pubblica", self.publish)
        app.router.add_post(f"/faq/voci/{ENTRY_ID}/ritira", self.retire)

    async def require(self, request: web.Request) -> ConsoleSession:
        session = await self.shell.require(request, chats=False)
        if session.operator.role not in FAQ_ROLES:
            raise web.HTTPForbidden()
        return session

    # -- the list ------------------------------------------------------------------------

    async def list_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.require(request)
        query = " ".join(request.query.get("q", "").split())[:200]
        topic = request.query.get("tema", "")
        status = request.query.get("stato", "")
        if status not in STATUS_FILTERS:
            status = ""
        found, everything, unanswered = await asyncio.to_thread(
            self._listing, query, STATUS_FILTERS[status][1]
        )
        if topic:
            found = [e for e in found if (e.topic or NO_TOPIC) == topic]
        counts = {s: sum(e.status == s for e in everything) for s in STATUSES}
        return self.shell.with_flash(
            request,
            session,
            "faq.html",
            entries=found,
            query=query,
            topic=topic,
            chosen_status=status,
            topics=_topics(everything),
            no_topic=NO_TOPIC,
            status_filters={key: label for key, (label, _) in STATUS_FILTERS.items()},
            status_labels=STATUS_LABELS,
            status_classes=STATUS_CLASSES,
            counts=counts,
            filtered=bool(query or topic or status),
            unanswered=unanswered,
            when=self._when,
        )

    def _listing(
        self, query: str, statuses: Sequence[str]
    ) -> tuple[list[FaqEntry], list[FaqEntry], int]:
        found = self.faq.search_text(query, statuses) if query else self.faq.entries(statuses)
        unanswered = len(self.review.open_items(FELL_THROUGH_PAGE, reason=FAQ))
        return found, self.faq.entries(STATUSES), unanswered

    def _when(self, entry: FaqEntry) -> str:
        if entry.updated_at is None:
            return ""
        local = entry.updated_at.astimezone(self.shell.settings.timezone)
        return f"{local.day}/{local.month}/{local.year} {local:%H:%M}"

    # -- adding and editing --------------------------------------------------------------

    async def new_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.require(request)
        form = EntryForm()
        await self._with_question(request, form)
        return await self._form_page(request, session, form, None)

    async def edit_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.require(request)
        entry = await self._entry(request)
        form = EntryForm.of(entry)
        await self._with_question(request, form)
        return await self._form_page(request, session, form, entry)

    async def _with_question(self, request: web.Request, form: EntryForm) -> None:
        """``?da=N``: the unanswered question N added as the form's last question; saving
        the entry takes it off the list."""
        item = request.query.get("da", "")
        if not item.isdigit():
            return
        with contextlib.suppress(ReviewStateError):
            text = (await asyncio.to_thread(self.review.get, int(item))).text
            form.questions = f"{form.questions}\n{text}" if form.questions else text
            form.from_item = item

    async def _answered(self, session: ConsoleSession, form: EntryForm) -> None:
        """The question the entry was written from leaves the list of those to write."""
        if form.from_item.isdigit():
            with contextlib.suppress(ReviewStateError):
                await asyncio.to_thread(
                    self.review.discard, int(form.from_item), session.operator.username
                )

    async def _form_page(
        self,
        request: web.Request,
        session: ConsoleSession,
        form: EntryForm,
        entry: FaqEntry | None,
        status: int = 200,
    ) -> web.Response:
        """The entry's form; with a ``status`` other than 200, sent back with its problems."""
        everything = await asyncio.to_thread(self.faq.entries, STATUSES)
        values = self._form_values(form, entry, everything)
        if status != 200:
            return self.shell.render("faq_form.html", request, session, status=status, **values)
        return self.shell.with_flash(request, session, "faq_form.html", **values)

    def _form_values(
        self, form: EntryForm, entry: FaqEntry | None, everything: list[FaqEntry]
    ) -> dict[str, Any]:
        return {
            "form": form,
            "entry": entry,
            "topics": [t for t in _topics(everything) if t != NO_TOPIC],
            "limit": ANSWER_LIMIT,
            "status_labels": STATUS_LABELS,
            "status_classes": STATUS_CLASSES,
            "save": SAVE,
            "publish": PUBLISH,
            "keep_draft": KEEP_DRAFT,
            "when": self._when,
        }

    async def create(self, request: web.Request) -> web.StreamResponse:
        session = await self.require(request)
        posted = await request.post()
        form = EntryForm.posted(posted)
        status = DRAFT if posted.get("azione") == KEEP_DRAFT else PUBLISHED
        if form.entry_id and not ID_PATTERN.fullmatch(form.entry_id):
            form.problems = entry_problems(form.entry(form.entry_id, status))
            return await self._form_page(request, session, form, None, status=400)
        entry_id = form.entry_id or await asyncio.to_thread(self._free_id, form)
        if form.entry_id and await asyncio.to_thread(self.faq.get, entry_id) is not None:
            form.problems = [f"esiste già una voce «{entry_id}»: scegli un altro identificativo"]
            return await self._form_page(request, session, form, None, status=400)
        saved = await self._save(session, form, form.entry(entry_id, status))
        if saved is None:
            return await self._form_page(request, session, form, None, status=400)
        await self._answered(session, form)
        raise self._saved(session, saved, "aggiunta")

    async def update(self, request: web.Request) -> web.StreamResponse:
        session = await self.require(request)
        current = await self._entry(request)
        posted = await request.post()
        form = EntryForm.posted(posted)
        form.entry_id = current.id
        if form.version != _version(current):
            form.problems = [
                f"nel frattempo {current.updated_by or 'qualcun altro'} ha modificato questa "
                "voce: apri di nuovo la pagina per vedere la versione attuale, poi rifai le "
                "tue modifiche"
            ]
            return await self._form_page(request, session, form, current, status=409)
        status = _status_after(str(posted.get("azione") or ""), current.status)
        saved = await self._save(session, form, form.entry(current.id, status))
        if saved is None:
            return await self._form_page(request, session, form, current, status=400)
        await self._answered(session, form)
        raise self._saved(session, saved, "salvata")

    async def _save(
        self, session: ConsoleSession, form: EntryForm, entry: FaqEntry
    ) -> FaqEntry | None:
        """The entry as stored, or None with the store's objections in ``form.problems``."""
        try:
            return await asyncio.to_thread(self.faq.save, entry, session.operator.username)
        except FaqEntryError as error:
            form.problems = error.problems
            return None

    def _saved(self, session: ConsoleSession, entry: FaqEntry, done: str) -> web.HTTPSeeOther:
        if entry.status == PUBLISHED:
            text = (
                f"Voce «{entry.title}» {done} e pubblicata: l'assistente la usa dal prossimo "
                "messaggio."
            )
        else:
            text = f"Voce «{entry.title}» {done} ({STATUS_LABELS[entry.status]})."
        return self.shell.redirect("/faq", session, "success", text)

    def _free_id(self, form: EntryForm) -> str:
        """An identifier from the first question, not used yet ("-2", "-3"... if taken)."""
        questions = form.question_list()
        words = slug(questions[0] if questions else "").split("-")
        base = "-".join(words[:8])[:48].strip("-")
        if not ID_PATTERN.fullmatch(base):
            base = "voce"
        candidate, number = base, 1
        while self.faq.get(candidate) is not None:
            number += 1
            candidate = f"{base}-{number}"
        return candidate

    # -- publishing and retiring ---------------------------------------------------------

    async def publish(self, request: web.Request) -> web.StreamResponse:
        session = await self.require(request)
        entry = await self._entry(request)
        try:
            await asyncio.to_thread(self.faq.publish, entry.id, session.operator.username)
        except FaqEntryError as error:
            raise self.shell.redirect(
                f"/faq/voci/{entry.id}",
                session,
                "danger",
                f"Voce non pubblicata: {'; '.join(error.problems)}.",
            ) from error
        raise self.shell.redirect(
            "/faq",
            session,
            "success",
            f"Voce «{entry.title}» pubblicata: l'assistente la usa dal prossimo messaggio.",
        )

    async def retire(self, request: web.Request) -> web.StreamResponse:
        session = await self.require(request)
        entry = await self._entry(request)
        await asyncio.to_thread(self.faq.retire, entry.id, session.operator.username)
        raise self.shell.redirect(
            "/faq",
            session,
            "success",
            f"Voce «{entry.title}» ritirata: l'assistente non la usa più. La trovi tra le "
            "ritirate, se serve di nuovo.",
        )

    async def _entry(self, request: web.Request) -> FaqEntry:
        entry = await asyncio.to_thread(self.faq.get, request.match_info["id"])
        if entry is None:
            raise web.HTTPNotFound()
        return entry

    # -- what fell through ---------------------------------------------------------------

    async def fell_through_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.require(request)
        found = await asyncio.to_thread(self.fell_through)
        return self.shell.with_flash(
            request,
            session,
            "faq_unanswered.html",
            sections=found,
            total=sum(s.count for s in found),
        )

    def fell_through(self) -> list[FellThrough]:
        """The open questions the FAQ could not answer, by the entry nearest to each today
        (its first suggestion), those near none first when they are as many."""
        sections: dict[str | None, FellThrough] = {}
        items: dict[str | None, list[Any]] = {}
        for item in self.review.open_items(FELL_THROUGH_PAGE, reason=FAQ):
            answer = self.index.answer(item.text)
            entry = answer.matches[0].entry if answer.kind != "none" and answer.matches else None
            key = entry.id if entry else None
            if key not in sections:
                sections[key] = FellThrough(entry, answered=answer.kind == "answer")
                items[key] = []
            items[key].append(item)
        for key, section in sections.items():
            section.groups = group(items[key])
        return sorted(sections.values(), key=lambda s: (-s.occurrences, s.entry is not None))

    async def discard(self, request: web.Request) -> web.StreamResponse:
        session = await self.require(request)
        item_id = int(request.match_info["item"])
        here = "/faq/senza-risposta"
        try:
            await asyncio.to_thread(self.review.discard, item_id, session.operator.username)
        except ReviewStateError as error:
            raise self.shell.redirect(here, session, "warning", sentence(error)) from error
        raise self.shell.redirect(here, session, "success", "Domanda tolta dall'elenco.")


def _topics(entries: Sequence[FaqEntry]) -> list[str]:
    """The topics in use, alphabetically; :data:`NO_TOPIC` last if some entry has none."""
    topics = sorted({e.topic for e in entries if e.topic}, key=str.casefold)
    return [*topics, NO_TOPIC] if any(e.topic is None for e in entries) else topics
