"""«Grazie» or a compliment: both are the ``thank`` intent, with different replies.

The intent contract counts compliments as ``thank``; the reply differs: «grazie» gets
«Prego!», «siete bravissimi» gets «Che bello leggerlo». ``action_thank`` records which
one in ``thanks_kind``, and the rules in data/rules/smalltalk.yml pick the reply.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from urp.core.text import fold

# Words of praise for the service or the people (folded: lowercase, no accents). Courtesy
# words that come with a plain thanks («gentilissimi», «grazie mille») are not praise.
COMPLIMENT = re.compile(
    r"\b(?:brav[aeio]|bravissim[aeio]|complimenti|fantastic[aio]|fantastiche|mitic[aio]"
    r"|mitiche|efficien\w*|eccellent[ei]|eccezional[ei]|ottim[ao] servizio|bel servizio"
    r"|servizio (?:utile|utilissimo|prezioso|eccellente|ottimo)|apprezzament\w*"
    r"|na potenza|grandi ragazzi|continuate cosi|meno male che ci siete|sul pezzo)\b"
)


def is_compliment(text: str) -> bool:
    """Whether ``text`` praises the service rather than (only) thanking for an answer."""
    return COMPLIMENT.search(fold(text)) is not None


class ActionThank(Action):
    def name(self) -> str:
        return "action_thank"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        return [SlotSet("thanks_kind", "compliment" if is_compliment(text) else "thanks")]
