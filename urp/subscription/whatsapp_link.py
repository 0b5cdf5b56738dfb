"""Where the memo arrives, and how a citizen who writes from the web gets there.

Memos and alerts go out on WhatsApp only (:mod:`urp.broadcasts`). In the web chat (and on
the REST and callback channels) «Iscrivimi» subscribes nobody: the citizen is given a
``https://wa.me/<number>?text=Iscrivimi`` link, which opens the office's WhatsApp chat
with the keyword already written, and the demo site shows the same link as a QR code.

The office's WhatsApp number is ``whatsapp.number`` in the settings file, in international
form («+39 071 222 2222»); without it the web chat says that subscribing is not possible
from there and points to the office's contacts.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from urllib.parse import quote

import segno

from urp.core.settings import OfficeNumber, Settings

# The channels whose citizens the memo never reaches: the web chat (Rasa's socket.io
# channel), the REST channel and the callback channel.
WEB_CHANNELS = frozenset({"socketio", "rest", "callback"})
SUBSCRIBE_TEXT = "Iscrivimi"


def is_web(channel: str | None) -> bool:
    """Whether a citizen of ``channel`` cannot receive the memo where they write."""
    return channel in WEB_CHANNELS


def office_number(settings: Settings) -> OfficeNumber | None:
    """The office's WhatsApp number (``whatsapp.number``), or None if it has none."""
    return settings.whatsapp_number


def whatsapp_link(number: str, text: str = SUBSCRIBE_TEXT) -> str:
    """The link that opens a WhatsApp chat with ``number``, ``text`` already written."""
    return f"https://wa.me/{number}?text={quote(text)}"


@dataclass(frozen=True)
class Invitation:
    """What the demo site shows: the link, the number and the link's QR code."""

    link: str
    number: str  # as people read it: «+39 071 222 2222»
    qr_svg: str  # an inline <svg role="img"> with its accessible name


def qr_svg(link: str, label: str) -> str:
    """``link`` as a QR code, an inline SVG named ``label`` for screen readers."""
    svg = segno.make(link, error="m").svg_inline(scale=4, title=label, svgclass="urp-qr")
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)


def invitation(settings: Settings) -> Invitation | None:
    """The invitation to subscribe on WhatsApp, or None if the office has no number."""
    number = office_number(settings)
    if number is None:
        return None
    link = whatsapp_link(number.digits)
    label = f"Codice QR: apre WhatsApp con il messaggio «{SUBSCRIBE_TEXT}» per il {settings.display_name}"
    return Invitation(link=link, number=number.written, qr_svg=qr_svg(link, label))
