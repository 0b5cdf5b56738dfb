"""The office's data written out for a chat: short lines, WhatsApp formatting.

Replies frame these lists with their own words (domain.yml); this module only turns
records into lines, so the same data reads the same on every channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from itertools import groupby

from urp.core.dates import format_date, format_day
from urp.core.text import join_italian
from urp.information.bathing import Zone
from urp.information.contributions import Contribution
from urp.information.pharmacy import Shift


def shift_lines(shifts: Sequence[Shift], today: date) -> str:
    """Pharmacies by day: on duty first, then support ("appoggio")."""
    days = [day for day, _ in groupby(shifts, key=lambda s: s.day)]
    blocks = []
    for day, group in groupby(shifts, key=lambda s: s.day):
        lines = [f"{format_day(day, today)}:"] if len(days) > 1 else []
        for shift in group:
            role = "" if shift.on_duty else " (appoggio)"
            hours = f", {shift.hours}" if shift.hours else ""
            lines.append(f"• *{shift.name}*{role} — {shift.address}, tel. {shift.phone}{hours}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def zone_names(zones: Sequence[Zone]) -> str:
    return join_italian([zone.name for zone in zones])


def ban_lines(zones: Sequence[Zone]) -> str:
    lines = []
    for zone in zones:
        since = f" dal {format_date(zone.since)}" if zone.since else ""
        where = f" ({zone.coast})" if zone.coast else ""
        lines.append(f"• *{zone.name}*{where}{since}")
    return "\n".join(lines)


def contribution_lines(contributions: Sequence[Contribution], today: date) -> str:
    lines = []
    for contribution in contributions:
        if contribution.opens_on and contribution.opens_on > today:
            when = f"apre il {format_date(contribution.opens_on)}"
        elif contribution.opens_on is None and contribution.expected:
            when = f"apertura prevista {contribution.expected}"
        elif contribution.closes_on and contribution.closes_on < today:
            when = f"chiuso il {format_date(contribution.closes_on)}"
        elif contribution.closes_on:
            when = f"scade il {format_date(contribution.closes_on)}"
        else:
            when = "aperto fino a nuovo avviso"
        lines.append(
            f"• *{contribution.title}* — {contribution.eligible}; {when}: {contribution.link}"
        )
    return "\n".join(lines)
