"""``urp operators|handoffs|quick-replies ...``: accounts, statistics, quick replies."""

from __future__ import annotations

import http.server
import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.store.conftest import FixedClock, raw_rows
from tests.store.test_cli import run
from urp.cli import common, operators
from urp.core.db import Database
from urp.core.settings import PROJECT_ROOT, Settings, load_settings
from urp.handoff.operators import OperatorService
from urp.handoff.queue import HandoffService

PASSWORD = "una-password-lunga"
NUMBER = "393331234567"
# Monday 23 November 2026, 10:00 in Ancona: the URP is open.
MONDAY_10 = datetime(2026, 11, 23, 9, tzinfo=UTC)


@pytest.fixture
def clock(cli_env: Database, monkeypatch: pytest.MonkeyPatch) -> FixedClock:
    """The commands' handoff service on a fixed clock."""
    clock = FixedClock(MONDAY_10)

    def service(settings: Settings) -> HandoffService:
        return HandoffService(common.database(), settings, clock=clock)

    monkeypatch.setattr("urp.cli.handoff._handoff_service", service)
    return clock


def test_operators_add_list_disable(
    cli_env: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "operators", "list")[1].startswith("Nessun operatore")
    monkeypatch.setenv("URP_OPERATOR_PASSWORD", PASSWORD)
    code, out, _ = run(capsys, "operators", "add", "Mario.Rossi", "--name", "Mario Rossi")
    assert (code, out) == (0, "Operatore mario.rossi (Mario Rossi, operatore) aggiunto.\n")
    run(capsys, "operators", "add", "anna", "--name", "Anna Bianchi", "--role", "admin")
    OperatorService(cli_env).authenticate("anna", PASSWORD)
    code, out, _ = run(capsys, "operators", "list")
    assert code == 0
    [anna, mario] = out.splitlines()
    assert anna.split()[:4] == ["anna", "Anna", "Bianchi", "amministratore"]
    assert "attivo" in anna and "ultimo accesso" in anna
    assert "mai entrato" in mario
    code, out, _ = run(capsys, "operators", "disable", "mario.rossi")
    assert (code, out) == (0, "Operatore mario.rossi disattivato: non può più accedere.\n")
    assert "disattivato" in run(capsys, "operators", "list")[1].splitlines()[1]
    assert all(PASSWORD not in row["password_hash"] for row in raw_rows(cli_env, "operators"))


