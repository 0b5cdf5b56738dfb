"""On the web every reply fits the channel: no phone number, no memo «qui».

Through Rasa's own response generator, by output channel: the web chat (socketio), the
REST channel (Rasa's "collector" output) and the callback channel get their variants;
the replies only WhatsApp citizens can reach (a subscription in the register) are left out:
the subscription actions never lead there from the web (tests/unit/test_actions_subscription.py).
"""

from __future__ import annotations

import asyncio
import re

import pytest
from rasa.core.channels.callback import CallbackOutput
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.channels.socketio import SocketIOOutput
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from urp.core.settings import load_settings
from urp.subscription.whatsapp_link import WEB_CHANNELS

DOMAIN = Domain.load("domain.yml")
WEB_OUTPUTS = (SocketIOOutput.name(), CollectingOutputChannel.name(), CallbackOutput.name())
# Reached only with a subscription in the register: never from the web.
WHATSAPP_ONLY = {
    "utter_subscribed",
    "utter_resubscribed",
    "utter_already_subscribed",
    "utter_topics_followed",
    "utter_unknown_topic",
    "utter_unsubscribed",
    "utter_not_subscribed",
    "utter_topics_dropped",
    "utter_topics_dropped_none_left",
    "utter_subscription_status",
    "utter_subscription_confirm",
    "utter_subscription_not_confirmed",
    "utter_subscription_confirm_expired",
}
BROKEN_PROMISES = re.compile(
    r"il tuo numero|ricevi qui|ricevi di nuovo|avviso qui|riceverai qui|numero di telefono",
    re.IGNORECASE,
)


def said(response: str, output: str) -> str:
    tracker = DialogueStateTracker("web", DOMAIN.slots)
    facts = load_settings("settings/ancona.yml").facts()
    for name, value in {**facts, "whatsapp_link": "https://wa.me/390712222222"}.items():
        tracker.update(SlotSet(name, value))
    generator = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    message = asyncio.run(generator.generate(response, tracker, output))
    assert message is not None, (response, output)
    return str(message.get("text") or "")


def test_the_web_outputs_are_the_web_channels() -> None:
    assert set(WEB_OUTPUTS) == (WEB_CHANNELS - {"rest"}) | {"collector"}


@pytest.mark.parametrize("output", WEB_OUTPUTS)
def test_no_web_reply_promises_what_the_web_cannot_keep(output: str) -> None:
    for response in sorted(set(DOMAIN.responses) - WHATSAPP_ONLY):
        text = said(response, output)
        assert not BROKEN_PROMISES.search(text), (response, output, text)


@pytest.mark.parametrize("output", WEB_OUTPUTS)
def test_the_web_privacy_answer_speaks_of_the_chat(output: str) -> None:
    text = said("utter_privacy_policy", output)
    assert "messaggi che ci scrivi" in text and "il tuo numero" not in text
    assert "https://www.comune.ancona.gov.it/whatsapp-privacy" in text


def test_on_whatsapp_the_privacy_answer_is_about_the_number() -> None:
    for output in ("whatsapp", "twilio"):
        assert "il tuo numero" in said("utter_privacy_policy", output)
        assert "Vuoi un avviso qui" in said("utter_calls_upcoming", output)


def test_the_web_subscription_replies_give_the_link_or_the_contacts() -> None:
    link = said("utter_subscribe_on_whatsapp", "socketio")
    assert "https://wa.me/390712222222" in link and "Da ora ricevi" not in link
    none = said("utter_subscribe_no_whatsapp", "socketio")
    assert "071 222 2222" in none and "urp@comune.ancona.it" in none
