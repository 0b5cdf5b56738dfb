"""Two Rasa replicas of the production profile (`make run-prod`) on the local PostgreSQL,
Redis and RabbitMQ, each test's own database, lock prefix, socket.io channel and queue.

Messages for the same conversations reach both replicas at once: the Redis lock store
serialises them, so every tracker holds each message once, followed by its own answers,
in order, and RabbitMQ has every one of those events. A reply sent through either
replica's API, or by an operator from the console behind the balancer, reaches the web chat
whichever replica holds its socket (python-socketio's Redis manager).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import aio_pika
import pytest
import requests
import socketio
import yaml

from channels.gate import conversation_id
from tests.e2e.production import RABBITMQ, Production, production
from tests.e2e.servers import RunningAssistant, processes_below
from urp.handoff.rasa_api import RasaConversations

pytestmark = pytest.mark.e2e

# What citizens write, each message once per conversation (the tracker must show each once).
MESSAGES = (
    "ciao",
    "quali farmacie sono di turno oggi?",
    "si può fare il bagno?",
    "qual è l'ultimo avviso del comune?",
    "sei un bot?",
    "grazie mille",
)
CONVERSATIONS = 4
DISCLOSURE = yaml.safe_load(Path("domain.yml").read_text(encoding="utf-8"))["responses"][
    "utter_ai_disclosure"
][0]["text"]
BROKER_WAIT = 120  # seconds RabbitMQ may take to hand over what was published
REPLY_WAIT = 120
PASSWORD = "password-operatore-repliche"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Cluster:
    production: Production

    @property
    def assistant(self) -> RunningAssistant:
        return self.production.assistant

    @property
    def replicas(self) -> tuple[str, str]:
        return self.production.replicas

    def conversations(self, replica: str) -> RasaConversations:
        return RasaConversations(replica, jwt_secret=self.assistant.jwt_secret)

    def tracker(self, sender: str) -> list[dict[str, Any]]:
        response = requests.get(
            f"{self.replicas[0]}/conversations/{conversation_id('rest', sender)}/tracker",
            params={"token": self.assistant.token, "include_events": "ALL"},
            timeout=60,
        )
        assert response.status_code == 200, response.status_code
        return response.json()["events"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with production(tmp_path_factory.mktemp("replicas")) as running:
        yield Cluster(running)


async def _published(queue_name: str, senders: set[str], count: int) -> list[dict[str, Any]]:
    """The events of ``senders`` on the queue, once ``count`` of them have arrived."""
    events: list[dict[str, Any]] = []
    connection = await aio_pika.connect(RABBITMQ)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, passive=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BROKER_WAIT
        while len(events) < count and loop.time() < deadline:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.2)
                continue
            event = json.loads(message.body)
            if event.get("sender_id") in senders:
                events.append(event)
    return events


def _send(replica: str, sender: str, text: str, start_together: threading.Barrier) -> list[str]:
    start_together.wait()
    response = requests.post(
        f"{replica}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=300
    )
    assert response.status_code == 200, response.status_code
    return [reply.get("text", "") for reply in response.json()]


def _turns(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each user message of a tracker with the bot's texts up to the next user message."""
    turns: dict[str, list[str]] = {}
    current: list[str] | None = None
    for event in events:
        if event["event"] == "user":
            assert event["text"] not in turns, f"{event['text']!r} twice in the tracker"
            current = turns[event["text"]] = []
        elif event["event"] == "bot" and current is not None:
            current.append(event.get("text") or "")
    return turns


def _key(event: dict[str, Any]) -> tuple[Any, ...]:
    return (event["event"], event["timestamp"], event.get("name"), event.get("text"))


def test_concurrent_messages_through_both_replicas_are_serialised(cluster: Cluster) -> None:
    senders = [f"replicas-{cluster.production.run}-{number}" for number in range(CONVERSATIONS)]
    jobs = [
        (cluster.replicas[(number + index) % 2], sender, text)
        for number, sender in enumerate(senders)
        for index, text in enumerate(MESSAGES)
    ]
    start_together = threading.Barrier(len(jobs))
    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = [pool.submit(_send, *job, start_together) for job in jobs]
        replies = {
            (sender, text): f.result() for (_, sender, text), f in zip(jobs, futures, strict=True)
        }

    expected_on_broker: Counter[tuple[Any, ...]] = Counter()
    for sender in senders:
        events = cluster.tracker(sender)
        timestamps = [event["timestamp"] for event in events]
        assert timestamps == sorted(timestamps), "tracker events out of order"
        # Each message once, then its own answers, and the bot listening before the next.
        turns = _turns(events)
        assert sorted(turns) == sorted(MESSAGES)
        for text, answers in turns.items():
            # The REST channel sends a text's paragraphs as separate messages; the AI
            # disclosure (logged at the session's start, before any message) heads the
            # first reply of the conversation (channels/gate.py).
            sent = [r.removeprefix(f"{DISCLOSURE}\n") for r in replies[sender, text]]
            assert "\n\n".join(answers) == "\n\n".join(sent), (sender, text)
            assert answers, f"no answer to {text!r}"
        actions = [e for e in events if e["event"] in ("user", "action")]
        for before, user in pairwise(actions):
            if user["event"] == "user":
                assert before.get("name") == "action_listen", (sender, user["text"])
        conversation = conversation_id("rest", sender)
        expected_on_broker.update((conversation, *_key(event)) for event in events)

    conversations = {conversation_id("rest", sender) for sender in senders}
    published = asyncio.run(
        _published(cluster.production.queue, conversations, sum(expected_on_broker.values()))
    )
    on_broker = Counter((event["sender_id"], *_key(event)) for event in published)
    assert on_broker == expected_on_broker


