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
- Rasa reads a text starting with ``/`` as an intent with its entities, skipping the NLU
  (``/EXTERNAL_handoff_claimed`` would pause the bot, ``/intent{"slot": ...}`` set any
  entity). Only the :class:`Shortcuts` a channel allows pass as they are; from any other
  such text the leading slashes are removed, and the NLU reads the words.
- The FAQ's «Forse cerchi:» buttons carry an entry's id, which changes with the office's
  FAQ: ``/choose_faq{"faq_id": "<id>"}`` passes with that one entity only, its value an
  entry id (a slug), so no other slot can be set that way.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 2000
EMPTY_TEXT = "/EXTERNAL_unsupported_message"
CUT_KEY = "inbound_cut"
KEPT = {"\n", "\t"}
SHORTCUT_PREFIX = "/"
# The channel events only the console and the Rasa HTTP API may trigger.
EXTERNAL_PREFIX = "EXTERNAL_"
# What the WhatsApp and Twilio connectors make of a position or a photo.
MEDIA_INTENT = "report_problem"
_BARE_INTENT = re.compile(r"/([A-Za-z][A-Za-z0-9_]*)")
_MEDIA_SHORTCUT = re.compile(rf"/{MEDIA_INTENT}(\{{.*\}})", re.DOTALL)
_WEB_LINK = re.compile(r"https?://\S+")
# The FAQ's buttons: an entry's id, the slug of urp.faq.entries (no import across features).
CHOICE_INTENT = "choose_faq"
CHOICE_ENTITY = "faq_id"
_CHOICE_SHORTCUT = re.compile(rf"/{CHOICE_INTENT}(\{{.*\}})", re.DOTALL)
_CHOICE_VALUE = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")


@dataclass(frozen=True)
class Shortcuts:
    """The ``/intent`` texts a channel may hand to Rasa as they are.

    ``intents``: a bare ``/intent`` (no entities, no confidence), as a citizen could get
    by typing the words; ``payloads``: exact texts, the bot's own buttons;
    ``media``: ``/report_problem`` with a position or a photo link, which the WhatsApp
    and Twilio connectors compose; ``choices``: the FAQ's buttons,
    ``/choose_faq{"faq_id": "<id>"}``. Never an ``EXTERNAL_`` intent, whatever is listed,
    except :data:`EMPTY_TEXT`, which is what an empty message becomes anyway.
    """

    intents: frozenset[str] = frozenset()
    payloads: frozenset[str] = frozenset()
    media: bool = False
    choices: bool = False

    def allow(self, text: str) -> bool:
        if text == EMPTY_TEXT:
            return True
        if text[len(SHORTCUT_PREFIX) :].startswith(EXTERNAL_PREFIX):
            return False
        if text in self.payloads:
            return True
        bare = _BARE_INTENT.fullmatch(text)
        if bare is not None:
            return bare.group(1) in self.intents
        choice = _CHOICE_SHORTCUT.fullmatch(text) if self.choices else None
        if choice is not None:
            return _choice_entities(choice.group(1))
        media = _MEDIA_SHORTCUT.fullmatch(text) if self.media else None
        return media is not None and _media_entities(media.group(1))


NO_SHORTCUTS = Shortcuts()


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("chiave ripetuta")
    return dict(pairs)


def _choice_entities(raw: str) -> bool:
    """Exactly one entity, ``faq_id``, whose value is an entry id."""
    try:
        entities = json.loads(raw, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        return False
    if not isinstance(entities, dict) or set(entities) != {CHOICE_ENTITY}:
        return False
    value = entities[CHOICE_ENTITY]
    return isinstance(value, str) and _CHOICE_VALUE.fullmatch(value) is not None


def _media_entities(raw: str) -> bool:
    """A position (two numbers) or a photo (a web link): nothing else, no other entity."""
    try:
        entities = json.loads(raw)
    except (ValueError, RecursionError):
        return False
    if not isinstance(entities, dict):
        return False
    if set(entities) == {"latitude", "longitude"}:
        return all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in entities.values()
        )
    if set(entities) == {"photo_url"}:
        photo = entities["photo_url"]
        return isinstance(photo, str) and _WEB_LINK.fullmatch(photo) is not None
    return False


@dataclass(frozen=True)
class Inbound:
    text: str  # what Rasa receives
    original_length: int  # characters before cleaning
    cut: bool  # longer than MAX_TEXT: cut
    shortcut_refused: bool = False  # an "/intent" the channel may not send: read as words

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


def _words(text: str) -> str:
    """The text without the leading slashes that would make Rasa skip the NLU."""
    while text.startswith(SHORTCUT_PREFIX):
        text = text[len(SHORTCUT_PREFIX) :].lstrip()
    return text


def clean(text: Any, limit: int = MAX_TEXT, shortcuts: Shortcuts = NO_SHORTCUTS) -> Inbound:
    """The text Rasa should read for ``text`` (any value: a non-string is empty)."""
    raw = text if isinstance(text, str) else ""
    cleaned = "".join(c for c in raw if _kept(c)).strip()
    cut = len(cleaned) > limit
    if cut:
        cleaned = cleaned[:limit].rstrip()
    refused = cleaned.startswith(SHORTCUT_PREFIX) and not shortcuts.allow(cleaned)
    if refused:
        cleaned = _words(cleaned)
    return Inbound(
        text=cleaned or EMPTY_TEXT, original_length=len(raw), cut=cut, shortcut_refused=refused
    )
