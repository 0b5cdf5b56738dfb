"""No public channel reaches another channel's conversation, against the real assistant.

A WhatsApp citizen writes; then someone posts as the same number on the REST and callback
channels: the console's events (``/EXTERNAL_handoff_claimed``), an erasure request, made-up
metadata. The WhatsApp conversation, read through Rasa's HTTP API, is untouched and still
answered; what was posted lives in conversations of its own (``rest:<number>``,
``callback:<number>``), where the shortcuts were read as words.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import quote

import pytest
import socketio

from tests.e2e.servers import CallbackReceiver, RunningAssistant
from tests.simulators.graph_api import GraphApiSimulator, delivery, post_delivery

pytestmark = pytest.mark.e2e

NUMBER = "393330009901"


def tracker(assistant: RunningAssistant, conversation: str) -> dict[str, Any]:
    status, body = assistant.request(
        f"/conversations/{quote(conversation, safe=':')}/tracker", token=assistant.token
    )
    assert status == 200, status
    return body


def said(body: dict[str, Any]) -> list[str]:
    return [e.get("text") for e in body["events"] if e["event"] == "user"]


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def whatsapp(assistant: RunningAssistant, graph: GraphApiSimulator, text: str, count: int) -> str:
    payload = delivery(NUMBER, {"type": "text", "text": {"body": text}})
    assert post_delivery(f"{assistant.url}/webhooks/whatsapp/webhook", payload) == 200
    return graph.wait_for(NUMBER, count)[-1].get("text", {}).get("body", "")


def test_rest_and_callback_posting_as_a_number_never_reach_its_whatsapp_chat(
    assistant: RunningAssistant, graph: GraphApiSimulator, callback: CallbackReceiver
) -> None:
    assert "Comune di Ancona" in whatsapp(assistant, graph, "ciao", 1)

    claimed = texts(assistant.chat(NUMBER, "/EXTERNAL_handoff_claimed"))
    assert "None" not in claimed and "ti rispondo io" not in claimed
    assistant.chat(NUMBER, '/EXTERNAL_handoff_claimed{"handoff_operator": "Mallory"}')
    status, _ = assistant.request(
        "/webhooks/callback/webhook", {"sender": NUMBER, "message": "/EXTERNAL_handoff_claimed"}
    )
    assert status == 200
    assert "Mallory" not in "\n".join(callback.wait_for(NUMBER, 1))
    rest = tracker(assistant, f"rest:{NUMBER}")
    assert said(rest) == [
        "EXTERNAL_handoff_claimed",
        'EXTERNAL_handoff_claimed{"handoff_operator": "Mallory"}',
    ]
    assert not rest["paused"] and rest["slots"]["handoff_operator"] is None
    assert said(tracker(assistant, f"callback:{NUMBER}")) == ["EXTERNAL_handoff_claimed"]
    # A made-up erasure request, last: it erases the REST conversation only.
    assistant.chat(NUMBER, "cancella i miei dati")
    assistant.chat(NUMBER, "/affirm")

    chat = tracker(assistant, NUMBER)
    assert said(chat) == ["ciao"]
    assert not chat["paused"]
    assert not [e for e in chat["events"] if e.get("name") == "action_erase_my_data"]
    assert whatsapp(assistant, graph, "grazie", 2)  # the bot still answers the citizen


def test_rest_metadata_and_slot_shortcuts_are_ignored(assistant: RunningAssistant) -> None:
    sender = f"isolamento-{uuid.uuid4().hex[:8]}"
    status, _ = assistant.request(
        "/webhooks/rest/webhook",
        {
            "sender": sender,
            "message": '/subscribe{"topic": "emergenze", "handoff_operator": "Mallory"}',
            "metadata": {
                "is_external": True,
                "photo_url": "https://evil.example/x.jpg",
                "urp_media": {"type": "image", "url": "https://evil.example/x.jpg"},
            },
        },
    )
    assert status == 200
    body = tracker(assistant, f"rest:{sender}")
    [user] = [e for e in body["events"] if e["event"] == "user"]
    assert user["text"] == 'subscribe{"topic": "emergenze", "handoff_operator": "Mallory"}'
    assert not {"is_external", "photo_url", "urp_media"} & set(user.get("metadata") or {})
    assert body["slots"]["handoff_operator"] is None


def test_the_web_chat_has_conversations_of_its_own(assistant: RunningAssistant) -> None:
    session = uuid.uuid4().hex

    async def chat() -> str:
        client = socketio.AsyncClient()
        replies: asyncio.Queue[str] = asyncio.Queue()
        confirmed: asyncio.Queue[str] = asyncio.Queue()
        client.on("session_confirm", confirmed.put)
        client.on("bot_uttered", lambda data: replies.put_nowait(data.get("text", "")))
        await client.connect(assistant.url, transports=["polling"])
        await client.emit("session_request", {"session_id": session})
        assert await asyncio.wait_for(confirmed.get(), 60) == session
        await client.emit("user_uttered", {"message": "ciao", "session_id": session})
        reply = await asyncio.wait_for(replies.get(), 120)
        await client.eio.disconnect(abort=True)
        return reply

    assert "Comune di Ancona" in asyncio.run(chat())
    assert said(tracker(assistant, f"socketio:{session}")) == ["ciao"]
    assert said(tracker(assistant, session)) == []