class WebChat:
    """A browser's chat window: one socket.io connection to one replica."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: asyncio.Queue[str] = asyncio.Queue()
        self.session: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.client.on("bot_uttered", lambda data: self.received.put_nowait(data.get("text", "")))
        self.client.on("session_confirm", self.session.set_result)

    async def open(self, replica: str) -> str:
        await self.client.connect(replica, transports=["polling"], socketio_path="/socket.io")
        await self.client.emit("session_request", {"session_id": None})
        return await asyncio.wait_for(self.session, REPLY_WAIT)

    async def say(self, text: str) -> None:
        session = await self.session
        await self.client.emit("user_uttered", {"message": text, "session_id": session})

    async def wait_for(self, wanted: str) -> list[str]:
        """The texts received until one containing ``wanted``."""
        seen: list[str] = []
        while not seen or wanted not in seen[-1]:
            seen.append(await asyncio.wait_for(self.received.get(), REPLY_WAIT))
        return seen

    async def close(self) -> None:
        await self.client.disconnect()


def test_a_reply_through_either_replica_reaches_the_socket_on_the_other(
    cluster: Cluster,
) -> None:
    async def scenario(socket_replica: str, api_replica: str) -> None:
        chat = WebChat()
        try:
            session = await chat.open(socket_replica)
            await chat.say("ciao")
            assert await chat.received.get()  # the bot's greeting, from the socket's replica
            text = f"Risposta dall'URP attraverso {api_replica}"
            api = cluster.conversations(api_replica)
            # As the console does: to the conversation, the web chat's namespaced id.
            await asyncio.to_thread(api.say, conversation_id("socketio", session), text)
            assert (await chat.wait_for(text))[-1] == text
        finally:
            await chat.close()

    first, second = cluster.replicas
    asyncio.run(scenario(first, second))
    asyncio.run(scenario(second, first))


def _csrf(page: requests.Response) -> str:
    match = _CSRF.search(page.text)
    assert match, page.text[:500]
    return match.group(1)


def test_an_operator_answers_from_the_console_whichever_replica_holds_the_socket(
    cluster: Cluster,
) -> None:
    assistant = cluster.assistant
    assistant.urp(
        "operators", "add", "anna.bianchi", "--name", "Anna Bianchi", "--definitiva",
        URP_OPERATOR_PASSWORD=PASSWORD,
    )  # fmt: skip
    console = requests.Session()
    login = console.get(f"{assistant.console_url}/login", timeout=60)
    signed_in = console.post(
        f"{assistant.console_url}/login",
        data={"username": "anna.bianchi", "password": PASSWORD, "csrf_token": _csrf(login)},
        timeout=60,
    )
    assert signed_in.status_code == 200

    def post(url: str, page: requests.Response, **data: str) -> requests.Response:
        answer = console.post(url, data={**data, "csrf_token": _csrf(page)}, timeout=60)
        assert answer.status_code == 200, answer.status_code
        return answer

    async def citizen_on(replica: str) -> None:
        chat = WebChat()
        try:
            await chat.open(replica)
            # Two unclear messages in a row: the chat goes to the office's queue.
            await chat.say("/nlu_fallback")
            await chat.wait_for("altre parole")
            await chat.say("/nlu_fallback")
            await chat.wait_for("un operatore")  # queued, office open or closed

            queue = await asyncio.to_thread(console.get, f"{assistant.console_url}/", timeout=60)
            handoff = max(map(int, re.findall(r'href="/handoffs/(\d+)"', queue.text)))
            chat_url = f"{assistant.console_url}/handoffs/{handoff}"
            claimed = await asyncio.to_thread(post, f"{chat_url}/claim", queue)
            await chat.wait_for("Anna")
            reply = f"Buongiorno, sono Anna dell'URP ({replica})."
            await asyncio.to_thread(post, f"{chat_url}/reply", claimed, text=reply)
            assert (await chat.wait_for(reply))[-1] == reply
            await asyncio.to_thread(post, f"{chat_url}/resolve", claimed)
        finally:
            await chat.close()

    for replica in cluster.replicas:
        asyncio.run(citizen_on(replica))


def test_each_replica_keeps_to_a_core_of_its_own(cluster: Cluster) -> None:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        pytest.skip("one core: the replicas are not pinned")
    below = processes_below(cluster.assistant.process.pid)
    pinned = []
    for replica in cluster.replicas:
        port = replica.rsplit(":", 1)[1]
        (pid,) = [
            pid
            for pid, command in below.items()
            if f"--port {port} " in command + " " and " run " in command and "rasa" in command
        ]
        # Every thread, TensorFlow's and the database's too, on the same single core.
        threads = {
            frozenset(os.sched_getaffinity(int(task.name)))
            for task in Path(f"/proc/{pid}/task").iterdir()
        }
        assert len(threads) == 1
        pinned.append(threads.pop())
    assert pinned == [{cores[0]}, {cores[1]}]
    # The action server is not: it runs on any core.
    (actions,) = [pid for pid, command in below.items() if "servers.action_server" in command]
    assert os.sched_getaffinity(actions) == set(cores)
