"""Meta's webhook deliveries, every message type, read into what Rasa receives."""

from __future__ import annotations

import json

import pytest

from tests.simulators.graph_api import APP_SECRET, delivery, status_delivery
from urp.whatsapp.twilio import TwilioSettings
from urp.whatsapp.twilio import signature_is_valid as twilio_signature_is_valid
from urp.whatsapp.webhook import (
    WebhookError,
    parse_delivery,
    sign,
    signature_is_valid,
)

NUMBER = "393331234567"


def media_url(media_id: str) -> str:
    return f"https://graph.example/v21.0/{media_id}"


def one(message: dict) -> object:
    body = json.dumps(delivery(NUMBER, message)).encode()
    [parsed] = parse_delivery(body, media_url).messages
    return parsed


def test_signature_is_the_hmac_of_the_raw_body() -> None:
    body = b'{"object": "whatsapp_business_account", "entry": []}'
    assert signature_is_valid(body, sign(body, APP_SECRET), APP_SECRET)
    assert not signature_is_valid(body + b" ", sign(body, APP_SECRET), APP_SECRET)
    assert not signature_is_valid(body, sign(body, "altro-segreto"), APP_SECRET)
    assert not signature_is_valid(body, None, APP_SECRET)
    assert not signature_is_valid(body, sign(body, APP_SECRET).removeprefix("sha256="), APP_SECRET)
    assert not signature_is_valid(body, sign(body, ""), "")  # no secret, no trust


def test_text_keeps_the_words_and_the_sender() -> None:
    message = one({"type": "text", "text": {"body": "farmacie di turno stanotte?"}})
    assert (message.text, message.sender, message.kind) == (
        "farmacie di turno stanotte?",
        NUMBER,
        "text",
    )
    assert NUMBER not in repr(message)  # never in a log line


@pytest.mark.parametrize(
    ("interactive", "expected"),
    [
        ({"type": "button_reply", "button_reply": {"id": "/affirm", "title": "Sì"}}, "/affirm"),
        ({"type": "list_reply", "list_reply": {"id": "/deny", "title": "No"}}, "/deny"),
    ],
)
def test_buttons_and_lists_come_back_as_their_payload(interactive, expected) -> None:
    assert one({"type": "interactive", "interactive": interactive}).text == expected


def test_template_quick_reply_button() -> None:
    message = one({"type": "button", "button": {"payload": "Cancellami", "text": "Cancellami"}})
    assert message.text == "Cancellami"


def test_a_position_feeds_the_report_form() -> None:
    location = {"latitude": 43.6158, "longitude": 13.5189, "name": "Passetto"}
    message = one({"type": "location", "location": location})
    assert message.text == '/report_problem{"latitude": 43.6158, "longitude": 13.5189}'


def test_a_photo_without_caption_feeds_the_report_form() -> None:
    message = one({"type": "image", "image": {"id": "MEDIA1", "mime_type": "image/jpeg"}})
    assert message.text == '/report_problem{"photo_url": "https://graph.example/v21.0/MEDIA1"}'
    assert message.media_id == "MEDIA1"


def test_a_photo_with_a_caption_is_read_as_its_caption() -> None:
    image = {"id": "MEDIA2", "caption": "  buca in via Marconi  "}
    message = one({"type": "image", "image": image})
    assert (message.text, message.media_id) == ("buca in via Marconi", "MEDIA2")


@pytest.mark.parametrize("kind", ["audio", "video", "document", "sticker", "unsupported"])
def test_what_the_bot_cannot_read_gets_the_polite_notice(kind) -> None:
    message = one({"type": kind, kind: {"id": "MEDIA3"}})
    assert message.is_unsupported
    assert message.text == "/EXTERNAL_unsupported_message"


def test_contacts_and_types_newer_than_the_code_are_unsupported_too() -> None:
    assert one({"type": "contacts", "contacts": [{"name": {"formatted_name": "A"}}]}).is_unsupported
    assert one({"type": "hologram", "hologram": {}}).is_unsupported


def test_a_reaction_is_not_a_question() -> None:
    message = one({"type": "reaction", "reaction": {"message_id": "wamid.X", "emoji": "👍"}})
    assert message.text is None


def test_statuses_are_read_with_their_error() -> None:
    body = json.dumps(
        status_delivery("wamid.OUT1", NUMBER, "failed", code=131047, title="Re-engagement message")
    ).encode()
    [status] = parse_delivery(body).statuses
    assert (status.message_id, status.status, status.error_code, status.error_title) == (
        "wamid.OUT1",
        "failed",
        131047,
        "Re-engagement message",
    )


def test_an_empty_text_and_a_message_without_id_are_handled() -> None:
    assert one({"type": "text", "text": {}}).text == ""
    payload = delivery(NUMBER, {"type": "text", "text": {"body": "x"}})
    del payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert parse_delivery(json.dumps(payload).encode()).messages == ()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"object": "page", "entry": []}',
        b'{"object": "whatsapp_business_account"}',
        b'{"object": "whatsapp_business_account", "entry": [{"id": 1}]}',
        b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "x"}]}]}',
        b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {"messages": 3}}]}]}',
    ],
)
def test_what_is_not_a_delivery_is_refused(body: bytes) -> None:
    with pytest.raises(WebhookError):
        parse_delivery(body)


@pytest.mark.parametrize(
    "header", ["sha256=é", "sha256=" + "ü" * 64, "sha256=\u2028", "sha256=\udcff"]
)
def test_a_non_ascii_signature_is_wrong_not_an_error(header: str) -> None:
    body = b'{"object": "whatsapp_business_account", "entry": []}'
    assert not signature_is_valid(body, header, APP_SECRET)


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_is_refused(depth: int) -> None:
    nested = (
        b'{"object": "whatsapp_business_account", "entry": ' + b"[" * depth + b"]" * depth + b"}"
    )
    with pytest.raises(WebhookError):
        parse_delivery(nested)
    with pytest.raises(WebhookError):
        parse_delivery(b'{"a":' * depth + b"1" + b"}" * depth)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:notaport/webhooks/twilio/webhook", "http://[::1/x", "http://h:99999999/x"],
)
def test_a_twilio_request_with_a_broken_host_is_wrongly_signed_not_an_error(url: str) -> None:
    settings = TwilioSettings("AC123", "token-di-prova", "whatsapp:+390710000000")
    form = {"From": "whatsapp:+393331234567", "Body": "ciao", "MessageSid": "SM1"}
    assert not twilio_signature_is_valid(settings, url, form, "c2lnbmF0dXJh")
    assert not twilio_signature_is_valid(settings, url, form, "firmaè")
