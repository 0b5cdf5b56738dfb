"""Every channel's door to Rasa (channels.gate): whose conversation a message reaches, which
``/intent`` texts and which metadata pass, and the limit per client address."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from channels import gate
from channels.rest import MAX_SENDER, InvalidRequest, parse_request
from urp.core.settings import RateLimit
from urp.inbound.ratelimit import RateLimiter

NUMBER = "393331234567"  # a WhatsApp citizen's id
HEADERS_FROM = "203.0.113.7"


class Clock:
    now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def received() -> Iterator[list[UserMessage]]:
    gate.use_limiter(RateLimiter(RateLimit(burst=3, per_minute=6), clock=Clock()))
    try:
        yield []
    finally:
        gate.use_limiter(None)


def admit(
    received: list[UserMessage],
    text: str,
    channel: str,
    sender: str = NUMBER,
    output: CollectingOutputChannel | None = None,
    **kwargs: Any,
) -> bool:
    async def on_new_message(message: UserMessage) -> None:
        received.append(message)

    return asyncio.run(
        gate.admit(
            on_new_message,
            text,
            output or CollectingOutputChannel(),
            sender,
            input_channel=channel,
            **kwargs,
        )
    )


@pytest.mark.parametrize("channel", ["rest", "callback", "socketio"])
def test_an_open_channel_never_writes_in_a_whatsapp_conversation(
    received: list[UserMessage], channel: str
) -> None:
    assert admit(received, "cancella i miei dati", channel)
    assert received[0].sender_id == f"{channel}:{NUMBER}"
    assert gate.caller_id(channel, received[0].sender_id) == NUMBER


@pytest.mark.parametrize("channel", ["whatsapp", "twilio"])
def test_a_signed_channel_writes_in_the_number_s_conversation(
    received: list[UserMessage], channel: str
) -> None:
    assert admit(received, "ciao", channel)
    assert received[0].sender_id == NUMBER == gate.caller_id(channel, NUMBER)


@pytest.mark.parametrize("channel", ["rest", "callback", "socketio", "whatsapp", "twilio"])
@pytest.mark.parametrize(
    "text",
    [
        "/EXTERNAL_handoff_claimed",
        '/EXTERNAL_handoff_claimed{"handoff_operator": "Mario"}',
        "/EXTERNAL_handoff_resolved",
        '/subscribe{"topic": "emergenze"}',
        '/affirm{"handoff_operator": "x"}',
        "/restart",
        "/session_start",
    ],
)
def test_no_channel_triggers_a_handoff_event_or_sets_an_entity(
    received: list[UserMessage], channel: str, text: str
) -> None:
    assert admit(received, text, channel)
    assert received[0].text == text[1:]  # the NLU reads it as words


@pytest.mark.parametrize("channel", ["rest", "socketio", "whatsapp"])
@pytest.mark.parametrize(
    "text", ["/affirm", "/deny", '/subscribe{"topic": "bandi"}', "/nlu_fallback", "/abuse"]
)
def test_buttons_and_bare_citizen_intents_still_pass(
    received: list[UserMessage], channel: str, text: str
) -> None:
    assert admit(received, text, channel)
    assert received[0].text == text


def test_the_widget_s_buttons_are_allowed_and_no_external_intent_is() -> None:
    allowed = gate.shortcuts(False)
    assert '/subscribe{"topic": "bandi"}' in allowed.payloads
    assert {"affirm", "deny", "subscribe", "nlu_fallback"} <= allowed.intents
    assert not [i for i in allowed.intents if i.startswith("EXTERNAL_")]
    assert "restart" not in allowed.intents and not allowed.media


@pytest.mark.parametrize("channel", ["rest", "callback", "socketio", "whatsapp", "twilio"])
def test_the_faq_s_buttons_pass_from_every_channel(
    received: list[UserMessage], channel: str
) -> None:
    choice = '/choose_faq{"faq_id": "tari-pagamento"}'
    assert admit(received, choice, channel)
    assert received[0].text == choice


@pytest.mark.parametrize("channel", ["rest", "whatsapp"])
@pytest.mark.parametrize(
    "text",
    [
        "/choose_faq",
        '/choose_faq{"faq_id": "tari-pagamento", "handoff_operator": "Mario"}',
        '/choose_faq{"handoff_operator": "Mario"}',
        '/choose_faq{"faq_id": "../../etc"}',
        '/request_operator{"faq_id": "tari-pagamento"}',
    ],
)
def test_a_forged_faq_choice_is_read_as_words(
    received: list[UserMessage], channel: str, text: str
) -> None:
    assert admit(received, text, channel)
    assert received[0].text == text[1:]


def test_the_faq_choice_is_a_button_not_a_bare_intent() -> None:
    allowed = gate.shortcuts(False)
    assert allowed.choices and "choose_faq" not in allowed.intents


def test_a_position_passes_from_whatsapp_only(received: list[UserMessage]) -> None:
    position = '/report_problem{"latitude": 43.61, "longitude": 13.51}'
    assert admit(received, position, "whatsapp")
    assert admit(received, position, "rest")
    assert [m.text for m in received] == [position, position[1:]]


@pytest.mark.parametrize("channel", ["rest", "callback", "socketio"])
def test_metadata_of_an_open_channel_is_dropped(received: list[UserMessage], channel: str) -> None:
    forged = {
        "photo_url": "https://evil.example/x.jpg",
        "is_external": True,
        "urp_media": {"type": "image", "url": "https://evil.example/x.jpg"},
        "urp_operator_message": 1,
    }
    assert admit(received, "a" * 3000, channel, metadata=forged)
    assert received[0].metadata == {"inbound_cut": 3000}


def test_a_connector_s_metadata_is_kept(received: list[UserMessage]) -> None:
    media = {"whatsapp_message_type": "image", "urp_media": {"type": "image", "url": "u"}}
    assert admit(received, "foto", "whatsapp", metadata=media)
    assert received[0].metadata == media


def test_rotating_senders_from_one_address_hit_the_address_limit(
    received: list[UserMessage],
) -> None:
    address = gate.request_client("198.51.100.4")
    senders = [f"{NUMBER}{n}" for n in range(40)]  # a new sender for each message
    output = CollectingOutputChannel()
    passed = [admit(received, "ciao", "rest", s, output, client=address) for s in senders]
    assert passed == [True] * 30 + [False] * 10  # 10 citizens' burst of 3
    # One notice, to the first sender refused; the others are dropped in silence.
    assert [(m["recipient_id"], m["text"]) for m in output.messages] == [
        (f"rest:{senders[30]}", gate.notice_text())
    ]
    # Another address, and WhatsApp (its sender is signed), are not held up.
    assert admit(received, "ciao", "rest", "x", client=gate.request_client("198.51.100.5"))
    assert admit(received, "ciao", "whatsapp", "39333000", client=address)


def test_one_flooding_sender_does_not_exhaust_its_address(received: list[UserMessage]) -> None:
    address = gate.request_client("198.51.100.6")
    assert [admit(received, "ciao", "rest", "flood", client=address) for _ in range(40)].count(
        True
    ) == 3
    assert all(admit(received, "ciao", "rest", f"other{n}", client=address) for n in range(9))


def test_forwarded_for_only_from_a_trusted_proxy() -> None:
    forwarded = {"x-forwarded-for": f"10.9.9.9, {HEADERS_FROM}"}
    # nginx on the same machine (loopback, trusted by default) appended the client.
    assert gate.request_client("127.0.0.1", forwarded) == HEADERS_FROM
    # Anyone else's header is their own say: ignored.
    assert gate.request_client("198.51.100.9", forwarded) == "198.51.100.9"
    # The machine itself has no address limit.
    assert gate.request_client("127.0.0.1") is None


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000, b'{"sender": "a", "message": "x", "metadata": ' + b'{"a":' * 50_000],
    ids=["list", "metadata"],
)
def test_deeply_nested_json_is_a_bad_request(body: bytes) -> None:
    with pytest.raises(InvalidRequest):
        parse_request(body)


def test_a_rest_request_is_sender_and_message_only() -> None:
    assert parse_request(b'{"sender": "a", "message": "b", "metadata": {"is_external": 1}}') == (
        "a",
        "b",
    )


def test_a_namespaced_conversation_id_fits_the_store() -> None:
    longest = "x" * MAX_SENDER
    assert parse_request(json.dumps({"sender": longest, "message": "ciao"}).encode())
    with pytest.raises(InvalidRequest):
        parse_request(json.dumps({"sender": longest + "x", "message": "ciao"}).encode())
    # urp.handoff.queue and urp.information.reports keep up to 128 characters of a conversation id.
    assert (
        max(len(gate.conversation_id(c, longest)) for c in ("rest", "callback", "socketio")) <= 128
    )


DISCLOSURE = (
    "🤖 Sono l'assistente automatico del Comune: per parlare con una persona scrivi *operatore*."
)


def converse(received: list[UserMessage], *replies: dict[str, Any]) -> list[dict[str, Any]]:
    """A turn through the gate of the REST channel, Rasa sending ``replies`` as it would
    (action_session_start's disclosure is a message with its ``utter_action``)."""
    collector = CollectingOutputChannel()

    async def on_new_message(message: UserMessage) -> None:
        received.append(message)
        assert message.output_channel is not None
        assert message.output_channel.name() == "collector"  # the responses per channel
        for reply in replies:
            await message.output_channel.send_response(message.sender_id, dict(reply))

    asyncio.run(gate.admit(on_new_message, "ciao", collector, NUMBER, input_channel="rest"))
    return collector.messages


def test_the_gate_knows_the_disclosure_the_session_start_sends() -> None:
    from actions.session import DISCLOSURE_RESPONSE  # glue packages never import each other

    assert gate.DISCLOSURE_RESPONSE == DISCLOSURE_RESPONSE
    assert gate._domain()["responses"][DISCLOSURE_RESPONSE][0]["text"] == DISCLOSURE


def opening(text: str = DISCLOSURE) -> dict[str, Any]:
    return {"text": text, "utter_action": gate.DISCLOSURE_RESPONSE}


def test_the_ai_disclosure_is_the_first_line_of_the_first_reply(
    received: list[UserMessage],
) -> None:
    buttons = [{"title": "Sì", "payload": "/affirm"}]
    messages = converse(
        received,
        opening(),
        {"text": "Ciao! Come posso aiutarti?", "buttons": buttons},
        {"text": "Altro"},
    )
    assert [m["text"] for m in messages] == [f"{DISCLOSURE}\nCiao! Come posso aiutarti?", "Altro"]
    assert messages[0]["buttons"] == buttons
    assert converse(received, {"text": "Seconda risposta"})[0]["text"] == "Seconda risposta"


def test_the_ai_disclosure_goes_alone_before_a_photo_or_when_nothing_follows(
    received: list[UserMessage],
) -> None:
    photo = converse(received, opening(), {"image": "https://example.org/a.png"})
    assert [(m.get("text"), m.get("image")) for m in photo] == [
        (DISCLOSURE, None),
        (None, "https://example.org/a.png"),
    ]
    assert [m["text"] for m in converse(received, opening())] == [DISCLOSURE]
