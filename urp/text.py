"""Text helpers shared by the whole package."""

from __future__ import annotations

import unicodedata


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
