"""Subscription: "Iscrivimi", "Cancellami" (or "STOP"), topics and "sono iscritto?".

Each action calls the subscriber service and records what happened in
``subscription_outcome``; the rules in data/rules/subscription.yml choose the reply. With
the double opt-in (``subscription.confirm``) «Iscrivimi» from someone not subscribed is
only a request (``confirm_needed``); the «sì» right after it runs
``action_subscription_confirm``.

The memo goes out on WhatsApp only: on the web chat (and the REST and callback channels)
these actions touch no register and record ``on_whatsapp`` with the office's wa.me link
(``whatsapp_link``, «Iscrivimi», «Cancellami» or «sono iscritto?» already written), or
``no_whatsapp`` when the settings name no WhatsApp number (:mod:`urp.subscription.whatsapp_link`).

A question the NLU only guesses is «Iscrivimi» may be the FAQ's («iscrizione mensa
scolastica», ``subscribe`` at 0.56): below :data:`WEAK_GUESS_BELOW`, with no topic named,
no «sì» to an offered topic and no button, ``action_subscribe`` asks the FAQ first; when
the FAQ is sure of an answer, it answers and nobody is subscribed (``subscription_outcome:
faq``, :func:`actions.faq.faq_takeover`). On any channel: the web citizen gets the answer,
not the way to WhatsApp. A clear «Iscrivimi» never asks the FAQ.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import entity_values
from actions.faq import faq_takeover, send_answer
from actions.information import InformationAction, Outcome
from actions.services import subscriber_service
from urp.core.dates import format_date
from urp.core.settings import Settings
from urp.core.text import join_italian
from urp.inbound.keywords import is_confirmation, is_stop
from urp.subscription.consents import ConsentSource
from urp.subscription.subscribers import (
    ConfirmOutcome,
    SubscribeOutcome,
    SubscriberService,
    UnsubscribeOutcome,
)
from urp.subscription.whatsapp_link import (
    SUBSCRIBE_TEXT,
    is_web,
    office_number,
    whatsapp_link,
)

# Subscribing is a consent: below this intent confidence «subscribe» is only a guess, and
# the FAQ answers instead when it is sure («iscrizione mensa scolastica» was 0.56, a clear
# «iscrivimi» is above 0.9, a keyword or a button 1.0).
WEAK_GUESS_BELOW = 0.8

SUBSCRIBED = {
    SubscribeOutcome.CREATED: "created",
    SubscribeOutcome.REACTIVATED: "reactivated",
    SubscribeOutcome.ALREADY_ACTIVE: "already_active",
}


def _topic_list(settings: Settings, keys: tuple[str, ...]) -> str:
    topics = settings.subscription.topics
    return join_italian([f"«{topics[k].label}»" for k in keys if k in topics])


def _intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


class SubscriptionAction(InformationAction, ABC):
    """Calls the subscriber service; records ``subscription_outcome``."""

    outcome_slot = "subscription_outcome"
    # What the wa.me link writes for a web citizen, in the office's WhatsApp chat.
    whatsapp_text = SUBSCRIBE_TEXT

    def lookup(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, settings: Settings
    ) -> Outcome:
        if is_web(self.citizen(tracker)[0]):
            return self.on_whatsapp(settings)
        return self.decide(subscriber_service(), settings, tracker)

    def on_whatsapp(self, settings: Settings) -> Outcome:
        """A web citizen: the memo arrives on WhatsApp only, so the way there."""
        number = office_number(settings)
        if number is None:
            return "no_whatsapp", {}
        return "on_whatsapp", {"whatsapp_link": whatsapp_link(number.digits, self.whatsapp_text)}

    @abstractmethod
    def decide(
        self, service: SubscriberService, settings: Settings, tracker: Tracker
    ) -> tuple[str, dict[str, str]]:
        """Do the work; return the outcome and the slots its reply quotes."""

    @staticmethod
    def citizen(tracker: Tracker) -> tuple[str, str]:
        """(channel, user id): on WhatsApp the user id is the phone number."""
        return tracker.get_latest_input_channel() or "rest", tracker.sender_id

    @staticmethod
    def named_topics(settings: Settings, tracker: Tracker) -> tuple[list[str], bool]:
        """Topic keys named in the message, and whether some name was not a topic."""
        values = entity_values(tracker, "topic")
        found = [settings.subscription.find_topic(v) for v in values]
        keys = list(dict.fromkeys(t.key for t in found if t is not None))
        return keys, len(keys) < len(values)

    @staticmethod
    def unknown_topic(settings: Settings) -> tuple[str, dict[str, str]]:
        keys = tuple(settings.subscription.topics)
        return "unknown_topic", {"known_topics": _topic_list(settings, keys)}


class ActionSubscribe(SubscriptionAction):
    def name(self) -> str:
        return "action_subscribe"

    def lookup(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, settings: Settings
    ) -> Outcome:
        entry = faq_takeover(tracker) if self.weak_guess(tracker) else None
        if entry is not None:
            send_answer(dispatcher, entry)
            return "faq", {"faq_id": entry.id, "last_service": None}
        return super().lookup(dispatcher, tracker, settings)

    @staticmethod
    def weak_guess(tracker: Tracker) -> bool:
        """A «subscribe» the NLU is unsure of, with nothing else that asks to subscribe: no
        topic named, not the «sì» to an offered topic, not a button's ``/subscribe``."""
        intent = tracker.latest_message.get("intent") or {}
        confidence = intent.get("confidence")
        text = str(tracker.latest_message.get("text") or "")
        return (
            confidence is not None
            and float(confidence) < WEAK_GUESS_BELOW
            and intent.get("name") != "affirm"
            and not entity_values(tracker, "topic")
            and not text.startswith("/")
        )

    def decide(
        self, service: SubscriberService, settings: Settings, tracker: Tracker
    ) -> tuple[str, dict[str, str]]:
        channel, user_id = self.citizen(tracker)
        message = tracker.latest_message.get("text") or ""
        topics, unknown = self.named_topics(settings, tracker)
        if not topics and not unknown and _intent(tracker) == "affirm":
            # "sì" to "Vuoi un avviso qui quando esce?": the topic that was offered.
            offered = settings.subscription.find_topic(tracker.get_slot("offered_topic") or "")
            topics = [offered.key] if offered else []
        if unknown and not topics:
            return self.unknown_topic(settings)
        if settings.subscription.confirm and not service.status(channel, user_id).subscribed:
            asked = service.request(channel, user_id, message, settings.policy_version, topics)
            return "confirm_needed", {"subscription_topics": _topic_list(settings, asked)}
        if topics:
            followed = service.follow(channel, user_id, topics, message, settings.policy_version)
            outcome = followed.subscription
            current = followed.topics
        else:
            subscribed = service.subscribe(channel, user_id, message, settings.policy_version)
            outcome = subscribed.outcome
            current = subscribed.topics
        name = SUBSCRIBED[outcome]
        if outcome == SubscribeOutcome.ALREADY_ACTIVE and topics:
            name = "topics_followed"
        return name, {"subscription_topics": _topic_list(settings, current)}


