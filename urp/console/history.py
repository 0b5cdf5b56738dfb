"""«Storico»: every chat handed over to the URP, open and closed, searched and filtered.

A GET form (the search is in the address, so it can be bookmarked, shared with a colleague
and paged): words (in the messages and notes, the chat's number or its reason), a range
of days, the state, the channel and the operator. The search itself is
:class:`urp.handoff.history.HandoffHistory`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date
from urllib.parse import urlencode

from aiohttp import web

from urp.console.shell import CHAT_ROLES, Shell
from urp.console.views import CHANNEL_LABELS, REASON_LABELS, STATUS_LABELS
from urp.handoff.chat import HandoffChat
from urp.handoff.history import MAX_WORDS_LENGTH, HistoryQuery

# The channels as the operators know them: "Web" is the site's chat and the REST channel.
CHANNEL_GROUPS: dict[str, tuple[str, ...]] = {}
for _key, _label in CHANNEL_LABELS.items():
    CHANNEL_GROUPS[_label] = (*CHANNEL_GROUPS.get(_label, ()), _key)
FIELDS = ("q", "dal", "al", "stato", "canale", "operatore")


class HistoryPage:
    """Handler of ``/storico``."""

    def __init__(self, shell: Shell, chat: HandoffChat) -> None:
        self.shell = shell
        self.chat = chat

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/storico", self.page)

    async def page(self, request: web.Request) -> web.StreamResponse:
        session = await self.shell.require(request)
        values = {name: request.query.get(name, "").strip() for name in FIELDS}
        operators = [
            o for o in await asyncio.to_thread(self.shell.operators.list) if o.role in CHAT_ROLES
        ]
        query, problems = read_query(values, request.query.get("pagina", "1"), operators)
        presenter = await asyncio.to_thread(self.shell.presenter)
        found = None
        if not problems:
            found = await asyncio.to_thread(
                self.chat.service.history.search, query, self.shell.settings.timezone
            )
        rows = [presenter.history_row(h) for h in found.handoffs] if found else []
        kept = {name: value for name, value in values.items() if value}
        return self.shell.with_flash(
            request,
            session,
            "history.html",
            values=values,
            problems=problems,
            rows=rows,
            found=found,
            statuses=STATUS_LABELS,
            channels=list(CHANNEL_GROUPS),
            operators=operators,
            max_words=MAX_WORDS_LENGTH,
            searched=bool(kept),
            page_link=lambda page: "/storico?" + urlencode({**kept, "pagina": page}),
        )


def read_query(
    values: Mapping[str, str], page: str, operators: list
) -> tuple[HistoryQuery, list[str]]:
    """The form's fields as a query, and what is wrong in them (in Italian)."""
    problems = []
    days: dict[str, date | None] = {}
    for name, label in (("dal", "dal"), ("al", "al")):
        days[name] = None
        if values[name]:
            try:
                days[name] = date.fromisoformat(values[name])
            except ValueError:
                problems.append(f"La data «{label}» non è valida: usa il formato gg/mm/aaaa.")
    if days["dal"] and days["al"] and days["dal"] > days["al"]:
        problems.append("La data «dal» viene dopo la data «al».")
    status = values["stato"]
    if status and status not in STATUS_LABELS:
        problems.append("Lo stato scelto non esiste.")
    channel = values["canale"]
    if channel and channel not in CHANNEL_GROUPS:
        problems.append("Il canale scelto non esiste.")
    operator = values["operatore"]
    if operator and operator not in {o.username for o in operators}:
        problems.append("L'operatore scelto non esiste.")
    words = values["q"][:MAX_WORDS_LENGTH]
    lowered = " ".join(words.lower().split())
    reasons = [key for key, label in REASON_LABELS.items() if lowered and lowered in label]
    query = HistoryQuery(
        words=words,
        reasons=reasons,
        since=days["dal"],
        until=days["al"],
        statuses=(status,) if status else (),
        channels=CHANNEL_GROUPS.get(channel, ()),
        operator=operator or None,
        page=int(page) if page.isdigit() and len(page) < 7 else 1,
    )
    return query, problems
