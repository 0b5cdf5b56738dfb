"""The office's commands: ``urp memo publish``, ``urp broadcasts ...``, against the simulator."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.simulators.graph_api import GraphApiSimulator
from tests.store.broadcasts import meta_statuses, per_recipient, subscribe
from tests.store.conftest import SALT, raw_rows
from tests.store.test_cli import run
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.core.settings import load_settings
from urp.subscription.subscribers import SubscriberService

MEMO = """\
date: {day}
items:
  - title: Mercato
    text: Sabato mercato in piazza.
    link: https://www.comune.ancona.gov.it/eventi
    topic: eventi
"""


@pytest.fixture
def graph(cli_env: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphApiSimulator]:
    simulator = GraphApiSimulator()
    simulator.status_sink = meta_statuses(cli_env)
    for name, value in simulator.environment().items():
        monkeypatch.setenv(name, value)
    yield simulator
    simulator.close()


@pytest.fixture
def numbers(cli_env: Database) -> list[str]:
    service = SubscriberService(cli_env, load_settings().subscription, UserHasher(SALT.encode()))
    return subscribe(service, 3) + subscribe(service, 2, "emergenze", start=10)


def memo_file(tmp_path: Path, day: str) -> Path:
    path = tmp_path / "memo.yml"
    path.write_text(MEMO.format(day=day), encoding="utf-8")
    return path


def today() -> str:
    return f"{datetime.now(load_settings().timezone):%d/%m/%Y}"


def test_publishing_a_memo_sends_it_and_reports(
    graph: GraphApiSimulator,
    numbers: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "memo", "publish", str(memo_file(tmp_path, today())))
    assert code == 0, err
    assert "pubblicato: 1 notizia" in out and "Invio 1 avviato: 5 destinatari" in out
    assert per_recipient(graph, numbers) == dict.fromkeys(numbers, 1)
    assert "inviati" in out and "non riusciti" in out and "100%" in err
    assert not any(number in out + err for number in numbers)
    code, _, err = run(capsys, "memo", "publish", str(memo_file(tmp_path, today())))
    assert code == 2 and "già stato inviato" in err
    code, out, _ = run(capsys, "broadcasts", "show", "1")
    assert code == 0 and "concluso" in out
    assert "destinatari" in out and "      5" in out


def test_a_memo_dated_tomorrow_is_not_published_yet(
    graph: GraphApiSimulator, numbers: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "memo", "publish", str(memo_file(tmp_path, "31/12/2099")))
    assert code == 2 and "non ancora in corso" in err
    assert graph.sent() == []


def test_an_emergency_queued_cancelled_resumed_and_run(
    graph: GraphApiSimulator, numbers: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "broadcasts", "emergency", "--topic", "emergenze", "--text", "Sciopero", "--queue"
    )
    assert code == 0 and "2 destinatari" in out and "In coda" in out
    assert run(capsys, "broadcasts", "cancel", "1")[0] == 0
    code, out, _ = run(capsys, "broadcasts", "list")
    assert code == 0 and "emergenza" in out and "annullato" in out
    assert run(capsys, "broadcasts", "resume", "1", "--queue")[0] == 0
    assert run(capsys, "broadcasts", "run")[0] == 0
    assert per_recipient(graph, numbers[3:]) == dict.fromkeys(numbers[3:], 1)
    assert graph.sent(numbers[0]) == []  # not following emergenze
    code, _, err = run(capsys, "broadcasts", "cancel", "1")
    assert code == 2 and "concluso" in err
    code, _, err = run(capsys, "broadcasts", "emergency", "--topic", "x", "--text", "y")
    assert code == 2 and "sconosciuto" in err


def test_who_published_cancelled_and_resumed_is_reported_and_audited(
    cli_env: Database,
    graph: GraphApiSimulator,
    numbers: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, _ = run(
        capsys, "broadcasts", "emergency", "--topic", "emergenze", "--text", "Sciopero",
        "--queue", "--operator", "anna.conti",
    )  # fmt: skip
    assert code == 0
    assert run(capsys, "broadcasts", "cancel", "1", "--operator", "bruno")[0] == 0
    assert run(capsys, "broadcasts", "resume", "1", "--queue", "--operator", "carla")[0] == 0
    code, out, _ = run(capsys, "broadcasts", "show", "1")
    assert code == 0 and " da anna.conti" in out and "pubblicato il" in out
    audit = [
        (row["action"], row["operator"], row["detail"])
        for row in raw_rows(cli_env, "audit_events")
        if row["action"].startswith("broadcast_")
    ]
    assert audit == [
        ("broadcast_published", "anna.conti", "invio 1: emergency, temi emergenze"),
        ("broadcast_cancelled", "bruno", "invio 1"),
        ("broadcast_resumed", "carla", "invio 1"),
    ]


def test_a_dry_run_estimates_the_cost_and_sends_nothing(
    graph: GraphApiSimulator, numbers: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "memo", "publish", str(memo_file(tmp_path, today())), "--dry-run")
    # Nobody wrote within 24 hours: five marketing templates at the settings' price.
    assert code == 0 and "Stima prima dell'invio: 5 destinatari" in out
    assert "fuori dalla finestra (un modello a testa)" in out and "categoria marketing" in out
    assert "€ 0,0572 a messaggio" in out and "€ 0,29" in out  # 5 x 0,0572
    assert "non è stato pubblicato" in out and graph.sent() == []
    code, out, _ = run(
        capsys, "broadcasts", "emergency", "--topic", "emergenze", "--text", "Sciopero",
        "--dry-run",
    )  # fmt: skip
    # An emergency goes with the utility template of the settings.
    assert code == 0 and "2 destinatari" in out and "categoria utility" in out
    assert "€ 0,05" in out and "non è stato inviato" in out
    code, out, _ = run(capsys, "broadcasts", "list")
    assert "Nessun invio" in out and graph.sent() == []


def test_the_report_counts_the_paid_messages(
    graph: GraphApiSimulator, numbers: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "memo", "publish", str(memo_file(tmp_path, today())))
    assert code == 0 and "Stima prima dell'invio" in out
    code, out, _ = run(capsys, "broadcasts", "show", "1")
    paid = len([m for m in graph.sent() if m["type"] == "template"])
    assert paid == 5 and code == 0
    assert re.search(rf"messaggi a pagamento \(modelli\) +{paid}  categoria marketing", out)