class ActionSubscriptionConfirm(SubscriptionAction):
    """The answer to «Rispondi SÌ per confermare»: only a «sì» in time subscribes."""

    def name(self) -> str:
        return "action_subscription_confirm"

    def decide(
        self, service: SubscriberService, settings: Settings, tracker: Tracker
    ) -> tuple[str, dict[str, str]]:
        channel, user_id = self.citizen(tracker)
        message = tracker.latest_message.get("text") or ""
        result = service.confirm(
            channel,
            user_id,
            message,
            settings.policy_version,
            confirmed=is_confirmation(message),
        )
        if result.subscription is None:
            expired = result.outcome == ConfirmOutcome.EXPIRED
            return ("confirm_expired" if expired else "not_confirmed"), {}
        subscribed = result.subscription
        return SUBSCRIBED[subscribed.outcome], {
            "subscription_topics": _topic_list(settings, subscribed.topics)
        }


class ActionUnsubscribe(SubscriptionAction):
    whatsapp_text = "Cancellami"

    def name(self) -> str:
        return "action_unsubscribe"

    def decide(
        self, service: SubscriberService, settings: Settings, tracker: Tracker
    ) -> tuple[str, dict[str, str]]:
        channel, user_id = self.citizen(tracker)
        topics, unknown = self.named_topics(settings, tracker)
        if unknown and not topics:
            return self.unknown_topic(settings)
        if not topics:
            message = tracker.latest_message.get("text") or ""
            source = ConsentSource.STOP if is_stop(message) else ConsentSource.CHAT
            result = service.unsubscribe(channel, user_id, source=source, message=message)
            if result.outcome == UnsubscribeOutcome.CANCELLED:
                return "cancelled", {}
            return "not_subscribed", {}
        dropped = service.drop(channel, user_id, topics)
        if not dropped.subscribed:
            return "not_subscribed", {}
        if not dropped.topics:
            return "nothing_followed", {}
        return "topics_dropped", {"subscription_topics": _topic_list(settings, dropped.topics)}


class ActionSubscriptionStatus(SubscriptionAction):
    whatsapp_text = "sono iscritto?"

    def name(self) -> str:
        return "action_subscription_status"

    def decide(
        self, service: SubscriberService, settings: Settings, tracker: Tracker
    ) -> tuple[str, dict[str, str]]:
        status = service.status(*self.citizen(tracker))
        if not status.subscribed or status.since is None:
            return "not_subscribed", {}
        since = status.since.astimezone(settings.timezone).date()
        return "subscribed", {
            "subscription_since": format_date(since),
            "subscription_topics": _topic_list(settings, status.topics) or "nessun tema per ora",
        }
