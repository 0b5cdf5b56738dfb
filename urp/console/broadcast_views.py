"""What the broadcast pages and their live counts show, in Italian.

No view has a phone number: the engine's reports have none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from urp.broadcasts.service import STATUS_LABELS, BroadcastError, BroadcastReport, BroadcastService
from urp.console.views import sse_event
from urp.core.settings import Settings

KINDS = {"memo": "Memo", "emergency": "Emergenza"}
LIST_LIMIT = 30  # broadcasts on the list page, and watched live there


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
    counts: dict[str, int]
    failures: tuple[tuple[str, int], ...]

    def live(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "status_label": self.status_label,
            "total": self.total,
            "counts": self.counts,
            "failures": [list(f) for f in self.failures],
        }


def broadcast_view(
    report: BroadcastReport, settings: Settings, names: Mapping[str, str] | None = None
) -> BroadcastView:
    """The view of ``report``; ``names`` (username -> display name) to name who published."""
    counts = report.counts
    topics = settings.subscription.topics
    name = (names or {}).get(report.created_by)
    when = report.created_at.astimezone(settings.timezone)
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
        },
        failures=tuple((f.reason or "motivo non indicato", f.count) for f in report.failures),
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
