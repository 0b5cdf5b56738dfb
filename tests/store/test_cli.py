"""The operator command line: ``urp db ...`` and ``urp subscribers ...``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.store.conftest import SALT, raw_rows, url_of
from urp.cli import main
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.core.settings import load_settings
from urp.subscription.subscribers import SubscriberService

NUMBERS = ("393330000001", "393330000002")


@pytest.fixture
def subscribed(cli_env: Database) -> Database:
    service = SubscriberService(cli_env, load_settings().subscription, UserHasher(SALT.encode()))
    for number in NUMBERS:
        service.subscribe("whatsapp", number, "Iscrivimi", "2024-01")
    service.follow("whatsapp", NUMBERS[0], ["eventi"], "eventi", "2024-01")
    return cli_env


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_db_upgrade_and_current_on_a_new_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("URP_DB_URL", f"sqlite:///{tmp_path}/nuova/urp.db")
    monkeypatch.chdir(tmp_path)  # migrations are found from any working directory
    code, out, _ = run(capsys, "db", "current")
    assert code == 0 and "nessuna" in out and "urp db upgrade" in out
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and "revisione 0017" in out
    code, out, _ = run(capsys, "db", "current")
    assert code == 0 and "0017 (aggiornato)" in out


def test_db_upgrade_is_idempotent(cli_env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and "revisione 0017" in out
    assert "0017 (aggiornato)" in run(capsys, "db", "current")[1]


def test_stats(subscribed: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "subscribers", "stats")
    assert code == 0
    assert "Iscritti attivi: 2" in out
    assert "eventi e manifestazioni (eventi): 1" in out
    assert "memo settimanale (memo): 2" in out
    code, out, _ = run(capsys, "subscribers", "stats", "--json")
    data = json.loads(out)
    assert data["active"] == 2 and data["cancelled"] == 0
    assert data["months"][0]["new"] == 2
    assert data["months"][-1]["active"] == 2
    assert {t["key"]: t["subscribers"] for t in data["topics"]}["eventi"] == 1


def test_export_without_numbers(
    subscribed: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "iscritti.csv"
    code, out, _ = run(capsys, "subscribers", "export", str(path))
    assert code == 0 and "Esportati 2 iscritti" in out and "senza numeri" in out
    content = path.read_text(encoding="utf-8-sig")
    assert "Numero 0002" in content
    assert not any(number in content for number in NUMBERS)
    assert raw_rows(subscribed, "audit_events") == []


def test_export_with_numbers_records_the_operator(
    subscribed: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "iscritti.xlsx"
    with caplog.at_level(logging.WARNING):
        code, out, err = run(
            capsys, "subscribers", "export", str(path), "--with-numbers", "--operator", "Anna"
        )
    assert code == 0 and "a nome di Anna" in out
    [audit] = raw_rows(subscribed, "audit_events")
    assert audit["operator"] == "Anna" and str(path) in audit["detail"]
    assert "Anna" in caplog.text
    for text in (out, err, caplog.text, audit["detail"]):
        assert not any(number in text for number in NUMBERS)


def test_export_with_numbers_requires_the_operator(
    subscribed: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "iscritti.csv"
    code, _, err = run(capsys, "subscribers", "export", str(path), "--with-numbers")
    assert code == 2 and "--operator" in err
    assert not path.exists()
    assert raw_rows(subscribed, "audit_events") == []


@pytest.mark.parametrize("name", ["iscritti.ods", "manca/iscritti.csv"])
def test_export_to_a_bad_file_exits_2(
    subscribed: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path = str(tmp_path / name)
    code, _, err = run(capsys, "subscribers", "export", path, "--with-numbers", "--operator", "A")
    assert code == 2 and err.startswith("Errore")
    assert raw_rows(subscribed, "audit_events") == []


def test_import_prints_a_summary(
    subscribed: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = tmp_path / "foglio.csv"
    sheet.write_text(
        "label,number,date\n"
        "Utente 00010,3339999999,01/02/2023\n"
        "Utente 00011,+393330000001,01/02/2023\n"
        "Utente 00001,3338888888,01/02/2023\n"
        "Utente 00012,,01/02/2023\n",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "subscribers", "import", str(sheet))
    assert code == 0
    assert out.splitlines() == [
        "Importati: 1",
        "Saltati: 3",
        "  riga 3, Numero 0011: numero già presente (già registrato come Numero 0001)",
        "  riga 4, Numero 0001: etichetta già usata da un altro numero",
        "  riga 5, Utente 00012: riga non valida (numero di telefono mancante o non valido)",
    ]
    assert "Iscritti attivi: 3" in run(capsys, "subscribers", "stats")[1]
    again = run(capsys, "subscribers", "import", str(sheet))[1]
    assert again.startswith("Importati: 0\nSaltati: 4\n")


def test_import_with_a_bad_channel_exits_2(
    subscribed: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = tmp_path / "foglio.csv"
    sheet.write_text("label,number,date\n1,3339999999,01/02/2023\n", encoding="utf-8")
    code, _, err = run(capsys, "subscribers", "import", str(sheet), "--channel", "x" * 40)
    assert code == 2 and "--channel" in err


@pytest.mark.parametrize(
    ("content", "message"), [("a;b\n1;2\n", "manca la colonna"), (None, "non esiste")]
)
def test_import_of_a_bad_file_exits_2(
    subscribed: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    message: str,
) -> None:
    sheet = tmp_path / "foglio.csv"
    if content is not None:
        sheet.write_text(content, encoding="utf-8")
    code, _, err = run(capsys, "subscribers", "import", str(sheet))
    assert code == 2 and message in err and "Traceback" not in err


def test_an_outdated_schema_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("URP_DB_URL", f"sqlite:///{tmp_path}/vuota.db")
    code, _, err = run(capsys, "subscribers", "stats")
    assert code == 2 and "urp db upgrade" in err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("non-un-url", "indirizzo del database non valido"),
        ("oracle2://x/y", "database non supportato"),
        ("sqlite://", "SQLite in memoria"),
        ("postgresql://postgres@127.0.0.1:1/urp", "database non raggiungibile"),
    ],
)
def test_a_bad_database_url_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, message: str
) -> None:
    monkeypatch.setenv("URP_DB_URL", url)
    code, _, err = run(capsys, "db", "current")
    assert code == 2 and message in err


def test_the_database_url_is_printed_without_its_password(
    database: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = url_of(database)
    if database.dialect == "postgresql":
        url = url.replace("postgres@", "postgres:segreto@", 1)  # trust auth ignores it
    monkeypatch.setenv("URP_DB_URL", url)
    code, out, _ = run(capsys, "db", "current")
    assert code == 0 and "segreto" not in out
