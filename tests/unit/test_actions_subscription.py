"""The subscription actions as conversations, against a real SQLite register."""

from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet

from actions import services
from actions import subscription as subscription_actions
from actions.subscription import (
    ActionSubscribe,
    ActionSubscriptionConfirm,
    ActionSubscriptionStatus,
    ActionUnsubscribe,
)
from tests.unit.conversation import run, tracker
from urp.core.db import Database
from urp.core.settings import PROJECT_ROOT
from urp.faq.entries import FaqEntry


@pytest.fixture(autouse=True)
def register(actions_store: Database) -> Database:
    return actions_store


def says(
    text: str,
    *topics: str,
    sender: str = "+393331234567",
    intent: str = "subscribe",
    confidence: float = 1.0,
):
    entities = [{"entity": "topic", "value": t} for t in topics]
    event = {
        "event": "user",
        "text": text,
        "input_channel": "whatsapp",
        "parse_data": {"intent": {"name": intent, "confidence": confidence}, "entities": entities},
    }
    return tracker(event, sender_id=sender)


def outcome(events) -> str:
    return next(e["value"] for e in events if e["name"] == "subscription_outcome")


def slot(events, name: str) -> str | None:
    return next((e["value"] for e in events if e["name"] == name), None)


def test_subscribe_then_again() -> None:
    events, messages = run(ActionSubscribe(), says("Iscrivimi"))
    assert outcome(events) == "created"
    assert slot(events, "subscription_topics") == "«memo settimanale»"
    assert messages == []
    events, _ = run(ActionSubscribe(), says("iscrivimi"))
    assert outcome(events) == "already_active"


def test_leave_and_come_back(register) -> None:
    run(ActionSubscribe(), says("Iscrivimi"))
    events, _ = run(ActionUnsubscribe(), says("Cancellami", intent="unsubscribe"))
    assert events == [SlotSet("subscription_outcome", "cancelled")]
    with register.engine.connect() as connection:
        numbers = connection.exec_driver_sql("SELECT user_id FROM subscribers").scalars().all()
    assert numbers == [None]  # the phone number is erased on leaving
    events, _ = run(ActionSubscribe(), says("iscrivimi di nuovo"))
    assert outcome(events) == "reactivated"


def test_unsubscribe_when_not_subscribed() -> None:
    events, _ = run(ActionUnsubscribe(), says("cancellami", intent="unsubscribe"))
    assert events == [SlotSet("subscription_outcome", "not_subscribed")]


def test_follow_and_drop_topics_named_by_synonyms() -> None:
    events, _ = run(ActionSubscribe(), says("iscrivimi alle allerte meteo", "allerta meteo"))
    assert outcome(events) == "created"
    assert slot(events, "subscription_topics") == "«memo settimanale» e «emergenze e allerte»"
    events, _ = run(ActionSubscribe(), says("anche gli eventi", "manifestazioni"))
    assert outcome(events) == "topics_followed"
    assert "«eventi e manifestazioni»" in slot(events, "subscription_topics")
    events, _ = run(ActionUnsubscribe(), says("basta eventi", "eventi", intent="unsubscribe"))
    assert outcome(events) == "topics_dropped"
    assert slot(events, "subscription_topics") == "«memo settimanale» e «emergenze e allerte»"
    run(ActionUnsubscribe(), says("x", "memo", "emergenze", intent="unsubscribe"))
    events, _ = run(ActionSubscriptionStatus(), says("sono iscritto?"))
    assert outcome(events) == "subscribed"
    assert slot(events, "subscription_topics") == "nessun tema per ora"


def test_dropping_the_last_topic_says_nothing_is_followed() -> None:
    run(ActionSubscribe(), says("Iscrivimi"))
    events, _ = run(ActionUnsubscribe(), says("niente memo", "memo", intent="unsubscribe"))
    assert outcome(events) == "nothing_followed"


def test_an_unknown_topic_lists_the_known_ones() -> None:
    events, _ = run(ActionSubscribe(), says("iscrivimi al calcio", "calcio"))
    assert outcome(events) == "unknown_topic"
    assert "«viabilità e trasporti»" in slot(events, "known_topics")


def test_status_answers_from_the_register() -> None:
    events, _ = run(ActionSubscriptionStatus(), says("sono iscritto?"))
    assert outcome(events) == "not_subscribed"
    run(ActionSubscribe(), says("Iscrivimi"))
    events, _ = run(ActionSubscriptionStatus(), says("sono iscritto?"))
    assert outcome(events) == "subscribed"
    assert slot(events, "subscription_since")  # e.g. "22 novembre 2026"


def test_each_channel_user_is_a_different_subscriber() -> None:
    run(ActionSubscribe(), says("Iscrivimi", sender="a"))
    events, _ = run(ActionSubscribe(), says("Iscrivimi", sender="b"))
    assert outcome(events) == "created"


def test_an_unreachable_register_gets_a_graceful_outcome(monkeypatch, caplog) -> None:
    monkeypatch.setenv("URP_DB_URL", "postgresql://nessuno@127.0.0.1:1/urp")
    services.database.cache_clear()
    events, messages = run(ActionSubscribe(), says("Iscrivimi"))
    assert events == [SlotSet("subscription_outcome", "unavailable")]
    assert messages == []
    assert "+39333" not in caplog.text


