"""What the broadcast pages and their live counts show, in Italian.

No view has a phone number: the engine's reports have none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup, escape

from urp.broadcasts.service import (
    STATUS_LABELS,
    BroadcastError,
    BroadcastEstimate,
    BroadcastReport,
    BroadcastService,
    broadcast_template,
)
from urp.console.views import sse_event
from urp.core.settings import Settings

KINDS = {"memo": "Memo", "emergency": "Emergenza"}
LIST_LIMIT = 30  # broadcasts on the list page, and watched live there
DAY = timedelta(hours=24)  # Meta's messaging limit: one limit's worth every 24 hours


@dataclass(frozen=True)
class BroadcastView:
    """A broadcast as the pages and the live counts show it."""

    id: int
    kind: str
    topics: str
    created_by: str
    created_at: str
    status: str
    status_label: str
    total: int
    # By status; "pending" includes "waiting" (the rows waiting for Meta's messaging limit);
    # "paid": the templates Meta accepted, the paid messages.
    counts: dict[str, int]
    failures: tuple[tuple[str, int], ...]
    # Paused by the worker for an account or policy error: Meta's words and code.
    paused: str = ""
    paused_at: str = ""
    # When the rows waiting for Meta's messaging limit go, and when the last should.
    resumes_at: str = ""
    finishes_at: str = ""
    category: str = ""
    cost: str = ""

    @property
    def done(self) -> int:
        return self.total - self.counts["pending"]

    def live(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "status_label": self.status_label,
            "total": self.total,
            "counts": self.counts,
            "failures": [list(f) for f in self.failures],
            "paused": self.paused,
            "resumes_at": self.resumes_at,
            "finishes_at": self.finishes_at,
            "cost": self.cost,
        }


def broadcast_view(
    report: BroadcastReport, settings: Settings, names: Mapping[str, str] | None = None
) -> BroadcastView:
    """The view of ``report``; ``names`` (username -> display name) to name who published."""
    counts = report.counts
    topics = settings.subscription.topics
    name = (names or {}).get(report.created_by)
    when = report.created_at.astimezone(settings.timezone)
    template = broadcast_template(settings.whatsapp_templates, report.kind)
    category = template.category if template is not None else "marketing"
    cost = report.paid_messages * settings.whatsapp_prices.per_message(category)
    finishes_at = report.finishes_at
    limit = settings.whatsapp_messaging_limit
    if finishes_at is None and report.resumes_at is not None and limit:
        # A service built without the limit (the console's): the same pace, from the settings.
        finishes_at = report.resumes_at + DAY * ((report.waiting_for_limit - 1) // limit)
    paused = ""
    if report.status == "paused":
        code = f" (codice {report.paused_code})" if report.paused_code else ""
        paused = (report.paused_reason or "errore dell'account WhatsApp") + code
    return BroadcastView(
        id=report.id,
        kind=KINDS.get(report.kind, report.kind),
        topics=", ".join(topics[t].label if t in topics else t for t in report.topics),
        created_by=f"{name} ({report.created_by})" if name else report.created_by,
        created_at=f"{when:%d/%m/%Y %H:%M}",
        status=report.status,
        status_label=STATUS_LABELS.get(report.status, report.status),
        total=report.total,
        counts={
            "pending": counts.get("pending", 0) + counts.get("sending", 0),
            "sent": counts.get("sent", 0),
            "delivered": counts.get("delivered", 0),
            "read": counts.get("read", 0),
            "failed": counts.get("failed", 0),
            "skipped": counts.get("skipped", 0),
            "waiting": report.waiting_for_limit,
            "paid": report.paid_messages,  # templates Meta accepted: not recipients
        },
        failures=tuple((f.reason or "motivo non indicato", f.count) for f in report.failures),
        paused=paused,
        paused_at=_when(report.paused_at, settings),
        resumes_at=_when(report.resumes_at if report.waiting_for_limit else None, settings),
        finishes_at=_when(finishes_at if report.waiting_for_limit else None, settings),
        category=category,
        cost=settings.whatsapp_prices.money(cost),
    )


def _when(moment: datetime | None, settings: Settings) -> str:
    return f"{moment.astimezone(settings.timezone):%d/%m/%Y %H:%M}" if moment else ""


@dataclass(frozen=True)
class EstimateView:
    """Before publishing: who gets what, and what it costs, in the office's words."""

    inside: int
    outside: int
    category: str
    paid_messages: int
    cost: str
    price: str
    waiting_for_limit: int
    text: str

    def json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def estimate_view(estimate: BroadcastEstimate, settings: Settings) -> EstimateView:
    prices = settings.whatsapp_prices
    category = estimate.category or ""
    price = prices.money(prices.per_message(category), digits=4) if category else ""
    parts = [
        f"Dentro la finestra di 24 ore: {estimate.inside} (messaggi gratuiti).",
        f"Fuori dalla finestra: {estimate.outside} (un modello {category} a testa, {price} l'uno)."
        if category
        else f"Fuori dalla finestra: {estimate.outside}, ma nessun modello è configurato: "
        "non riceveranno nulla.",
        f"Costo stimato: {prices.money(estimate.cost)} (prezzi da verificare sul listino Meta).",
    ]
    if estimate.waiting_for_limit:
        parts.append(
            f"{estimate.waiting_for_limit} aspettano il limite di Meta e partono nelle "
            "24 ore successive."
        )
    return EstimateView(
        inside=estimate.inside,
        outside=estimate.outside,
        category=category,
        paid_messages=estimate.paid_messages,
        cost=prices.money(estimate.cost),
        price=price,
        waiting_for_limit=estimate.waiting_for_limit,
        text=" ".join(parts),
    )


def bubble_html(text: str) -> Markup:
    """One WhatsApp message as it looks on the phone: ``*bold*`` in bold, lines kept."""
    parts = [str(part) for part in escape(text).split("*")]
    # WhatsApp bolds a *pair*; an odd asterisk left over stays as it is.
    html = parts[0]
    for index in range(1, len(parts), 2):
        closed = index + 1 < len(parts)
        html += f"<strong>{parts[index]}</strong>" if closed else "*" + parts[index]
        if closed:
            html += parts[index + 1]
    return Markup(html.replace("\n", "<br>"))


class BroadcastWatcher:
    """The counts of one broadcast (or the latest ones) since the last look; in a thread."""

    def __init__(
        self, service: BroadcastService, settings: Settings, broadcast_id: int | None
    ) -> None:
        self._service = service
        self._settings = settings
        self._id = broadcast_id
        self._seen: dict[int, dict[str, Any]] = {}

    def changes(self) -> list[bytes]:
        if self._id is not None:
            try:
                reports = [self._service.report(self._id)]
            except BroadcastError:
                return []
        else:
            reports = self._service.reports(LIST_LIMIT)
        events = []
        for report in reports:
            live = broadcast_view(report, self._settings).live()
            if self._seen.get(report.id) != live:
                self._seen[report.id] = live
                events.append(sse_event("broadcast", live))
        return events
