"""Text helpers shared by the whole package."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

# WhatsApp's limit for one text message.
MESSAGE_LIMIT = 4096
SENTENCE_ENDS = (". ", "! ", "? ", ".\n", "!\n", "?\n", "\n")


def fold(text: str) -> str:
    """Lowercase, without accents, single spaces: how names are compared.

    >>> fold("  Viabilità   e TRAFFICO ")
    'viabilita e traffico'
    """
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def join_italian(items: list[str]) -> str:
    """ "a", "a e b", "a, b e c"."""
    if not items:
        return ""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " e " + items[-1]


def pack_messages(blocks: Iterable[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Blocks (paragraphs, memo items) as messages shorter than ``limit`` characters.

    Blocks are joined by a blank line; messages break between blocks, and a block is cut
    only when it alone is too long, at the end of a sentence (else at a space).
    """
    messages: list[str] = []
    current = ""
    for block in blocks:
        for piece in _cut(block, limit - 1):
            joined = f"{current}\n\n{piece}" if current else piece
            if len(joined) < limit:
                current = joined
            else:
                messages.append(current)
                current = piece
    messages.append(current)
    return messages


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """A long text as messages under ``limit``, broken between paragraphs where it can."""
    return pack_messages(text.split("\n\n"), limit)


def _cut(text: str, size: int) -> list[str]:
    """``text`` in pieces of at most ``size`` characters, cut where a reader would pause."""
    pieces = []
    while len(text) > size:
        window = text[: size + 1]
        end = max(window.rfind(mark) + len(mark.rstrip()) for mark in SENTENCE_ENDS)
        if end < size // 2:  # a sentence ending early would leave a stub: take a space
            end = window.rfind(" ")
        if end <= 0:
            end = size  # one endless word: cut it anyway
        pieces.append(text[:end].rstrip())
        text = text[end:].lstrip()
    return [*pieces, text]
