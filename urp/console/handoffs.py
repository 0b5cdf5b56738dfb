"""The chats handed over to a person: the queue, one chat's page and the operator's steps.

Each step (claim, reply, retry, assign or transfer, note, release, resolve) is one call of
:class:`urp.handoff.chat.HandoffChat`, which tells Rasa and audits it; the page then
redirects with a flash message saying how it went. The chat's page shows its transcript
with the operators' internal notes, and its audit trail; «Storico» (:mod:`.history`)
searches every chat.

With the FAQ on (the trainers' pages are served), an operator's reply can be saved as a
draft FAQ entry: the citizen's last message before it becomes the question, masked as in
the trainers' inbox, and the reply the answer; a trainer edits and publishes it.

While the holder of a web chat types a reply, the page tells the console (``POST
/handoffs/ID/typing``, every few seconds, then once more when they stop) and the console
tells the citizen's widget, which shows «Giulia sta scrivendo…»: through the
:data:`TYPING_SIGNAL` the server sets (its Rasa client,
:meth:`urp.handoff.rasa_api.RasaConversations.typing`); without it the route does nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web

from urp.console.access import ConsoleSession
from urp.console.history import HistoryPage
from urp.console.shell import CHAT_ROLES, Shell
from urp.console.views import Presenter, sentence
from urp.core.clock import utc_now
from urp.core.errors import OperatorError
from urp.core.models import ASSIGNED
from urp.faq.entries import DRAFT, FaqEntryError, question_key
from urp.faq.store import FaqService
from urp.handoff.chat import DeliveryError, HandoffChat, first_name
from urp.handoff.operators import Operator
from urp.handoff.quick_replies import QuickReplyService
from urp.handoff.rasa_api import WEB_CONVERSATION_PREFIX
from urp.handoff.records import Handoff, Message, UnknownHandoffError
from urp.handoff.teamwork import MAX_NOTE_LENGTH
from urp.review.masking import mask, mask_names

# WhatsApp's limit for one message.
MAX_REPLY_LENGTH = 4096
# The form field of the typing signal: "1" while the operator types, "0" when they stop.
TYPING_VALUES = {"1": True, "0": False}


class TypingIndicator(Protocol):
    """Tells a web citizen's widget that an operator types
    (:meth:`urp.handoff.rasa_api.RasaConversations.typing`)."""

    def typing(self, conversation_id: str, name: str, active: bool = True) -> bool: ...


TYPING_SIGNAL = web.AppKey("typing_signal", TypingIndicator)


class HandoffPages:
    """Handlers of ``/`` (the queue) and ``/handoffs/ID`` (a chat and its steps)."""

    def __init__(
        self,
        shell: Shell,
        chat: HandoffChat,
        quick_replies: QuickReplyService,
        faq: FaqService | None = None,
    ) -> None:
        self.shell = shell
        self.chat = chat
        self.quick_replies = quick_replies
        self.faq = faq

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.queue_page)
        app.router.add_get("/handoffs/{id:\\d+}", self.handoff_page)
        app.router.add_post("/handoffs/{id:\\d+}/claim", self.claim)
        app.router.add_post("/handoffs/{id:\\d+}/reply", self.reply)
        app.router.add_post("/handoffs/{id:\\d+}/messages/{message_id:\\d+}/retry", self.retry)
        if self.faq is not None:
            app.router.add_post(
                "/handoffs/{id:\\d+}/messages/{message_id:\\d+}/faq", self.save_as_faq
            )
        app.router.add_post("/handoffs/{id:\\d+}/release", self.release)
        app.router.add_post("/handoffs/{id:\\d+}/resolve", self.resolve)
        app.router.add_post("/handoffs/{id:\\d+}/assign", self.assign)
        app.router.add_post("/handoffs/{id:\\d+}/notes", self.add_note)
        app.router.add_post("/handoffs/{id:\\d+}/typing", self.typing)
        HistoryPage(self.shell, self.chat).add_routes(app)

    # -- pages -----------------------------------------------------------------------------

    async def queue_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request, chats=False)
        if session.operator.role not in CHAT_ROLES:
            return self.shell.render("trainer.html", request, session, status=403)
        presenter = await asyncio.to_thread(self.shell.presenter)
        rows = await asyncio.to_thread(self.queue_rows, session, presenter)
        return self.shell.with_flash(request, session, "queue.html", rows=rows)

    def queue_rows(self, session: ConsoleSession, presenter: Presenter) -> list[Any]:
        return [presenter.queue_row(q, session.operator.username) for q in self.chat.queue()]

    async def handoff_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        handoff = await self.handoff(request)
        teamwork = self.chat.service.teamwork
        presenter = await asyncio.to_thread(self.shell.presenter)
        messages = await asyncio.to_thread(self.chat.transcript, handoff.id)
        notes = await asyncio.to_thread(teamwork.notes, handoff.id)
        trail = await asyncio.to_thread(teamwork.trail, handoff.id)
        replies = await asyncio.to_thread(self.quick_replies.list)
        now = utc_now()
        me = session.operator
        mine = handoff.status == ASSIGNED and handoff.operator == me.username
        may_close = handoff.is_open and (mine or handoff.status != ASSIGNED or me.role == "admin")
        colleagues = []
        if may_close:  # who may give the chat away: as for closing it
            colleagues = [
                c
                for c in await asyncio.to_thread(teamwork.colleagues)
                if c.username != handoff.operator
                and (handoff.status == ASSIGNED or c.username != me.username)
            ]
        lines = sorted(
            [presenter.message(m, now) for m in messages] + [presenter.note(n, now) for n in notes],
            key=lambda view: (view.at_iso, view.author == "note", view.id),
        )
        return self.shell.with_flash(
            request,
            session,
            "handoff.html",
            handoff=handoff,
            messages=lines,
            last_id=messages[-1].id if messages else 0,
            last_note_id=notes[-1].id if notes else 0,
            # The replies not delivered yet: the live stream says when that changes.
            unsettled=",".join(
                str(m.id) for m in messages if m.author == "operator" and not m.delivered
            ),
            typing=mine and handoff.conversation_id.startswith(WEB_CONVERSATION_PREFIX),
            state=presenter.state_notice(handoff, me.username),
            mine=mine,
            may_close=may_close,
            colleagues=colleagues,
            trail=presenter.trail(handoff, trail, now),
            quick_replies=replies,
            max_length=MAX_REPLY_LENGTH,
            max_note_length=MAX_NOTE_LENGTH,
            faq_drafts=self.faq is not None,
        )

    async def handoff(self, request: web.Request) -> Handoff:
        try:
            return await asyncio.to_thread(self.chat.get, int(request.match_info["id"]))
        except (ValueError, UnknownHandoffError) as error:
            raise web.HTTPNotFound() from error

    # -- the operator's steps --------------------------------------------------------------

    async def claim(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        handoff = await self.handoff(request)
        try:
            claimed = await asyncio.to_thread(self.chat.claim, handoff.id, session.operator)
        except OperatorError as error:
            raise self.shell.redirect("/", session, "danger", str(error)) from error
        if not claimed:
            raise self.shell.redirect(
                "/",
                session,
                "warning",
                f"Conversazione n. {handoff.id}: l'ha già presa un altro operatore.",
            )
        raise self.shell.redirect(f"/handoffs/{handoff.id}", session)

    async def reply(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        handoff = await self.handoff(request)
        here = f"/handoffs/{handoff.id}"
        redirect = self.shell.redirect
        form = await request.post()
        # Browsers send a text box's line breaks as CRLF; chat channels expect LF.
        text = str(form.get("text") or "").replace("\r\n", "\n").strip()
        title = str(form.get("quick_reply") or "")
        if title:
            # Without JavaScript the chosen quick reply comes with the form: it follows the
            # text typed, if any (with JavaScript it is already in the text box).
            replies = {r.title: r.text for r in await asyncio.to_thread(self.quick_replies.list)}
            if title not in replies:
                raise redirect(here, session, "danger", "Questa risposta rapida non c'è più.")
            text = f"{text}\n\n{replies[title]}" if text else replies[title]
        if not text:
            raise redirect(here, session, "danger", "Scrivi il testo della risposta.")
        if len(text) > MAX_REPLY_LENGTH:
            raise redirect(
                here, session, "danger", f"La risposta supera i {MAX_REPLY_LENGTH} caratteri."
            )
        try:
            await asyncio.to_thread(self.chat.reply, handoff.id, session.operator, text)
        except DeliveryError as error:
            raise redirect(here, session, "warning", str(error)) from error
        except OperatorError as error:
            raise redirect(here, session, "danger", sentence(error)) from error
        raise redirect(here, session)

    async def retry(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        handoff = await self.handoff(request)
        here = f"/handoffs/{handoff.id}"
        message_id = int(request.match_info["message_id"])
        messages = await asyncio.to_thread(self.chat.transcript, handoff.id, message_id - 1)
        if not messages or messages[0].id != message_id:
            raise web.HTTPNotFound()
        try:
            await asyncio.to_thread(self.chat.retry, message_id, session.operator)
        except OperatorError as error:
            level = "warning" if isinstance(error, DeliveryError) else "danger"
            raise self.shell.redirect(here, session, level, sentence(error)) from error
        raise self.shell.redirect(here, session, "success", "Risposta consegnata.")

    async def save_as_faq(self, request: web.Request) -> web.StreamResponse:
        """An operator's reply, and the citizen's question before it, as a draft FAQ entry."""
        session = await self.shell.require(request)
        faq = self.faq
        if faq is None:
            raise web.HTTPNotFound()
        handoff = await self.handoff(request)
        message_id = int(request.match_info["message_id"])
        here = f"/handoffs/{handoff.id}#messaggio-{message_id}"
        messages = await asyncio.to_thread(self.chat.transcript, handoff.id)
        reply = next((m for m in messages if m.id == message_id), None)
        if reply is None or reply.author != "operator" or not (reply.text or "").strip():
            raise web.HTTPNotFound()
        question = citizen_question(messages, reply)
        if question is None:
            raise self.shell.redirect(
                here,
                session,
                "warning",
                "Prima di questa risposta non c'è una domanda scritta dal cittadino: non si "
                "può salvare come FAQ.",
            )
        try:
            draft = await asyncio.to_thread(
                save_draft,
                faq,
                mask(question),
                mask_names(reply.text or ""),
                session.operator.username,
            )
        except FaqEntryError as error:
            raise self.shell.redirect(
                here, session, "danger", f"Bozza non salvata: {'; '.join(error.problems)}."
            ) from error
        if draft is None:
            raise self.shell.redirect(
                here, session, "info", "Questa risposta è già tra le bozze delle FAQ."
            )
        raise self.shell.redirect(
            here,
            session,
            "success",
            f"Salvata come bozza FAQ: «{draft}». Un formatore la rivede e la pubblica.",
        )

    async def assign(self, request: web.Request) -> web.StreamResponse:
        """Give the chat to a colleague: a pending one, or (its holder) a held one."""
        session = await self.shell.require(request)
        handoff = await self.handoff(request)
        here = f"/handoffs/{handoff.id}"
        form = await request.post()
        colleague = str(form.get("colleague") or "")
        note = str(form.get("note") or "")
        if not colleague:
            raise self.shell.redirect(here, session, "danger", "Scegli il collega.")
        try:
            given = await asyncio.to_thread(
                self.chat.assign, handoff.id, session.operator, colleague, note
            )
        except OperatorError as error:
            raise self.shell.redirect(here, session, "danger", sentence(error)) from error
        presenter = await asyncio.to_thread(self.shell.presenter)
        done = "assegnata" if handoff.status != ASSIGNED else "passata"
        raise self.shell.redirect(
            "/" if given.operator != session.operator.username else here,
            session,
            "success",
            f"Conversazione n. {handoff.id} {done} a {presenter.name(given.operator)}.",
        )

    async def add_note(self, request: web.Request) -> web.StreamResponse:
        """An internal note: the operators read it, the citizen never does."""
        session = await self.shell.require(request)
        handoff = await self.handoff(request)
        form = await request.post()
        text = str(form.get("text") or "")
        try:
            note = await asyncio.to_thread(
                self.chat.service.teamwork.add_note, handoff.id, session.operator, text
            )
        except OperatorError as error:
            raise self.shell.redirect(
                f"/handoffs/{handoff.id}#nota", session, "danger", sentence(error)
            ) from error
        raise self.shell.redirect(
            f"/handoffs/{handoff.id}#nota-{note.id}",
            session,
            "success",
            "Nota interna aggiunta: la leggono solo gli operatori.",
        )

    async def typing(self, request: web.Request) -> web.StreamResponse:
        """The holder of a web chat types (``typing=1``) or stopped (``typing=0``): the
        citizen's widget shows it. Nothing to show the operator: 204, whatever Rasa said."""
        session = await self.shell.require(request)
        handoff = await self.handoff(request)
        form = await request.post()
        typing = TYPING_VALUES.get(str(form.get("typing")))
        if typing is None:
            raise web.HTTPBadRequest()
        me = session.operator
        if handoff.status != ASSIGNED or handoff.operator != me.username:
            raise web.HTTPForbidden()
        signal = request.app.get(TYPING_SIGNAL)
        if signal is not None:
            await asyncio.to_thread(
                signal.typing, handoff.conversation_id, first_name(me.display_name), typing
            )
        return web.Response(status=204)

    async def release(self, request: web.Request) -> web.StreamResponse:
        return await self._leave(request, self.chat.release, "rimessa in coda")

    async def resolve(self, request: web.Request) -> web.StreamResponse:
        return await self._leave(
            request, self.chat.resolve, "chiusa: risponde di nuovo l'assistente"
        )

    async def _leave(
        self, request: web.Request, step: Callable[[int, Operator], Any], done: str
    ) -> web.StreamResponse:
        """The operator lets the chat go (to the queue, or back to the bot)."""
        session = await self.shell.require(request)
        handoff = await self.handoff(request)
        try:
            await asyncio.to_thread(step, handoff.id, session.operator)
        except OperatorError as error:
            raise self.shell.redirect(
                f"/handoffs/{handoff.id}", session, "danger", sentence(error)
            ) from error
        raise self.shell.redirect("/", session, "success", f"Conversazione n. {handoff.id} {done}.")


def citizen_question(messages: list[Message], reply: Message) -> str | None:
    """The citizen's last written message before ``reply`` (not a photo nor a position)."""
    question = None
    for message in messages:
        if message.id == reply.id:
            break
        if message.author == "citizen" and (message.text or "").strip():
            question = message.text
    return question


def save_draft(faq: FaqService, question: str, answer: str, by: str) -> str | None:
    """The new draft's question, or None if the same one is a draft already."""
    key, answer = question_key(question), answer.strip()
    for entry in faq.entries((DRAFT,)):
        if entry.answer == answer and question_key(entry.title) == key:
            return None
    return faq.add_draft(question, answer, by).title
