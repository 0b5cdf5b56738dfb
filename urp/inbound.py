"""One home for what a citizen's text becomes before Rasa reads it (every channel).

- C0/C1 control characters are removed, except newline and tab; so are lone surrogates
  (invalid UTF-8 decoded with ``surrogateescape``) and the byte order mark.
- The text is cut at :data:`MAX_TEXT` characters: DIET and the spaCy tokenizer take time
  growing with the length, and no question to the URP is longer. The cut is what Rasa
  keeps in the tracker; the metadata says how long the original was (``inbound_cut``).
- A text that is empty after cleaning (nothing, spaces, only control characters) becomes
  the channel event ``/EXTERNAL_unsupported_message``: the citizen is asked, politely, to
  write the question in words (``utter_unsupported_message``), with the trained model.
- Only emoji is a text like another: the NLU answers it (usually asking to rephrase).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 2000
EMPTY_TEXT = "/EXTERNAL_unsupported_message"
CUT_KEY = "inbound_cut"
KEPT = {"\n", "\t"}


@dataclass(frozen=True)
class Inbound:
    text: str  # what Rasa receives
    original_length: int  # characters before cleaning
    cut: bool  # longer than MAX_TEXT: cut

    def metadata(self, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        merged = dict(metadata or {})
        if self.cut:
            merged[CUT_KEY] = self.original_length
        return merged


def _kept(char: str) -> bool:
    if char in KEPT:
        return True
    category = unicodedata.category(char)
    # Cc: C0 and C1 controls; Cs: lone surrogates; the BOM is Cf.
    return category not in ("Cc", "Cs") and char != "\ufeff"


def clean(text: Any, limit: int = MAX_TEXT) -> Inbound:
    """The text Rasa should read for ``text`` (any value: a non-string is empty)."""
    raw = text if isinstance(text, str) else ""
    cleaned = "".join(c for c in raw if _kept(c)).strip()
    cut = len(cleaned) > limit
    if cut:
        cleaned = cleaned[:limit].rstrip()
    return Inbound(text=cleaned or EMPTY_TEXT, original_length=len(raw), cut=cut)
