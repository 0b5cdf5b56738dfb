"""Issue 25 on the WhatsApp and Twilio webhooks: the AI disclosure heads the first reply of a
conversation on both, and Meta's marketing opt-out (the ``user_preferences`` field) reaches
the consent log before the 200."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage

from channels import gate, services
from channels.twilio import SignedTwilioInput
from channels.whatsapp import WhatsAppInput
from tests.simulators.graph_api import GraphApiSimulator, delivery
from tests.simulators.twilio_api import AUTH_TOKEN, TwilioApiSimulator
from tests.whatsapp import test_channel
from tests.whatsapp.test_channel import (
    ANSWER,
    SALT,
    FakeRasa,
    Server,
    eventually,
    free_port,
    post,
    post_delivery,
    run,
)
from urp.core.hashing import UserHasher
from urp.whatsapp.twilio import sign as twilio_sign

DISCLOSURE = (
    "🤖 Sono l'assistente automatico del Comune: per parlare con una persona scrivi *operatore*."
)

# The fixtures of the channel tests: a migrated store, the Graph API and Twilio simulators.
store_url = test_channel.store_url
graph = test_channel.graph
twilio = test_channel.twilio


@pytest.fixture(autouse=True)
def fresh_consent_log() -> Iterator[None]:
    services.consent_log.cache_clear()
    yield
    services.consent_log.cache_clear()


class OpeningRasa(FakeRasa):
    """Rasa starting a session: action_session_start's disclosure, then the answer."""

    async def on_new_message(self, message: UserMessage) -> None:
        self.received.append(message)
        assert message.output_channel is not None
        if message.sender_id not in self.trackers:
            opening = {"text": DISCLOSURE, "utter_action": gate.DISCLOSURE_RESPONSE}
            await message.output_channel.send_response(message.sender_id, opening)
        await message.output_channel.send_response(message.sender_id, {"text": ANSWER})
        self.trackers.setdefault(message.sender_id, []).append(message.text)  # type: ignore[arg-type]


def test_whatsapp_the_first_reply_says_an_automated_assistant_answers(
    store_url: str, graph: GraphApiSimulator
) -> None:
    citizen = "393330000301"
    rasa = OpeningRasa()

    async def scenario() -> None:
        async with Server(WhatsAppInput.from_credentials(None), rasa, free_port()) as server:
            for text in ("ciao", "orari?"):
                payload = delivery(citizen, {"type": "text", "text": {"body": text}})
                assert await post_delivery(server.url, payload) == 200
                count = len(rasa.received) + 1
                await eventually(lambda count=count: len(graph.sent(citizen)) >= count)
            await server.stop()

    run(scenario)
    bodies = [m["text"]["body"] for m in graph.sent(citizen)]
    assert bodies == [f"{DISCLOSURE}\n{ANSWER}", ANSWER]  # one message, then as before


def test_twilio_the_first_reply_says_an_automated_assistant_answers(
    store_url: str, twilio: TwilioApiSimulator
) -> None:
    citizen = "whatsapp:+393330000302"
    rasa = OpeningRasa()
    form = {"From": citizen, "To": "whatsapp:+390710000000", "Body": "ciao", "MessageSid": "SM31"}

    async def scenario() -> None:
        async with Server(SignedTwilioInput.from_credentials(None), rasa, free_port()) as server:
            headers = {
                "X-Twilio-Signature": twilio_sign(AUTH_TOKEN, server.url, form),
                "Content-Type": "application/x-www-form-urlencoded",
            }
            assert await post(server.url, urllib.parse.urlencode(form).encode(), headers) == 200
            await eventually(lambda: twilio.to(citizen))
            await server.stop()

    run(scenario)
    [reply] = twilio.to(citizen)
    assert reply["Body"].startswith(DISCLOSURE) and reply["Body"].endswith(ANSWER)


def preferences(citizen: str, value: str, timestamp: int) -> dict[str, Any]:
    """A ``user_preferences`` delivery as Meta documents it (webhooks reference)."""
    change = {
        "field": "user_preferences",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "390710000000", "phone_number_id": "1"},
            "contacts": [{"profile": {"name": "Mario"}, "wa_id": citizen}],
            "user_preferences": [
                {
                    "wa_id": citizen,
                    "detail": f"User requested to {value} marketing messages",
                    "category": "marketing_messages",
                    "value": value,
                    "timestamp": timestamp,
                }
            ],
        },
    }
    return {"object": "whatsapp_business_account", "entry": [{"id": "9", "changes": [change]}]}


def test_meta_s_marketing_opt_out_is_recorded_before_the_200(
    store_url: str, graph: GraphApiSimulator
) -> None:
    citizen = "393330000303"
    user_hash = UserHasher(SALT.encode())("whatsapp", citizen)
    rasa = FakeRasa()

    async def scenario() -> None:
        async with Server(WhatsAppInput.from_credentials(None), rasa, free_port()) as server:
            stop = preferences(citizen, "stop", 1_767_000_000)
            assert await post_delivery(server.url, stop) == 200
            assert services.consent_log().marketing_opted_out(user_hash)
            assert await post_delivery(server.url, stop) == 200  # Meta delivers it again
            resume = preferences(citizen, "resume", 1_767_000_600)
            assert await post_delivery(server.url, resume) == 200
            assert not services.consent_log().marketing_opted_out(user_hash)
            await server.stop()

    run(scenario)
    history = services.consent_log().history("whatsapp", citizen)
    assert [(r.scope, r.action, r.source) for r in history] == [
        ("marketing", "withdrawn", "meta"),
        ("marketing", "given", "meta"),
    ]
    assert rasa.received == []  # nothing to answer
    assert json.dumps([r.message for r in history]).count(citizen) == 0
