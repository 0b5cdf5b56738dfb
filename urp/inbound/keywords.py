"""The service keywords citizens send ("Iscrivimi", "Cancellami", "torna al bot")."""

from __future__ import annotations

import re

from urp.core.settings import SubscriptionSettings
from urp.core.text import fold

_NOT_LETTERS = re.compile(r"[\W_]+")
BACK_TO_BOT_INTENT = "back_to_bot"
# What a citizen writes to leave the operator and go back to the assistant.
BACK_TO_BOT_PHRASES = (
    "torna al bot",
    "torna all'assistente",
    "torna all'assistente virtuale",
    "tornare al bot",
    "voglio tornare al bot",
    "ritorna al bot",
    "torna al chatbot",
)
_BACK_TO_BOT = {_NOT_LETTERS.sub("", fold(phrase)) for phrase in BACK_TO_BOT_PHRASES}


def is_back_to_bot(text: str | None) -> bool:
    """Whether the message is only a request to go back to the assistant.

    >>> is_back_to_bot("Torna al bot!"), is_back_to_bot("torna al bot quando hai finito")
    (True, False)
    """
    return _NOT_LETTERS.sub("", fold(text or "")) in _BACK_TO_BOT


def keyword_intent(text: str, subscription: SubscriptionSettings) -> str | None:
    """``subscribe``/``unsubscribe``/``back_to_bot`` when the message is only that keyword.

    Case, accents, spaces and punctuation don't matter: " ISCRIVIMI! " and "Iscri vimi"
    count; "iscrivimi alle emergenze" is left to the classifier (it names a topic).

    >>> from urp.core.settings import load_settings
    >>> keyword_intent(" Cancellami!! ", load_settings().subscription)
    'unsubscribe'
    """
    squeezed = _NOT_LETTERS.sub("", fold(text))
    if not squeezed:
        return None
    if squeezed in _BACK_TO_BOT:
        return BACK_TO_BOT_INTENT
    for intent, keywords in (
        ("subscribe", subscription.subscribe_keywords),
        ("unsubscribe", subscription.unsubscribe_keywords),
    ):
        if squeezed in {_NOT_LETTERS.sub("", k) for k in keywords}:
            return intent
    return None
