"""The service keywords citizens send ("Iscrivimi", "Cancellami")."""

from __future__ import annotations

import re

from urp.settings import SubscriptionSettings
from urp.text import fold

_NOT_LETTERS = re.compile(r"[\W_]+")


def keyword_intent(text: str, subscription: SubscriptionSettings) -> str | None:
    """``subscribe``/``unsubscribe`` when the message is only that keyword.

    Case, accents, spaces and punctuation don't matter: " ISCRIVIMI! " and "Iscri vimi"
    count; "iscrivimi alle emergenze" is left to the classifier (it names a topic).

    >>> from urp.settings import load_settings
    >>> keyword_intent(" Cancellami!! ", load_settings().subscription)
    'unsubscribe'
    """
    squeezed = _NOT_LETTERS.sub("", fold(text))
    if not squeezed:
        return None
    for intent, keywords in (
        ("subscribe", subscription.subscribe_keywords),
        ("unsubscribe", subscription.unsubscribe_keywords),
    ):
        if squeezed in {_NOT_LETTERS.sub("", k) for k in keywords}:
            return intent
    return None
