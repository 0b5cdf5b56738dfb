"""WhatsApp (Cloud API and Twilio) against the real Rasa server, over HTTP.

Deliveries in Meta's documented shapes are POSTed to the connector, signed or not,
repeated, malformed, of every message type; the local Graph API simulator records exactly
what the connector sent back.
"""

from __future__ import annotations

import re
import sqlite3
import time
import urllib.parse
import urllib.request

import pytest

from tests.e2e.servers import RunningAssistant
from tests.simulators import graph_api
from tests.simulators.graph_api import GraphApiSimulator, delivery, post_delivery, status_delivery
from tests.simulators.twilio_api import AUTH_TOKEN, TwilioApiSimulator
from urp.handoff.rasa_api import RasaConversations
from urp.whatsapp.twilio import SIGNATURE_HEADER, sign

HANG = 600  # seconds: a loaded machine is slow, a broken test hangs

pytestmark = pytest.mark.e2e


def webhook(assistant: RunningAssistant) -> str:
    return f"{assistant.url}/webhooks/whatsapp/webhook"


def deliver(assistant: RunningAssistant, sender: str, message: dict) -> dict:
    payload = delivery(sender, message)
    assert post_delivery(webhook(assistant), payload) == 200
    return payload


def texts(messages: list[dict]) -> str:
    parts = []
    for m in messages:
        parts.append(m.get("text", {}).get("body", ""))
        parts.append(m.get("interactive", {}).get("body", {}).get("text", ""))
    return "\n".join(parts)


def quiet(graph: GraphApiSimulator, sender: str, count: int, seconds: float = 3) -> None:
    """Nothing more than ``count`` messages reaches ``sender`` for a while."""
    time.sleep(seconds)
    assert len(graph.sent(sender)) == count, graph.sent(sender)


def ask(assistant: RunningAssistant, graph: GraphApiSimulator, sender: str, body: str) -> str:
    """The text of every message the assistant sends back to ``body``, once it stops."""
    before = len(graph.sent(sender))
    deliver(assistant, sender, {"type": "text", "text": {"body": body}})
    graph.wait_for(sender, before + 1)
    count = -1
    while count != len(graph.sent(sender)):
        count = len(graph.sent(sender))
        time.sleep(2)
    return texts(graph.sent(sender)[before:])


def test_subscription_lifecycle_against_the_register(
    assistant: RunningAssistant, graph: GraphApiSimulator
) -> None:
    sender, other = "393330000001", "393330000002"
    welcome = ask(assistant, graph, sender, "Iscrivimi")
    assert "Iscrizione fatta" in welcome
    assert "https://www.comune.ancona.gov.it/whatsapp-privacy" in welcome
    assert "*Cancellami*" in welcome
    assert "già tra gli iscritti" in ask(assistant, graph, sender, " ISCRIVIMI! ")
    assert "dal " in ask(assistant, graph, sender, "sono iscritto?")
    assert "non riceverai più" in ask(assistant, graph, sender, "Cancellami")
    assert "ritrovarti" in ask(assistant, graph, sender, "iscrivimi")
    assert "Non risulti tra gli iscritti" in ask(assistant, graph, other, "cancellami")


def test_meta_s_verification_needs_the_right_token(assistant: RunningAssistant) -> None:
    def verify(token: str, mode: str = "subscribe") -> tuple[int, str]:
        query = urllib.parse.urlencode(
            {"hub.mode": mode, "hub.verify_token": token, "hub.challenge": "1158201444"}
        )
        try:
            with urllib.request.urlopen(f"{webhook(assistant)}?{query}", timeout=30) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, ""

    assert verify(graph_api.VERIFY_TOKEN) == (200, "1158201444")
    assert verify("sbagliato")[0] == 403
    assert verify(graph_api.VERIFY_TOKEN, mode="unsubscribe")[0] == 403


def test_unsigned_wrongly_signed_and_malformed_deliveries_are_refused(
    assistant: RunningAssistant, graph: GraphApiSimulator
) -> None:
    sender = "393330000101"
    payload = delivery(sender, {"type": "text", "text": {"body": "ciao"}})
    assert post_delivery(webhook(assistant), payload, secret=None) == 401
    assert post_delivery(webhook(assistant), payload, secret="un-altro-segreto") == 401
    assert post_delivery(webhook(assistant), None, raw=b'{"object": "whatsapp_busin') == 400
    assert post_delivery(webhook(assistant), {"object": "page", "entry": []}) == 400
    assert post_delivery(webhook(assistant), None, raw=b"\xff\xfe\x00") == 400
    quiet(graph, sender, 0)


