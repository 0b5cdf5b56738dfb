"""``urp review`` and ``urp nlu add`` against a real Rasa SQL tracker store and the store."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.loading import load_data

from tests.unit.review_log import LOG, WHATSAPP, training_copy
from urp.cli import main
from urp.core.db import Database
from urp.nlu.data import read_examples


@pytest.fixture
def tracker_store(tmp_path: Path) -> str:
    """The conversation log saved by Rasa's own SQLTrackerStore (SQLite file)."""
    path = tmp_path / "tracker.db"
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    by_sender: dict[str, list[dict]] = defaultdict(list)
    for event in LOG:
        by_sender[event["sender_id"]].append({k: v for k, v in event.items() if k != "sender_id"})
    for sender, events in by_sender.items():
        asyncio.run(store.save(DialogueStateTracker.from_dict(sender, events)))
    store.engine.dispose()
    return f"sqlite:///{path}"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "checkout"
    training_copy(root)
    monkeypatch.setenv("URP_TRAINING_DIR", str(root))
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_collect_list_export_and_label(
    cli_env: Database,
    tracker_store: str,
    project: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "review", "collect", "--tracker-store", tracker_store)
    assert code == 0 and "7 messaggi nuovi nella casella, 5 da rivedere" in out
    # Again: the same messages are not counted twice.
    code, out, _ = run(capsys, "review", "collect", "--tracker-store", tracker_store)
    assert code == 0 and "0 messaggi nuovi nella casella, 5 da rivedere" in out

    code, out, _ = run(capsys, "review", "list")
    assert code == 0 and "Gruppo 1: 2 messaggi" in out and "[telefono]" in out
    assert WHATSAPP not in out and "Mario" not in out

    exported = tmp_path / "da-rivedere.yml"
    code, out, _ = run(capsys, "review", "export", "--out", str(exported))
    assert code == 0 and "Esportati 5 messaggi" in out
    content = yaml.safe_load(exported.read_text(encoding="utf-8"))
    intents = {block["intent"] for block in content["nlu"]}
    assert intents == {"ask_opening_hours", "ask_pharmacy_shift", "report_problem", "subscribe"}
    # Rasa itself reads the file, placeholders included.
    texts = {m.get("text") for m in load_data(str(exported)).training_examples}
    assert "scrivetemi la mail a [email]" in texts

    code, out, _ = run(capsys, "review", "list")
    farmacia = next(line for line in out.splitlines() if "farmacia del porto" in line)
    item_id = farmacia.split("n. ")[1].split()[0]
    code, out, _ = run(capsys, "review", "label", item_id, "ask_pharmacy_shift", "--by", "tina")
    assert code == 0 and "aggiunto a pharmacy.yml" in out
    assert "la farmacia del porto fa la notte?" in [
        ex.plain for ex in read_examples(project / "data" / "nlu" / "pharmacy.yml")
    ]
    code, _, err = run(capsys, "review", "label", item_id, "ask_pharmacy_shift", "--by", "tina")
    assert code == 2 and "già stato deciso" in err


def test_nlu_add_refuses_duplicates(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "nlu", "add", "ask_pharmacy_shift", "la farmacia di Torrette fa la notte?"
    )
    assert code == 0 and "pharmacy.yml" in out
    code, _, err = run(
        capsys, "nlu", "add", "ask_pharmacy_shift", "la farmacia di torrette fa la notte"
    )
    assert code == 2 and "già presente" in err
    code, _, err = run(capsys, "nlu", "add", "greet", "la farmacia di torrette fa la notte")
    assert code == 2 and "Contraddice l'intent ask_pharmacy_shift" in err


def test_collect_reads_make_runs_tracker_store_by_default(
    cli_env: Database,
    tracker_store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("URP_TRACKER_STORE_URL", raising=False)
    monkeypatch.setenv("URP_TRACKER_DB", str(tmp_path / "tracker.db"))
    code, out, _ = run(capsys, "review", "collect", "--since", "1970-01-01")
    assert code == 0 and "5 da rivedere" in out


def test_collect_says_what_it_cannot_read(
    cli_env: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("URP_TRACKER_STORE_URL", raising=False)
    monkeypatch.setenv("URP_TRACKER_DB", str(tmp_path / "nessuno.db"))
    code, _, err = run(capsys, "review", "collect")
    assert code == 2 and "non esiste" in err
    assert not (tmp_path / "nessuno.db").exists()
    empty = tmp_path / "vuoto.db"
    empty.write_bytes(b"")
    code, _, err = run(capsys, "review", "collect", "--tracker-store", f"sqlite:///{empty}")
    assert code == 2 and "tracker store non leggibile" in err
