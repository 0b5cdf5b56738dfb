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
