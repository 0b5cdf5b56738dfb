"""Faults, with the real servers: a dependency down or hanging, a crash mid-conversation.

The action server and PostgreSQL sit behind a TCP proxy that the tests switch down or
slow; the Rasa server is killed outright. Each time the citizen gets an answer, and the
conversation carries on once the fault is gone, with no restart of anything else.
"""

from __future__ import annotations

import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from tests.e2e.fault_proxy import FaultProxy
from tests.e2e.servers import ROOT, RunningAssistant, free_port, start, stop
from urp.core.db import Database
from urp.core.settings import load_settings
from urp.handoff.queue import HandoffService

pytestmark = pytest.mark.e2e

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
TECHNICAL_PROBLEM = "problema tecnico"


def texts(replies: list[dict]) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)


def pharmacy_answered(replies: list[dict]) -> bool:
    return "Farmaci" in texts(replies) and TECHNICAL_PROBLEM not in texts(replies)


@pytest.fixture
def actions_proxy(tmp_path: Path) -> Iterator[tuple[RunningAssistant, FaultProxy]]:
    actions_port = free_port()
    proxy = FaultProxy(actions_port)
    assistant = start(
        tmp_path,
        URP_ACTIONS_PORT=str(actions_port),
        URP_ACTION_ENDPOINT=f"http://127.0.0.1:{proxy.port}/webhook",
        URP_ACTION_TIMEOUT="3",
    )
    yield assistant, proxy
    stop(assistant)
    proxy.close()


def test_the_action_server_down_or_hanging_gets_an_apology_and_an_operator_then_recovers(
    actions_proxy: tuple[RunningAssistant, FaultProxy],
) -> None:
    assistant, proxy = actions_proxy
    citizen = "fault-" + secrets.token_hex(4)
    assert pharmacy_answered(assistant.chat(citizen, "farmacia di turno oggi"))

    proxy.down()
    apology = texts(assistant.chat(citizen, "farmacia di turno domani"))
    assert TECHNICAL_PROBLEM in apology and "operatore" in apology
    database = Database(assistant.database_url)
    [queued] = HandoffService(database, load_settings()).queue()
    assert queued.handoff.reason == "action_failed"

    proxy.up()
    assert pharmacy_answered(assistant.chat(citizen, "farmacia di turno domani"))

    proxy.slow(10)  # longer than URP_ACTION_TIMEOUT
    assert TECHNICAL_PROBLEM in texts(assistant.chat(citizen, "e dopodomani?"))
    proxy.up()
    assert pharmacy_answered(assistant.chat(citizen, "farmacia di turno oggi"))
    # Still the one handoff: a second failure does not queue the citizen twice.
    assert len(HandoffService(database, load_settings()).queue()) == 1
    database.dispose()
    assert "Traceback" not in assistant.log.read_text(encoding="utf-8")


@pytest.fixture
def postgres_database() -> Iterator[str]:
    name = f"urp_faults_{secrets.token_hex(6)}"
    admin = create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield name
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def test_the_store_unreachable_gets_an_apology_and_recovers_without_a_restart(
    tmp_path: Path, postgres_database: str
) -> None:
    proxy = FaultProxy(5432)
    assistant = start(
        tmp_path, URP_DB_URL=f"postgresql://postgres@127.0.0.1:{proxy.port}/{postgres_database}"
    )
    try:
        citizen = "store-" + secrets.token_hex(4)
        assert pharmacy_answered(assistant.chat(citizen, "farmacia di turno oggi"))
        proxy.down()
        for message in ("farmacia di turno domani", "/ask_latest_memo"):
            reply = texts(assistant.chat(citizen, message))
            assert TECHNICAL_PROBLEM in reply, message
        proxy.up()
        assert pharmacy_answered(assistant.chat(citizen, "farmacia di turno domani"))
        assert "MEMO COMUNE DI ANCONA" in texts(assistant.chat(citizen, "/ask_latest_memo"))
    finally:
        stop(assistant)
        proxy.close()


def collecting_settings(tmp_path: Path) -> Path:
    """Ancona, with reports collected in the chat (a form of three questions)."""
    source = (ROOT / "settings" / "ancona.yml").read_text(encoding="utf-8")
    examples = ROOT / "settings" / "examples" / "ancona"
    path = tmp_path / "ancona-collect.yml"
    path.write_text(
        source.replace("mode: redirect", "mode: collect", 1).replace(
            "example_data: examples/ancona", f"example_data: {examples}", 1
        ),
        encoding="utf-8",
    )
    return path


def test_a_crash_of_the_server_mid_form_loses_nothing(tmp_path: Path) -> None:
    environment = {
        "URP_SETTINGS": str(collecting_settings(tmp_path)),
        "URP_HASH_SALT": "faults-" + secrets.token_hex(16),
    }
    citizen = "form-" + secrets.token_hex(4)
    assistant = start(tmp_path, **environment)
    try:
        asked = texts(assistant.chat(citizen, "voglio fare una segnalazione"))
        assert "Descrivimi il problema" in asked
    finally:
        os.killpg(assistant.process.pid, signal.SIGKILL)  # a crash, not a stop
        assistant.process.wait()

    assistant = start(tmp_path, **environment)  # same store, same conversations
    try:
        where = texts(assistant.chat(citizen, "buca profonda davanti alla scuola"))
        assert "Dove si trova" in where
        photo = texts(assistant.chat(citizen, "via Marconi 12"))
        assert "foto" in photo
    finally:
        stop(assistant)
