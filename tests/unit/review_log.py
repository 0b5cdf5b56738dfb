"""A conversation log as Rasa stores it, with the bot unsure of some messages, and a copy
of the training data for the tests that write examples."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from urp.core.settings import PROJECT_ROOT
from urp.review.training import TrainingData

WHATSAPP = "393331234567"
WEB = "c0ffee-web-chat"


def user(
    sender: str, at: float, text: str, ranking: list[tuple[str, float]], *, fallback: bool = False
) -> dict[str, Any]:
    intent_ranking = [{"name": name, "confidence": conf} for name, conf in ranking]
    intent = {"name": "nlu_fallback", "confidence": 0.6} if fallback else intent_ranking[0]
    if fallback:
        intent_ranking = [intent, *intent_ranking]
    return {
        "event": "user",
        "sender_id": sender,
        "timestamp": at,
        "text": text,
        "input_channel": "whatsapp" if sender == WHATSAPP else "socketio",
        "parse_data": {"intent": intent, "intent_ranking": intent_ranking, "entities": []},
    }


def action(sender: str, at: float, name: str) -> dict[str, Any]:
    return {"event": "action", "sender_id": sender, "timestamp": at, "name": name}


def bot(
    sender: str, at: float, text: str, metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "event": "bot",
        "sender_id": sender,
        "timestamp": at,
        "text": text,
        "metadata": metadata or {},
    }


LOG: list[dict[str, Any]] = [
    # Understood well: not for the inbox.
    user(WHATSAPP, 1000.0, "ciao", [("greet", 0.99), ("thank", 0.005)]),
    bot(WHATSAPP, 1001.0, "Ciao! Come posso aiutarti?"),
    # Not understood, twice in two chats (a typo apart, and a name and a phone number).
    user(
        WHATSAPP,
        1010.0,
        "mi chiamo Mario Rossi, il gattile di via Flaminia 12 è aperto? 333 123 4567",
        [("ask_opening_hours", 0.41), ("out_of_scope", 0.38)],
        fallback=True,
    ),
    action(WHATSAPP, 1011.0, "action_count_unclear"),
    bot(WHATSAPP, 1012.0, "Scusa, non ho capito bene."),
    user(
        WEB,
        1020.0,
        "mi chiamo Anna Bianchi, il gattile di via Flaminia 12 è aperto? 333 123 4567",
        [("ask_opening_hours", 0.45), ("out_of_scope", 0.40)],
        fallback=True,
    ),
    # Low confidence, then the same words again in another chat.
    user(
        WEB,
        1030.0,
        "la farmacia del porto fa la notte?",
        [("ask_pharmacy_shift", 0.66), ("ask_opening_hours", 0.2)],
    ),
    user(
        WHATSAPP,
        1040.0,
        "la farmacia del porto fa la notte?",
        [("ask_pharmacy_shift", 0.7), ("ask_opening_hours", 0.1)],
    ),
    # Ambiguous: the two best intents are close.
    user(
        WEB,
        1050.0,
        "scrivetemi la mail a anna@example.org",
        [("subscribe", 0.8), ("ask_privacy_policy", 0.7)],
    ),
    # Understood with confidence, but the bot handed the chat over: the message counts.
    user(
        WHATSAPP,
        1060.0,
        "devo rinnovare la carta d'identità",
        [("ask_opening_hours", 0.9), ("book_appointment", 0.05)],
    ),
    action(WHATSAPP, 1061.0, "action_handoff"),
    # Asked for a person: a handoff, but the bot understood.
    user(
        WEB,
        1070.0,
        "voglio parlare con un operatore",
        [("request_operator", 0.97), ("greet", 0.01)],
    ),
    action(WEB, 1071.0, "action_handoff"),
    # An operator answered in the bot's place.
    user(
        WEB,
        1080.0,
        "il cane del vicino abbaia tutta la notte",
        [("report_problem", 0.93), ("out_of_scope", 0.03)],
    ),
    bot(WEB, 1090.0, "Puoi rivolgerti alla Polizia Locale.", {"urp_operator_message": 7}),
    # Buttons and the console's own triggers are not citizens' words.
    user(WEB, 1100.0, "/affirm", [("affirm", 0.3), ("deny", 0.25)]),
    {
        **user(WEB, 1110.0, "EXTERNAL_handoff_claimed", [("greet", 0.2)]),
        "metadata": {"is_external": True},
    },
]


def training_copy(root: Path) -> TrainingData:
    """The project's NLU data, held-out set and domain, copied under ``root``."""
    shutil.copytree(PROJECT_ROOT / "data" / "nlu", root / "data" / "nlu")
    (root / "tests" / "nlu").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "tests" / "nlu" / "holdout.yml", root / "tests" / "nlu")
    shutil.copy(PROJECT_ROOT / "domain.yml", root)
    return TrainingData.of_project(root)