def history(sender: str = "+393331234567") -> list[tuple[str, str]]:
    return [(r.action, r.source) for r in services.consent_log().history("whatsapp", sender)]


def test_stop_unsubscribes_like_cancellami_and_is_logged_as_stop() -> None:
    run(ActionSubscribe(), says("Iscrivimi"))
    events, _ = run(ActionUnsubscribe(), says("STOP", intent="unsubscribe"))
    assert events == [SlotSet("subscription_outcome", "cancelled")]
    run(ActionSubscribe(), says("Iscrivimi"))
    run(ActionUnsubscribe(), says("Cancellami", intent="unsubscribe"))
    assert history() == [
        ("given", "chat"),
        ("withdrawn", "stop"),
        ("given", "chat"),
        ("withdrawn", "chat"),
    ]


@pytest.fixture
def confirming(tmp_path, monkeypatch) -> None:
    """A Comune with ``subscription.confirm: true`` (the double opt-in)."""
    text = (PROJECT_ROOT / "settings" / "ancona.yml").read_text(encoding="utf-8")
    assert "  confirm: false" in text
    path = tmp_path / "ancona-confirm.yml"
    path.write_text(text.replace("  confirm: false", "  confirm: true"), encoding="utf-8")
    monkeypatch.setenv("URP_SETTINGS", str(path))


def test_double_opt_in_asks_for_a_yes_and_only_a_yes_subscribes(confirming) -> None:
    events, _ = run(ActionSubscribe(), says("Iscrivimi"))
    assert outcome(events) == "confirm_needed"
    assert slot(events, "subscription_topics") == "«memo settimanale»"
    events, _ = run(ActionSubscriptionStatus(), says("sono iscritto?"))
    assert outcome(events) == "not_subscribed"
    events, _ = run(ActionSubscriptionConfirm(), says("va bene", intent="affirm"))
    assert outcome(events) == "not_confirmed"
    events, _ = run(ActionSubscriptionConfirm(), says("SÌ", intent="affirm"))
    assert outcome(events) == "created"
    assert slot(events, "subscription_topics") == "«memo settimanale»"
    assert history() == [("requested", "chat"), ("given", "confirm")]


def test_double_opt_in_keeps_the_topic_asked_for_and_a_no_changes_nothing(confirming) -> None:
    events, _ = run(ActionSubscribe(), says("iscrivimi alle allerte", "allerte"))
    assert outcome(events) == "confirm_needed"
    assert slot(events, "subscription_topics") == "«memo settimanale» e «emergenze e allerte»"
    events, _ = run(ActionSubscriptionConfirm(), says("no", intent="deny"))
    assert outcome(events) == "not_confirmed"
    events, _ = run(ActionSubscriptionConfirm(), says("ok confermo", intent="affirm"))
    assert outcome(events) == "created"
    assert slot(events, "subscription_topics") == "«memo settimanale» e «emergenze e allerte»"


def test_double_opt_in_asks_nothing_of_who_is_subscribed_already(confirming) -> None:
    run(ActionSubscribe(), says("Iscrivimi"))
    run(ActionSubscriptionConfirm(), says("sì", intent="affirm"))
    events, _ = run(ActionSubscribe(), says("iscrivimi agli eventi", "eventi"))
    assert outcome(events) == "topics_followed"
    events, _ = run(ActionSubscriptionConfirm(), says("sì", intent="affirm"))
    assert outcome(events) == "not_confirmed"  # nothing was waiting for a yes


# --- the web chat, REST and callback: the memo arrives on WhatsApp only --------------------


def web(text: str, intent: str = "subscribe", channel: str = "socketio"):
    event = {
        "event": "user",
        "text": text,
        "input_channel": channel,
        "parse_data": {"intent": {"name": intent, "confidence": 1.0}, "entities": []},
    }
    return tracker(event, sender_id=f"{channel}:{'ab' * 16}")


@pytest.mark.parametrize("channel", ["socketio", "rest", "callback"])
def test_from_the_web_nobody_is_subscribed_and_the_way_is_whatsapp(register, channel) -> None:
    events, messages = run(ActionSubscribe(), web("Iscrivimi", channel=channel))
    assert events == [
        SlotSet("subscription_outcome", "on_whatsapp"),
        SlotSet("whatsapp_link", "https://wa.me/390712222222?text=Iscrivimi"),
    ]
    assert messages == []
    with register.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM subscribers").scalar() == 0


def test_from_the_web_leaving_and_asking_open_whatsapp_with_the_right_words() -> None:
    events, _ = run(ActionUnsubscribe(), web("Cancellami", intent="unsubscribe"))
    assert slot(events, "subscription_outcome") == "on_whatsapp"
    assert slot(events, "whatsapp_link") == "https://wa.me/390712222222?text=Cancellami"
    events, _ = run(ActionSubscriptionStatus(), web("sono iscritto?", "ask_subscription_status"))
    assert slot(events, "whatsapp_link") == "https://wa.me/390712222222?text=sono%20iscritto%3F"


