"""Property tests: whatever arrives, the parsers and loaders answer or refuse cleanly."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.rest import InvalidRequest, parse_request
from urp.core.dates import resolve
from urp.core.settings import Settings, SettingsError, parse_settings
from urp.inbound.cleaning import EMPTY_TEXT, MAX_TEXT, clean
from urp.whatsapp.twilio import TwilioSettings, parse_form
from urp.whatsapp.twilio import signature_is_valid as twilio_signature_is_valid
from urp.whatsapp.webhook import WebhookError, parse_delivery, signature_is_valid

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROME = ZoneInfo("Europe/Rome")

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=25,
)
KEYS = [
    "object",
    "entry",
    "changes",
    "value",
    "messages",
    "statuses",
    "metadata",
    "id",
    "from",
    "type",
    "text",
    "body",
    "timestamp",
    "interactive",
    "button_reply",
    "location",
    "latitude",
    "longitude",
    "image",
    "caption",
    "status",
    "errors",
    "field",
]
# Dictionaries shaped like Meta's, with the keys it uses, so the parser goes deep.
meta_like = st.recursive(
    scalars
    | st.sampled_from(
        [
            "whatsapp_business_account",
            "text",
            "image",
            "location",
            "interactive",
            "reaction",
            "audio",
            "messages",
        ]
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=30,
)


@FUZZ
@given(st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())))
def test_any_body_is_a_delivery_or_a_webhook_error(body: bytes) -> None:
    with contextlib.suppress(WebhookError):
        parse_delivery(body, lambda media_id: f"https://media/{media_id}")


@FUZZ
@given(meta_like)
def test_any_meta_shaped_payload_is_a_delivery_or_a_webhook_error(payload: Any) -> None:
    if isinstance(payload, dict):
        payload["object"] = "whatsapp_business_account"
    try:
        delivery = parse_delivery(json.dumps(payload).encode())
    except WebhookError:
        return
    for message in delivery.messages:
        assert message.text is None or isinstance(message.text, str)


@FUZZ
@given(st.binary(max_size=100), st.text(max_size=80), st.booleans())
def test_any_signature_header_is_right_or_wrong_never_an_error(
    body: bytes, header: str, prefixed: bool
) -> None:
    assert signature_is_valid(body, f"sha256={header}" if prefixed else header, "segreto") in (
        True,
        False,
    )


@FUZZ
@given(st.integers(1, 5_000), st.sampled_from(["[", '{"a": ', '{"entry": [']), st.booleans())
def test_any_nesting_depth_is_a_delivery_or_a_webhook_error(
    depth: int, opening: str, inside: bool
) -> None:
    closing = "".join("]" if c == "[" else "}" for c in reversed(opening) if c in "[{")
    nested = opening * depth + "1" + closing * depth
    body = f'{{"object": "whatsapp_business_account", "entry": [{nested}]}}' if inside else nested
    with contextlib.suppress(WebhookError):
        parse_delivery(body.encode())


@FUZZ
@given(
    st.one_of(
        st.text(max_size=60), st.builds("http://{}/webhooks/twilio/webhook".format, st.text())
    ),
    st.none() | st.text(max_size=40),
)
def test_any_twilio_url_and_signature_are_right_or_wrong_never_an_error(
    url: str, signature: str | None
) -> None:
    settings = TwilioSettings("AC123", "token-di-prova", "whatsapp:+390710000000")
    form = {"From": "whatsapp:+393331234567", "Body": "ciao", "MessageSid": "SM1"}
    assert twilio_signature_is_valid(settings, url, form, signature) in (True, False)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "From",
                "MessageSid",
                "SmsMessageSid",
                "To",
                "Body",
                "ButtonPayload",
                "MediaUrl0",
                "MediaContentType0",
                "Latitude",
                "Longitude",
            ]
        )
        | st.text(max_size=8),
        st.text(max_size=30),
    )
)
def test_any_twilio_form_is_a_message_or_none(form: dict[str, str]) -> None:
    message = parse_form(form)
    if message is not None:
        assert message.sender and message.message_id
        assert isinstance(message.text, str)


@FUZZ
@given(
    st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        # Nesting deeper than json's recursion: a 400 like any bad body, never a 500.
        st.builds(
            lambda opening, depth, tail: opening * depth + tail,
            st.sampled_from([b"[", b"{", b'{"a":', b'{"sender": "a", "message": "b", "x": [']),
            st.integers(900, 120_000),
            st.sampled_from([b"", b"1", b"]" * 3]),
        ),
    )
)
def test_any_rest_body_is_a_request_or_invalid(body: bytes) -> None:
    try:
        sender, message = parse_request(body)
    except InvalidRequest:
        return
    assert isinstance(sender, str) and isinstance(message, str)


@FUZZ
@given(st.text())
def test_any_text_is_cleaned_into_something_rasa_can_read(text: str) -> None:
    cleaned = clean(text).text
    assert cleaned and len(cleaned) <= MAX_TEXT
    assert all(c in "\n\t" or (ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F) for c in cleaned)
    # Never an intent past the NLU, but the polite event an empty text becomes.
    assert not cleaned.strip().startswith("/") or cleaned == EMPTY_TEXT


@FUZZ
@given(st.sampled_from(["/", " /", "//", "/ /"]), st.text(max_size=40))
def test_no_slash_made_text_reaches_rasa_as_an_intent(slashes: str, text: str) -> None:
    cleaned = clean(slashes + text).text
    assert not cleaned.strip().startswith("/") or cleaned == EMPTY_TEXT


WORDS = [
    "oggi",
    "domani",
    "dopodomani",
    "stamattina",
    "stasera",
    "lunedì",
    "sabato",
    "prossimo",
    "il",
    "del",
    "di",
    "mese",
    "weekend",
    "fine",
    "settimana",
    "natale",
    "pasqua",
    "ferragosto",
    "25",
    "31",
    "2",
    "dicembre",
    "febbraio",
    "2027",
    "1999",
    "alle",
    "ore",
    "mattina",
    "pomeriggio",
    "sera",
    "notte",
    "adesso",
    "ora",
    "/",
    "-",
]
italianish = st.one_of(
    st.lists(st.sampled_from(WORDS), max_size=5).map(" ".join),
    st.text(max_size=30),
    st.builds(
        lambda d, m, y: f"{d}/{m}/{y}",
        st.integers(-5, 40),
        st.integers(-2, 14),
        st.integers(0, 10_000),
    ),
)


@FUZZ
@given(italianish, st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31)))
def test_any_italian_ish_phrase_resolves_sanely_or_not_at_all(phrase: str, naive: datetime) -> None:
    now = naive.replace(tzinfo=ROME)
    span = resolve(phrase, now)
    if span is None:
        return
    assert span.start <= span.end
    assert span.start.tzinfo is not None
    assert span.end - span.start <= timedelta(days=32)  # a day, a weekend, a week...
    # An explicit year is taken as written; anything else is near ``now``.
    assert 1900 <= span.day.year <= 2200
    if not any(char.isdigit() for char in phrase):
        assert abs(span.start.astimezone(UTC) - now.astimezone(UTC)) < timedelta(days=400)


BASE = yaml.safe_load(Path("settings/ancona.yml").read_text(encoding="utf-8"))
SECTIONS = sorted(BASE)


def _mutated(section: str, value: Any, drop: bool) -> dict[str, Any]:
    data = json.loads(json.dumps(BASE, default=str))
    if drop:
        data.pop(section, None)
    else:
        data[section] = value
    return data


@FUZZ
@given(st.sampled_from(SECTIONS), json_values, st.booleans())
def test_any_mapping_is_valid_settings_or_a_settings_error(
    section: str, value: Any, drop: bool
) -> None:
    try:
        loaded = parse_settings(_mutated(section, value, drop), Path("fuzz.yml"))
    except SettingsError:
        return
    assert isinstance(loaded, Settings)


@FUZZ
@given(st.sampled_from(SECTIONS), st.sampled_from(["x", "y"]), json_values)
def test_any_nested_value_is_valid_settings_or_a_settings_error(
    section: str, key: str, value: Any
) -> None:
    data = _mutated(section, None, drop=True)
    original = BASE[section]
    if isinstance(original, dict):
        inner = json.loads(json.dumps(original, default=str))
        inner[next(iter(inner)) if key == "x" else key] = value
        data[section] = inner
    with contextlib.suppress(SettingsError):
        parse_settings(data, Path("fuzz.yml"))