def test_a_text_is_answered_and_marked_as_read(
    assistant: RunningAssistant, graph: GraphApiSimulator
) -> None:
    sender = "393330000102"
    payload = deliver(assistant, sender, {"type": "text", "text": {"body": "ciao"}})
    [reply] = graph.wait_for(sender, 1)
    assert reply["type"] == "text" and "Comune di Ancona" in reply["text"]["body"]
    message_id = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert message_id in graph.read_receipts()


def test_a_delivery_repeated_by_meta_is_answered_once(
    assistant: RunningAssistant, graph: GraphApiSimulator
) -> None:
    sender = "393330000103"
    payload = deliver(assistant, sender, {"type": "text", "text": {"body": "grazie"}})
    graph.wait_for(sender, 1)
    assert post_delivery(webhook(assistant), payload) == 200
    assert post_delivery(webhook(assistant), payload) == 200
    quiet(graph, sender, 1)


def test_buttons_go_out_as_reply_buttons_and_come_back_as_payloads(
    assistant: RunningAssistant, graph: GraphApiSimulator
) -> None:
    sender = "393330000104"
    question = "quando esce il bando per i libri di testo?"
    deliver(assistant, sender, {"type": "text", "text": {"body": question}})
    [offer] = graph.wait_for(sender, 1)
    assert offer["type"] == "interactive" and offer["interactive"]["type"] == "button"
    buttons = {
        b["reply"]["title"]: b["reply"]["id"] for b in offer["interactive"]["action"]["buttons"]
    }
    assert set(buttons) == {"Sì, avvisami", "No, grazie"}
    reply = {
        "type": "button_reply",
        "button_reply": {"id": buttons["Sì, avvisami"], "title": "Sì, avvisami"},
    }
    deliver(assistant, sender, {"type": "interactive", "interactive": reply})
    assert "Iscrizione fatta" in texts(graph.wait_for(sender, 2)[1:])


def test_a_position_and_a_photo_lead_to_the_reporting_platform(
    assistant: RunningAssistant, graph: GraphApiSimulator
) -> None:
    sender = "393330000105"
    location = {"latitude": 43.6158, "longitude": 13.5189}
    deliver(assistant, sender, {"type": "location", "location": location})
    assert "piattaforma" in texts(graph.wait_for(sender, 1))
    deliver(assistant, sender, {"type": "image", "image": {"id": "1479537139650973"}})
    assert "piattaforma" in texts(graph.wait_for(sender, 2)[1:])


def test_audio_video_documents_get_a_polite_notice_and_reactions_nothing(
    assistant: RunningAssistant, graph: GraphApiSimulator
) -> None:
    sender = "393330000106"
    for count, kind in enumerate(("audio", "document", "sticker"), start=1):
        deliver(assistant, sender, {"type": kind, kind: {"id": f"MEDIA-{kind}"}})
        assert "testi, foto e posizioni" in texts(graph.wait_for(sender, count)[-1:])
    payload = deliver(
        assistant,
        sender,
        {"type": "reaction", "reaction": {"message_id": "wamid.X", "emoji": "👍"}},
    )
    reaction_id = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    graph.wait_until(lambda: reaction_id in graph.read_receipts())
    quiet(graph, sender, 3)


def test_429_and_500_from_meta_are_retried_and_the_reply_sent_once(
    assistant: RunningAssistant, graph: GraphApiSimulator
) -> None:
    sender = "393330000107"
    graph.fail_next(429, 500)  # the read receipt and the reply share them
    deliver(assistant, sender, {"type": "text", "text": {"body": "buongiorno"}})
    graph.wait_for(sender, 1)
    quiet(graph, sender, 1)


