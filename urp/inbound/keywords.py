"""The service keywords citizens send ("Iscrivimi", "Cancellami", "STOP", "operatore"...).

Some hold whatever the settings say, because citizens expect them everywhere: «STOP» is the
opt-out word of every messaging platform (Meta's opt-out guidance included), «operatore»
is what the assistant tells everyone to write for a person (the AI disclosure), and the
«sì» of a double opt-in must be read as a yes by the dialogue and by the register alike.
"""

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
# Always an unsubscribe, next to the settings' own keywords ("cancellami").
STOP_KEYWORDS = ("stop",)
# What a citizen writes for a person: the word the AI disclosure tells them to write.
OPERATOR_INTENT = "request_operator"
OPERATOR_KEYWORDS = ("operatore", "operatrice")
# The only answers that confirm a double opt-in («Rispondi SÌ per confermare»).
CONFIRM_INTENT = "affirm"
CONFIRM_PHRASES = ("sì", "si", "sì confermo", "si confermo", "confermo", "ok confermo")
_STOP = {_NOT_LETTERS.sub("", fold(k)) for k in STOP_KEYWORDS}
_OPERATOR = {_NOT_LETTERS.sub("", fold(k)) for k in OPERATOR_KEYWORDS}
_CONFIRM = {_NOT_LETTERS.sub("", fold(p)) for p in CONFIRM_PHRASES}


def _squeezed(text: str | None) -> str:
    return _NOT_LETTERS.sub("", fold(text or ""))


def is_stop(text: str | None) -> bool:
    """Whether the message is only «STOP» (any case, with or without a full stop).

    >>> is_stop("Stop."), is_stop("STOP"), is_stop("stop alle notifiche")
    (True, True, False)
    """
    return _squeezed(text) in _STOP


def is_confirmation(text: str | None) -> bool:
    """Whether the message confirms a double opt-in: «sì», «SI», «ok confermo»...

    «va bene», «certo» or a thumbs up are not enough: the consent must be unambiguous.

    >>> is_confirmation("SÌ!"), is_confirmation("ok, confermo"), is_confirmation("va bene")
    (True, True, False)
    """
    return _squeezed(text) in _CONFIRM


def is_back_to_bot(text: str | None) -> bool:
    """Whether the message is only a request to go back to the assistant.

    >>> is_back_to_bot("Torna al bot!"), is_back_to_bot("torna al bot quando hai finito")
    (True, False)
    """
    return _NOT_LETTERS.sub("", fold(text or "")) in _BACK_TO_BOT


def keyword_intent(text: str, subscription: SubscriptionSettings) -> str | None:
    """The intent of a message that is only a keyword: ``subscribe``, ``unsubscribe`` (also
    «STOP»), ``back_to_bot``, ``request_operator`` («operatore»), ``affirm`` (a «sì»).

    Case, accents, spaces and punctuation don't matter: " ISCRIVIMI! " and "Iscri vimi"
    count; "iscrivimi alle emergenze" is left to the classifier (it names a topic).

    >>> from urp.core.settings import load_settings
    >>> keyword_intent(" Cancellami!! ", load_settings().subscription)
    'unsubscribe'
    >>> keyword_intent("Stop.", load_settings().subscription)
    'unsubscribe'
    """
    squeezed = _squeezed(text)
    if not squeezed:
        return None
    if squeezed in _BACK_TO_BOT:
        return BACK_TO_BOT_INTENT
    if squeezed in _STOP:
        return "unsubscribe"
    if squeezed in _OPERATOR:
        return OPERATOR_INTENT
    if squeezed in _CONFIRM:
        return CONFIRM_INTENT
    for intent, keywords in (
        ("subscribe", subscription.subscribe_keywords),
        ("unsubscribe", subscription.unsubscribe_keywords),
    ):
        if squeezed in {_NOT_LETTERS.sub("", k) for k in keywords}:
            return intent
    return None