def test_operators_add_asks_the_password_twice(
    cli_env: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("URP_OPERATOR_PASSWORD", raising=False)
    typed = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr(operators.getpass, "getpass", lambda prompt: next(typed))
    code, out, err = run(capsys, "operators", "add", "mario", "--name", "Mario")
    assert (code, out, err) == (2, "", "Errore: le due password non coincidono\n")
    typed = iter(["corta", "corta"])
    code, _, err = run(capsys, "operators", "add", "mario", "--name", "Mario")
    assert code == 2 and "almeno 10 caratteri" in err
    typed = iter([PASSWORD, PASSWORD])
    assert run(capsys, "operators", "add", "mario", "--name", "Mario")[0] == 0
    assert OperatorService(cli_env).authenticate("mario", PASSWORD) is not None
    typed = iter([PASSWORD, PASSWORD])
    code, _, err = run(capsys, "operators", "add", "mario", "--name", "Mario")
    assert code == 2 and "esiste già" in err


def test_the_password_is_never_an_argument(
    cli_env: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        run(capsys, "operators", "add", "mario", "--name", "Mario", "--password", PASSWORD)
    assert "unrecognized arguments" in capsys.readouterr().err


def test_errors_exit_2(cli_env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "operators", "disable", "nessuno")
    assert code == 2 and "nessun operatore si chiama 'nessuno'" in err


class RasaStub:
    """Rasa's HTTP API answering 200 to everything, recording the paths called."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stub.paths.append(self.path.split("?")[0])
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def test_handoffs_stats_and_sweep(
    cli_env: Database,
    clock: FixedClock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rasa = RasaStub()
    monkeypatch.setenv("URP_RASA_URL", rasa.url)
    monkeypatch.setenv("RASA_JWT_SECRET", "segreto-di-prova")
    assert run(capsys, "handoffs", "stats")[1] == "Nessuna conversazione passata all'URP.\n"
    operator = OperatorService(cli_env).add("mario", "Mario", PASSWORD, "operator")
    handoffs = HandoffService(cli_env, load_settings(), clock=clock)
    first, _ = handoffs.open(NUMBER, "whatsapp", "request")
    clock.advance(minutes=5)
    handoffs.claim(first.id, operator)
    clock.advance(minutes=20)
    handoffs.resolve(first.id, operator)
    second, _ = handoffs.open("393339999999", "whatsapp", "unclear")
    handoffs.claim(second.id, operator)
    code, out, _ = run(capsys, "handoffs", "stats")
    assert code == 0
    assert out.splitlines()[0] == "Conversazioni passate all'URP: 2"
    assert out.splitlines()[-1].split() == ["2026-11-23", "2", "2", "1", "2", "5", "25", "25"]
    code, out, _ = run(capsys, "handoffs", "stats", "--json")
    assert code == 0 and json.loads(out)[0]["wait_p90"] == 5.0
    clock.advance(hours=1)  # the second chat has been idle for an hour
    code, out, _ = run(capsys, "handoffs", "sweep")
    assert (code, out) == (
        0,
        "Cittadini avvisati di nuovo dell'attesa: 0\n"
        f"Conversazioni rimesse in coda perché inattive: 1 (conversazioni {second.id})\n"
        "Risposte degli operatori rimandate: 0\n",
    )
    clock.advance(hours=1)  # and pending for two
    assert f"attesa: 1 (conversazioni {second.id})" in run(capsys, "handoffs", "sweep")[1]
    every_output = "".join(
        run(capsys, *argv)[1]
        for argv in (("handoffs", "stats"), ("handoffs", "stats", "--json"), ("handoffs", "sweep"))
    )
    assert NUMBER not in every_output and "393339999999" not in every_output
    # The released chat was resumed, then its citizen told, through Rasa's API.
    assert rasa.paths[:2] == [
        "/conversations/393339999999/tracker/events",
        "/conversations/393339999999/trigger_intent",
    ]
    rasa.close()


def test_sweep_needs_the_rasa_secret_to_tell_citizens(
    cli_env: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RASA_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("RASA_JWT_SECRET", raising=False)
    code, _, err = run(capsys, "handoffs", "sweep")
    assert code == 2 and "RASA_JWT_SECRET" in err


def test_quick_replies_load_and_list(
    cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "quick-replies", "list")[1].startswith("Nessuna risposta rapida")
    examples = PROJECT_ROOT / "settings" / "examples" / "ancona" / "risposte-rapide.yml"
    code, out, _ = run(capsys, "quick-replies", "load", str(examples))
    assert (code, out) == (0, "Risposte rapide: nuove 5, aggiornate 0, invariate 0, tolte 0.\n")
    listed = run(capsys, "quick-replies", "list")[1].splitlines()
    assert listed[0].startswith("1. Piattaforma segnalazioni: Per buche")
    assert listed[0].endswith("…") and len(listed) == 5
    assert "tolte 0" in run(capsys, "quick-replies", "load", str(examples))[1]
    smaller = tmp_path / "risposte.yml"
    smaller.write_text(
        "quick_replies:\n"
        "  - title: Ti richiamiamo\n    text: Ti richiamiamo noi.\n"
        "  - title: Piattaforma segnalazioni\n    text: Usa la piattaforma.\n",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "quick-replies", "load", str(smaller))
    assert out == "Risposte rapide: nuove 0, aggiornate 2, invariate 0, tolte 3.\n"
    assert run(capsys, "quick-replies", "list")[1] == (
        "1. Ti richiamiamo: Ti richiamiamo noi.\n2. Piattaforma segnalazioni: Usa la piattaforma.\n"
    )


def test_a_bad_quick_replies_file_changes_nothing(
    cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "risposte.yml"
    bad.write_text(
        "quick_replies:\n  - title: Uno\n    text: a\n  - title: Uno\n    text: b\n"
        "  - text: senza titolo\n",
        encoding="utf-8",
    )
    code, out, err = run(capsys, "quick-replies", "load", str(bad))
    assert code == 2 and out == ""
    assert "2 errori" in err and "«Uno» è già alla riga 2" in err and "manca «title»" in err
    assert raw_rows(cli_env, "quick_replies") == []