def test_from_the_web_of_an_office_without_whatsapp_no_link(monkeypatch) -> None:
    monkeypatch.setenv("URP_SETTINGS", str(PROJECT_ROOT / "settings" / "arezzo.yml"))
    for action, intent in (
        (ActionSubscribe(), "subscribe"),
        (ActionUnsubscribe(), "unsubscribe"),
        (ActionSubscriptionStatus(), "ask_subscription_status"),
    ):
        events, _ = run(action, web("Iscrivimi", intent=intent))
        assert events == [SlotSet("subscription_outcome", "no_whatsapp")], action.name()


def test_on_whatsapp_the_web_rule_changes_nothing() -> None:
    events, _ = run(ActionSubscribe(), says("Iscrivimi"))
    assert outcome(events) == "created"
    assert slot(events, "whatsapp_link") is None


# --- a weak guess of «subscribe»: a question the office's FAQ answers is not a subscription ---

CANTEEN = FaqEntry(
    id="mensa-scolastica",
    questions=("Come iscrivo mio figlio alla mensa scolastica?", "iscrizione mensa scolastica"),
    answer="L'iscrizione alla *mensa scolastica* si fa *online* con SPID o CIE.",
    link="https://www.comune.example.it/mensa",
)


def subscribers(register: Database) -> int:
    with register.engine.connect() as connection:
        return connection.exec_driver_sql("SELECT count(*) FROM subscribers").scalar()


@pytest.fixture
def faq_asked(monkeypatch) -> list[str]:
    """An office's FAQ sure of one answer, the school canteen's: the messages it was asked."""
    asked: list[str] = []

    def takeover(conversation) -> FaqEntry | None:
        text = conversation.latest_message.get("text") or ""
        asked.append(text)
        return CANTEEN if "mensa" in text else None

    monkeypatch.setattr(subscription_actions, "faq_takeover", takeover, raising=False)
    return asked


def test_a_weak_guess_the_faq_answers_gets_the_answer_and_subscribes_nobody(
    faq_asked, register
) -> None:
    events, messages = run(ActionSubscribe(), says("iscrizione mensa scolastica", confidence=0.56))
    assert events == [
        SlotSet("subscription_outcome", "faq"),
        SlotSet("faq_id", "mensa-scolastica"),
        SlotSet("last_service", None),
    ]
    assert [m["text"] for m in messages] == [f"{CANTEEN.answer}\n👉 {CANTEEN.link}"]
    assert faq_asked == ["iscrizione mensa scolastica"]
    assert subscribers(register) == 0
    assert history() == []


def test_a_weak_guess_from_the_web_the_faq_answers_gets_no_whatsapp_link(faq_asked) -> None:
    conversation = web("iscrizione mensa scolastica")
    conversation.latest_message["intent"]["confidence"] = 0.56
    events, messages = run(ActionSubscribe(), conversation)
    assert slot(events, "subscription_outcome") == "faq"
    assert slot(events, "whatsapp_link") is None
    assert len(messages) == 1


def test_a_weak_guess_the_faq_does_not_answer_subscribes_as_before(faq_asked, register) -> None:
    events, messages = run(ActionSubscribe(), says("vorrei ricevere le notizie", confidence=0.56))
    assert faq_asked == ["vorrei ricevere le notizie"]
    assert outcome(events) == "created"
    assert messages == []
    assert subscribers(register) == 1


def test_a_strong_guess_subscribes_without_asking_the_faq(faq_asked, register) -> None:
    events, messages = run(ActionSubscribe(), says("iscrivimi", confidence=0.95))
    assert outcome(events) == "created"
    assert messages == []
    assert faq_asked == []
    assert subscribers(register) == 1


def test_the_faq_is_asked_only_below_the_threshold(faq_asked) -> None:
    edge = subscription_actions.WEAK_GUESS_BELOW
    assert edge == 0.8
    run(ActionSubscribe(), says("iscrivimi", confidence=edge))
    assert faq_asked == []
    run(ActionSubscribe(), says("iscrivimi", confidence=edge - 0.01))
    assert faq_asked == ["iscrivimi"]


@pytest.mark.parametrize(
    ("text", "topics", "intent"),
    [
        pytest.param("iscrivimi alle allerte della mensa", ["allerte"], "subscribe", id="topic"),
        pytest.param("mensa? iscrivimi al calcio", ["calcio"], "subscribe", id="unknown-topic"),
        pytest.param("sì, mensa", [], "affirm", id="yes-to-an-offer"),
        pytest.param('/subscribe{"topic": "mensa"}', ["mensa"], "subscribe", id="button"),
        pytest.param("/subscribe", [], "subscribe", id="bare-button"),
    ],
)
def test_a_weak_guess_with_a_sign_of_subscribing_never_asks_the_faq(
    faq_asked, text, topics, intent
) -> None:
    events, messages = run(ActionSubscribe(), says(text, *topics, intent=intent, confidence=0.5))
    assert outcome(events) != "faq"
    assert messages == []
    assert faq_asked == []