def test_statuses_update_the_delivery_records(
    assistant: RunningAssistant, graph: GraphApiSimulator
) -> None:
    sender = "393330000108"
    deliver(assistant, sender, {"type": "text", "text": {"body": "ciao"}})
    graph.wait_for(sender, 1)
    [wamid] = graph.wamids(sender)
    for status in ("delivered", "read"):
        assert post_delivery(webhook(assistant), status_delivery(wamid, sender, status)) == 200
    deadline = time.monotonic() + HANG
    while _status(assistant, wamid) != "read":
        assert time.monotonic() < deadline, _status(assistant, wamid)
        time.sleep(0.3)


def test_an_operator_s_message_reaches_whatsapp_through_the_same_channel(
    assistant: RunningAssistant, graph: GraphApiSimulator
) -> None:
    sender = "393330000109"
    deliver(assistant, sender, {"type": "text", "text": {"body": "ciao"}})
    graph.wait_for(sender, 1)
    conversations = RasaConversations(assistant.url, jwt_secret=assistant.jwt_secret)
    conversations.say(sender, "Buongiorno, sono Anna dell'URP.", {"operator": "anna"})
    assert graph.wait_for(sender, 2)[1]["text"]["body"] == "Buongiorno, sono Anna dell'URP."


def test_twilio_needs_its_signature_and_answers_through_twilio(
    assistant: RunningAssistant, twilio: TwilioApiSimulator
) -> None:
    url = f"{assistant.url}/webhooks/twilio/webhook"
    sender = "whatsapp:+393330000110"
    form = {"From": sender, "To": "whatsapp:+390710000000", "Body": "ciao", "MessageSid": "SM1"}

    def post(form: dict, signature: str | None) -> int:
        request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode())
        if signature:
            request.add_header(SIGNATURE_HEADER, signature)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    assert post(form, None) == 403
    assert post(form, sign("un-altro-token", url, form)) == 403
    assert post({**form, "Body": "altro"}, sign(AUTH_TOKEN, url, form)) == 403  # tampered
    assert post(form, sign(AUTH_TOKEN, url, form)) == 200
    [reply] = twilio.wait_for(sender, 1)
    assert "Comune di Ancona" in reply["Body"]
    assert post(form, sign(AUTH_TOKEN, url, form)) == 200  # the same sid again
    time.sleep(3)
    assert len(twilio.to(sender)) == 1


def _database(assistant: RunningAssistant) -> sqlite3.Connection:
    return sqlite3.connect(assistant.database_url.removeprefix("sqlite:///"))


def _status(assistant: RunningAssistant, wamid: str) -> str:
    with _database(assistant) as db:
        row = db.execute(
            "SELECT status FROM whatsapp_outbound WHERE wamid = ?", (wamid,)
        ).fetchone()
    return row[0] if row else ""


def test_the_phone_numbers_never_reach_the_log(assistant: RunningAssistant) -> None:
    log = assistant.log.read_text(encoding="utf-8", errors="replace")
    assert not [n for n in ("393330000102", "393330000104", "393330000107") if n in log]


def test_an_emergency_reaches_subscribers_and_meta_s_statuses_update_its_report(
    assistant: RunningAssistant, graph: GraphApiSimulator
) -> None:
    sender = "393330000111"
    deliver(assistant, sender, {"type": "text", "text": {"body": "iscrivimi alle emergenze"}})
    assert "emergenze" in texts(graph.wait_for(sender, 1))
    text = "Allerta meteo arancione: domani scuole chiuse."
    sent = assistant.urp(
        "broadcasts", "emergency", "--topic", "emergenze", "--text", text, "--operator", "test"
    )  # fmt: skip
    assert sender not in sent.stdout
    [alert] = [m for m in graph.wait_for(sender, 2) if m.get("text", {}).get("body") == text]
    callback = alert["biz_opaque_callback_data"]
    wamid = graph.wamids(sender)[-1]
    delivered = status_delivery(wamid, sender, "read")
    delivered["entry"][0]["changes"][0]["value"]["statuses"][0]["biz_opaque_callback_data"] = (
        callback
    )
    assert post_delivery(webhook(assistant), delivered) == 200
    broadcast_id = assistant.urp("broadcasts", "list").stdout.split()[0]  # newest first
    deadline = time.monotonic() + HANG
    while not re.search(
        r"letti\s+1\n", report := assistant.urp("broadcasts", "show", broadcast_id).stdout
    ):
        assert time.monotonic() < deadline, report
        time.sleep(0.5)
