"""Live updates of the open pages, as Server-Sent Events.

Each open page keeps one connection, and the server polls the store once a second for it,
sending JSON only when something changed. The store is the only state, so every console
replica sees what the others and the bot did, with no message bus; EventSource reconnects
by itself and resumes after the last message it got (``Last-Event-ID``).

The queue and the chats are watched here, and on both pages the chats waiting for an
operator (``pending``: the tab's title counts them, a new one rings and notifies); the
broadcasts' counts by a watcher the
broadcast pages hand over (:meth:`urp.console.broadcasting.BroadcastPages.watcher`),
so that this module knows nothing of broadcasts.

A chat's page also names the operator replies it shows as not delivered (``unsettled``):
on a web chat a reply waits for the citizen to come back, and «in attesa che il cittadino
torni» must turn into «consegnato» when their widget confirms it, without a reload; the
same for a reply the background job sends again. Their status is looked at on each poll
until it is «consegnato», and sent (``delivery``) the first time and whenever it changes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web

from urp.console.access import ConsoleSession
from urp.console.shell import CHAT_ROLES, Shell
from urp.console.views import channel_label, delivery_status, sse_event
from urp.core.clock import utc_now
from urp.core.models import PENDING
from urp.handoff.chat import HandoffChat
from urp.handoff.records import Message, QueuedHandoff, UnknownHandoffError

STREAM_POLL = 1.0  # seconds between two looks at the store for one live page
STREAM_SESSION_CHECK = 15.0  # seconds: a logout or a disabled account ends the stream
STREAM_HEARTBEAT = 20.0  # seconds: a comment line keeps proxies from closing the stream
MAX_UNSETTLED = 500  # replies not delivered a chat's page may ask about


class Watcher(Protocol):
    """What changed since the last look, as SSE events (called in a worker thread)."""

    def changes(self) -> list[bytes]: ...


class LiveUpdates:
    """Handler of ``/api/stream``.

    ``broadcast_watcher`` makes the watcher of one broadcast (or, given None, of the
    latest ones); without it ``?broadcast=`` is not found.
    """

    def __init__(
        self,
        shell: Shell,
        chat: HandoffChat,
        broadcast_watcher: Callable[[int | None], Watcher] | None = None,
    ) -> None:
        self.shell = shell
        self.chat = chat
        self.broadcast_watcher = broadcast_watcher

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/stream", self.stream)

    async def stream(self, request: web.Request) -> web.StreamResponse:
        """Server-Sent Events: ``queue`` for the queue page; ``message``, ``note``,
        ``delivery`` and ``state`` for a chat
        (``?handoff=ID&after=MESSAGE_ID&notes_after=NOTE_ID&unsettled=ID,ID``);
        ``pending`` on both; ``broadcast`` for the broadcasts
        (``?broadcast=`` all the latest, ``?broadcast=ID`` one); ``session`` when the
        session ended."""
        shell = self.shell
        # The stream does not keep a session alive: a tab left open still expires.
        session = await shell.current(request, touch=False)
        if session is None:
            return web.json_response({"error": "sessione scaduta"}, status=401)
        if session.operator.role not in CHAT_ROLES:
            return web.json_response({"error": "non consentito"}, status=403)
        broadcasts = self.broadcast_watcher
        try:
            handoff_id = int(request.query["handoff"]) if "handoff" in request.query else None
            broadcast = request.query.get("broadcast")
            if broadcast is not None and broadcasts is None:
                raise web.HTTPNotFound()
            broadcast_id = int(broadcast) if broadcast else None
            after = max(
                int(request.query.get("after", 0)), int(request.headers.get("Last-Event-ID", 0))
            )
            notes_after = int(request.query.get("notes_after", 0))
            unsettled = [int(i) for i in request.query.get("unsettled", "").split(",") if i]
            if len(unsettled) > MAX_UNSETTLED:
                raise ValueError("too many replies")
        except ValueError:
            return web.json_response({"error": "parametri non validi"}, status=400)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",  # nginx: pass each event on at once
            }
        )
        await response.prepare(request)
        watcher: Watcher = (
            broadcasts(broadcast_id)
            if broadcasts is not None and broadcast is not None
            else HandoffWatcher(
                shell, self.chat, session, handoff_id, after, notes_after, unsettled
            )
        )
        loop = asyncio.get_running_loop()
        checked = written = loop.time()
        try:
            while not shell.closing.is_set():
                if loop.time() - checked >= STREAM_SESSION_CHECK:
                    checked = loop.time()
                    if await shell.current(request, touch=False) is None:
                        await response.write(sse_event("session", {"expired": True}))
                        break
                events = await asyncio.to_thread(watcher.changes)
                if events:
                    await response.write(b"".join(events))
                    written = loop.time()
                elif loop.time() - written >= STREAM_HEARTBEAT:
                    await response.write(b": ancora qui\n\n")
                    written = loop.time()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(shell.closing.wait(), STREAM_POLL)
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the page was closed
        return response


class HandoffWatcher:
    """The queue (``handoff_id`` None) or one chat, for one live page; in a worker thread."""

    def __init__(
        self,
        shell: Shell,
        chat: HandoffChat,
        session: ConsoleSession,
        handoff_id: int | None,
        after: int,
        notes_after: int = 0,
        unsettled: list[int] | None = None,
    ) -> None:
        self._shell = shell
        self._chat = chat
        self._session = session
        self._handoff_id = handoff_id
        self._after = after
        self._notes_after = notes_after
        # The operator replies the page shows as not delivered: id -> the status last sent
        # (None: not sent yet, so the first look sends it, whatever it is).
        self._unsettled: dict[int, str | None] = dict.fromkeys(unsettled or ())
        self._seen: Any = None
        self._pending: Any = None

    def changes(self) -> list[bytes]:
        queue = self._chat.queue()
        events = self._pending_changes(queue)
        if self._handoff_id is None:
            return events + self._queue_changes(queue)
        return events + self._chat_changes(self._handoff_id)

    def _pending_changes(self, queue: list[QueuedHandoff]) -> list[bytes]:
        """The chats waiting for an operator: the page rings for the ids it has not seen."""
        pending = [q.handoff for q in queue if q.handoff.status == PENDING]
        ids = [h.id for h in pending]
        if ids == self._pending:
            return []
        self._pending = ids
        chats = [{"id": h.id, "channel": channel_label(h.channel)} for h in pending]
        return [sse_event("pending", {"count": len(ids), "chats": chats})]

    def _queue_changes(self, queue: list[QueuedHandoff]) -> list[bytes]:
        # The waiting minutes are part of it: the page's times move on by themselves.
        seen = [
            (
                q.handoff.id,
                q.handoff.status,
                q.handoff.operator,
                int(q.waiting.total_seconds() // 60),
            )
            for q in queue
        ]
        if seen == self._seen:
            return []
        self._seen = seen
        presenter = self._shell.presenter()
        rows = [presenter.queue_row(q, self._session.operator.username) for q in queue]
        html = self._shell.templates.get_template("_queue_rows.html").render(
            rows=rows, csrf_token=self._session.csrf_token
        )
        return [sse_event("queue", {"html": html, "count": len(rows)})]

    def _chat_changes(self, handoff_id: int) -> list[bytes]:
        events: list[bytes] = []
        try:
            handoff = self._chat.get(handoff_id)
        except UnknownHandoffError:
            return [
                sse_event("state", {"status": "unknown", "notice": "Conversazione non trovata."})
            ]
        # One read for the new messages and for the replies whose delivery is watched.
        since = min([self._after, *(i - 1 for i in self._unsettled)])
        read = self._chat.transcript(handoff_id, since)
        messages = [m for m in read if m.id > self._after]
        changed = self._delivery_changes([m for m in read if m.id <= self._after])
        notes = self._chat.service.teamwork.notes(handoff_id, self._notes_after)
        state = (handoff.status, handoff.operator)
        if not messages and not notes and not changed and state == self._seen:
            return events
        presenter = self._shell.presenter()
        now = utc_now()
        template = self._shell.templates.get_template("_message.html")
        for note in notes:
            view = presenter.note(note, now)
            html = template.render(message=view)
            events.append(
                sse_event("note", {"id": note.id, "who": view.who, "text": note.text, "html": html})
            )
            self._notes_after = note.id
        for message in messages:
            view = presenter.message(message, now)
            html = template.render(message=view)
            events.append(
                sse_event(
                    "message",
                    {
                        "id": message.id,
                        "author": message.author,
                        "who": view.who,
                        "text": message.text or "",
                        "html": html,
                    },
                    event_id=message.id,
                )
            )
            self._after = message.id
            if message.author == "operator" and not message.delivered:
                self._unsettled[message.id] = delivery_status(message)
        delivery = self._shell.templates.get_template("_delivery.html")
        for message in changed:
            status = delivery_status(message)
            html = delivery.render(message=message)
            events.append(sse_event("delivery", {"id": message.id, "status": status, "html": html}))
        if state != self._seen:
            if self._seen is not None:
                notice = presenter.state_notice(handoff, self._session.operator.username)
                events.append(sse_event("state", {"status": handoff.status, "notice": notice}))
            self._seen = state
        return events

    def _delivery_changes(self, shown: list[Message]) -> list[Message]:
        """The watched replies whose status is not the one last sent; the page now has it.

        A reply once delivered, or not in this chat, is watched no more."""
        found = {m.id: m for m in shown if m.id in self._unsettled and m.author == "operator"}
        changed = []
        for message_id, sent in list(self._unsettled.items()):
            message = found.get(message_id)
            if message is None:
                if message_id <= self._after:
                    del self._unsettled[message_id]
                continue
            status = delivery_status(message)
            if status != sent:
                changed.append(message)
                self._unsettled[message_id] = status
            if status == "delivered":
                del self._unsettled[message_id]
        return changed
