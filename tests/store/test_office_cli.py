"""The office's commands: ``urp memo|pharmacies|bathing|calls|reports|data ...``."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from tests.store.test_cli import run
from urp import cli
from urp.core.db import Database
from urp.core.settings import PROJECT_ROOT, load_settings
from urp.faq.entries import read_faq_file
from urp.information.reports import ReportService

EXAMPLES = PROJECT_ROOT / "settings" / "examples" / "ancona"
NUMBER = "393339876543"


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("urp.cli.common.today", lambda settings: date(2026, 11, 22))


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_memo_add_list_show(cli_env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    memo = str(EXAMPLES / "memo-2026-11-20.yml")
    assert run(capsys, "memo", "list") == (0, "Nessun memo pubblicato.\n", "")
    assert run(capsys, "memo", "add", memo)[1] == "Memo del 20/11/2026 aggiunto: 5 notizie.\n"
    assert "già presente, invariato" in run(capsys, "memo", "add", memo)[1]
    code, out, _ = run(capsys, "memo", "list")
    assert code == 0
    assert out.splitlines()[:3] == [
        "20/11/2026  MEMO COMUNE DI ANCONA (5 notizie)",
        "  - EVENTI DEL FINE SETTIMANA [eventi]",
        "  - FARMACIE DI TURNO",
    ]
    code, out, _ = run(capsys, "memo", "show")
    assert code == 0 and out.startswith("*MEMO COMUNE DI ANCONA*\n20/11/2026\n\n*EVENTI")


def test_memo_add_of_a_bad_file_exits_2(
    cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "memo.yml", "date: 2026-11-20\nitems:\n  - title: X\n    text: y\n")
    code, out, err = run(capsys, "memo", "add", str(path))
    assert code == 2 and out == ""
    assert err == "Errore: memo.yml, riga 3: manca «link» (nessun dato caricato)\n"
    assert run(capsys, "memo", "list")[1] == "Nessun memo pubblicato.\n"


def test_pharmacies_load_and_list(cli_env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "pharmacies", "load", str(EXAMPLES / "farmacie.csv"))
    assert code == 0
    assert out == "Caricati 925 turni per 426 giorni, dal 01/11/2026 al 31/12/2027.\n"
    assert (
        "Sostituiti i 925 turni che c'erano per quei giorni."
        in run(capsys, "pharmacies", "load", str(EXAMPLES / "farmacie.csv"))[1]
    )
    code, out, _ = run(capsys, "pharmacies", "list", "--from", "22/11/2026", "--to", "2026-11-22")
    assert code == 0
    assert out.splitlines() == [
        "22/11/2026",
        "  turno    Farmacia delle Brecce, Via Brecce Bianche 70 (Brecce Bianche), tel. 071 280 933, notturno",
        "  turno    Farmacia Torrette, Via Flaminia 346 (Torrette), tel. 071 888 302, 8:30-20:00",
        "  appoggio Farmacia del Corso, Corso Garibaldi 98 (Centro), tel. 071 203 118, 9:00-13:00",
    ]
    code, out, _ = run(capsys, "pharmacies", "list", "--area", "torrette")  # today + 6 days
    assert code == 0 and out.startswith("22/11/2026\n  turno    Farmacia Torrette")
    assert "Nessun turno" in run(capsys, "pharmacies", "list", "--from", "01/01/2030")[1]


def test_pharmacies_errors_exit_2(
    cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(
        tmp_path, "turni.csv", "data;farmacia;indirizzo;telefono;ruolo;zona\n1/1/26;A;B;C;turno;D\n"
    )
    code, _, err = run(capsys, "pharmacies", "load", str(bad))
    assert code == 2 and "riga 2: data non valida '1/1/26'" in err and "Traceback" not in err
    code, _, err = run(capsys, "pharmacies", "load", str(tmp_path / "manca.csv"))
    assert code == 2 and "non esiste" in err
    code, _, err = run(capsys, "pharmacies", "list", "--from", "2026-11-22", "--to", "2026-11-01")
    assert code == 2 and "--to precede --from" in err
    with pytest.raises(SystemExit) as exit_:
        cli.main(["pharmacies", "list", "--from", "domani"])
    assert exit_.value.code == 2
    assert "data non valida 'domani'" in capsys.readouterr().err


def test_bathing_load_set_list(cli_env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    zones = str(EXAMPLES / "balneazione.yml")
    assert run(capsys, "bathing", "load", zones)[1] == (
        "Zone di balneazione: nuove 10, aggiornate 0, invariate 0.\n"
    )
    assert "nuove 0, aggiornate 0, invariate 10." in run(capsys, "bathing", "load", zones)[1]
    code, out, _ = run(
        capsys,
        "bathing",
        "set",
        "piscina del passetto",
        "banned",
        "--since",
        "23/11/2026",
        "--ordinance",
        "Ordinanza n. 150/2026",
        "--link",
        "https://www.comune.ancona.gov.it/ordinanze/150-2026",
    )
    assert (code, out) == (0, "Passetto: balneazione vietata dal 23/11/2026.\n")
    assert run(capsys, "bathing", "set", "Torrette", "allowed")[1] == (
        "Torrette: balneazione consentita dal 22/11/2026.\n"
    )
    code, out, _ = run(capsys, "bathing", "list")
    assert "Passetto [passetto]: balneazione VIETATA dal 23/11/2026 (Ordinanza n. 150/2026)" in out
    assert "Torrette [torrette]: balneazione consentita dal 22/11/2026\n" in out


def test_bathing_errors_exit_2(cli_env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "bathing", "load", str(EXAMPLES / "balneazione.yml"))
    code, _, err = run(capsys, "bathing", "set", "Sirolo", "banned")
    assert code == 2 and "nessuna zona si chiama 'Sirolo'" in err and "Portonovo" in err
    code, _, err = run(capsys, "bathing", "set", "Trave", "banned", "--link", "ordinanza.pdf")
    assert code == 2 and "--link" in err
    with pytest.raises(SystemExit):
        cli.main(["bathing", "set", "Trave", "vietata"])
    capsys.readouterr()


def test_calls_load_and_list(cli_env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    calls = str(EXAMPLES / "bandi.yml")
    assert run(capsys, "calls", "load", calls)[1] == "Bandi: nuovi 6, aggiornati 0, invariati 0.\n"
    code, out, _ = run(capsys, "calls", "list")
    assert code == 0
    assert (
        "Contributo per l'affitto 2026 [contributo-affitto-2026]: aperto fino al 31/12/2026" in out
    )
    assert "[danni-sisma-2022]: chiuso il 31/03/2024" in out
    assert "[centri-estivi-2027]: in arrivo, apre il 15/04/2027" in out
    assert "[libri-di-testo-2026-2027]: in arrivo (dopo la metà di gennaio" in out


@pytest.fixture
def reported(cli_env: Database) -> Database:
    settings = load_settings()
    service = ReportService(cli_env, settings.reporting_code_prefix, settings.timezone)
    service.create("whatsapp", NUMBER, "Buca in via Roma", "Via Roma 3")
    service.create("whatsapp", NUMBER, "Lampione spento " * 10, None, 43.61, 13.51)
    return cli_env


def test_reports_list_status_export(
    reported: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    year = datetime.now(load_settings().timezone).year
    code, out, _ = run(capsys, "reports", "list")
    assert code == 0 and len(out.splitlines()) == 2
    assert f"SEG-{year}-000002" in out and "43.610000, 13.510000: Lampione spento" in out
    assert "…" in out  # long descriptions are shortened
    assert run(capsys, "reports", "status", f"SEG-{year}-000001", "in-lavorazione")[1] == (
        f"SEG-{year}-000001: in lavorazione\n"
    )
    out = run(capsys, "reports", "list", "--status", "nuova")[1]
    assert f"SEG-{year}-000002" in out and f"SEG-{year}-000001" not in out
    path = tmp_path / "segnalazioni.xlsx"
    code, out, _ = run(capsys, "reports", "export", str(path))
    assert code == 0 and "Esportate 2 segnalazioni" in out and path.exists()
    csv_path = tmp_path / "segnalazioni.csv"
    run(capsys, "reports", "export", str(csv_path), "--status", "in_progress")
    assert len(csv_path.read_text(encoding="utf-8-sig").splitlines()) == 2
    assert NUMBER not in out and NUMBER not in csv_path.read_text(encoding="utf-8-sig")


def test_reports_errors_exit_2(
    reported: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "reports", "status", "SEG-2000-000001", "chiusa")
    assert code == 2 and "nessuna segnalazione con codice" in err
    code, _, err = run(capsys, "reports", "export", str(tmp_path / "s.ods"))
    assert code == 2 and "formato non riconosciuto" in err
    code, _, err = run(capsys, "reports", "export", str(tmp_path / "manca" / "s.csv"))
    assert code == 2 and "non esiste" in err
    with pytest.raises(SystemExit):
        cli.main(["reports", "list", "--status", "archiviata"])
    assert "stato non valido 'archiviata'" in capsys.readouterr().err


def test_load_examples_only_when_empty(
    cli_env: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "data", "load-examples", "--if-empty")
    assert code == 0 and out == (
        f"Dati d'esempio caricati da {EXAMPLES}: 1 memo, 925 turni di farmacia, "
        "10 zone di balneazione, 6 bandi, 5 risposte rapide, "
        f"{len(read_faq_file(EXAMPLES / 'faq.yml'))} voci delle FAQ.\n"
    )
    run(capsys, "bathing", "set", "Trave", "banned")  # the office's own change
    code, out, _ = run(capsys, "data", "load-examples", "--if-empty")
    assert (code, out) == (0, "Il database contiene già un memo: dati d'esempio non caricati.\n")
    assert (
        "Scoglio del Trave [scoglio-del-trave]: balneazione VIETATA"
        in run(capsys, "bathing", "list")[1]
    )
    assert run(capsys, "data", "load-examples")[0] == 0  # asked for explicitly: loads again


def test_load_examples_for_arezzo(
    cli_env: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("URP_SETTINGS", "settings/arezzo.yml")
    code, out, _ = run(capsys, "data", "load-examples", "--if-empty")
    assert code == 0 and "0 zone di balneazione, 4 bandi, 4 risposte rapide" in out
    assert "INFO DAL COMUNE DI AREZZO" in run(capsys, "memo", "list")[1]


def test_load_examples_without_example_data(
    cli_env: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = (PROJECT_ROOT / "settings" / "ancona.yml").read_text(encoding="utf-8")
    settings = write(tmp_path, "comune.yml", text.replace("example_data: examples/ancona", ""))
    monkeypatch.setenv("URP_SETTINGS", str(settings))
    code, out, _ = run(capsys, "data", "load-examples", "--if-empty")
    assert code == 0 and out.startswith("Nessun dato d'esempio")
    assert run(capsys, "memo", "list")[1] == "Nessun memo pubblicato.\n"
