"""``urp faq import|export|list|ask``: the office's knowledge base from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.store.conftest import raw_rows
from tests.store.test_cli import run
from urp.core.db import Database
from urp.core.settings import PROJECT_ROOT, load_settings
from urp.faq.entries import read_faq_file
from urp.faq.meanings import text_hash
from urp.faq.search import FaqAnswer, FaqMatch, LiveFaqIndex
from urp.faq.store import FaqService
from urp.nlu import embeddings

FAQ = """\
- id: tari-pagamento
  questions:
    - Come si paga la TARI?
    - Dove pago la tassa sui rifiuti?
    - Si può pagare la tari online con pagoPA?
  answer: |-
    La *TARI* si paga con l'avviso pagoPA che arriva a casa.
    • online, in banca o in tabaccheria
  link: https://www.comune.esempio.it/tari
  topic: tributi
- id: biblioteca-orari
  questions:
    - Quali sono gli orari della biblioteca comunale?
    - A che ora apre la biblioteca?
  answer: La biblioteca è aperta dal lunedì al sabato, dalle 9 alle 19.
  topic: cultura
"""


def write(tmp_path: Path, text: str, name: str = "faq.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_then_again_then_replace(
    cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, FAQ)
    assert run(capsys, "faq", "import", str(path), "--by", "mario") == (
        0,
        "FAQ: nuove 2, sostituite 0, invariate 0.\nSignificato calcolato per 5 domande nuove.\n",
        "",
    )
    # The questions' vectors are stored: the running assistant's rebuild only reads them.
    questions = [q for entry in read_faq_file(path) for q in entry.questions]
    stored = FaqService(cli_env).meanings(embeddings.MODEL, [text_hash(q) for q in questions])
    assert len(stored) == len(questions) == 5
    assert run(capsys, "faq", "import", str(path))[1] == (
        "FAQ: nuove 0, sostituite 0, invariate 2.\n"
    )
    stored = FaqService(cli_env).get("tari-pagamento")
    assert stored is not None and stored.updated_by == "mario"
    write(tmp_path, FAQ.replace("dalle 9 alle 19", "dalle 8 alle 20"))
    assert run(capsys, "faq", "import", str(path), "--by", "anna")[1] == (
        "FAQ: nuove 0, sostituite 1, invariate 1.\n"
    )
    library = FaqService(cli_env).get("biblioteca-orari")
    assert library is not None and "dalle 8 alle 20" in library.answer
    assert library.updated_by == "anna"


def test_nothing_is_written_on_any_error(
    cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = FAQ + "- id: Seconda Voce\n  answer: ''\n  colore: rosso\n"
    code, out, err = run(capsys, "faq", "import", str(write(tmp_path, broken)))
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert lines[0] == "Errore: 4 errori, nessuna voce importata"
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "faq.yml, voce 3 (Seconda Voce)"
    ] * 4
    assert "chiave sconosciuta «colore»" in err and "manca «questions»" in err
    assert raw_rows(cli_env, "faq_entries") == [] and raw_rows(cli_env, "faq_questions") == []
    code, _, err = run(capsys, "faq", "import", str(tmp_path / "manca.yml"))
    assert code == 2 and "il file non esiste" in err


def test_export_then_import_changes_nothing(
    cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "faq", "import", str(write(tmp_path, FAQ)))
    FaqService(cli_env).add_draft("Dov'è il mercato?", "In piazza.", by="anna")
    exported = tmp_path / "esportato.yml"
    assert run(capsys, "faq", "export", str(exported)) == (
        0,
        f"Esportate 2 voci pubblicate in {exported}.\n",
        "",
    )
    assert [entry.id for entry in read_faq_file(exported)] == [
        "biblioteca-orari",
        "tari-pagamento",
    ]  # by topic; drafts are not part of the office's file
    assert run(capsys, "faq", "import", str(exported))[1] == (
        "FAQ: nuove 0, sostituite 0, invariate 2.\n"
        # the console's draft had no vector yet: publishing it will only read
        "Significato calcolato per 1 domanda nuova.\n"
    )


def test_list(cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "faq", "list")[1] == "Nessuna voce: caricale con `urp faq import FILE`.\n"
    run(capsys, "faq", "import", str(write(tmp_path, FAQ)))
    FaqService(cli_env).add_draft("Dov'è il mercato?", "In piazza.", by="anna")
    assert run(capsys, "faq", "list")[1] == (
        "\ncultura:\n"
        "  biblioteca-orari: Quali sono gli orari della biblioteca comunale? (2 domande)\n"
        "\ntributi:\n"
        "  tari-pagamento: Come si paga la TARI? (3 domande)\n"
        "\n2 voci pubblicate.\n"
    )
    out = run(capsys, "faq", "list", "--drafts")[1]
    assert "\nSenza argomento:\n  dov-e-il-mercato [bozza]: Dov'è il mercato? (1 domanda)\n" in out
    assert out.endswith("\n2 voci pubblicate, 1 bozza.\n")
    out = run(capsys, "faq", "list", "--topic", "Tributi")[1]
    assert "tari-pagamento" in out and "biblioteca" not in out


def test_ask_says_what_the_assistant_would_answer(
    cli_env: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "faq", "import", str(write(tmp_path, FAQ)))
    question = "come si paga la tari?"
    expected = LiveFaqIndex(FaqService(cli_env), load_settings().faq).answer(question)
    code, out, _ = run(capsys, "faq", "ask", question)
    assert code == 0 and expected.kind in ("answer", "suggestions")
    first = {"answer": "Risposta (voce tari-pagamento):\n", "suggestions": "Forse cerchi:\n"}
    assert out.startswith(first[expected.kind])
    scores = out.split("Punteggi migliori:\n")[1].splitlines()
    assert 1 <= len(scores) <= 3 and "tari-pagamento: «" in scores[0]


class FakeIndex:
    """What the search would say, fixed: the command's output is only a matter of format."""

    kind = "answer"

    def __init__(self, service: FaqService, settings: object) -> None:
        entries = {entry.id: entry for entry in service.entries()}
        self.matches = [
            FaqMatch(entries["tari-pagamento"], 0.8123, "Come si paga la TARI?"),
            FaqMatch(entries["biblioteca-orari"], 0.4, "A che ora apre la biblioteca?"),
        ]

    def answer(self, text: str) -> FaqAnswer:
        shown = {"answer": 1, "suggestions": 2, "none": 2}[self.kind]
        return FaqAnswer(self.kind, tuple(self.matches[:shown]))

    def search(self, text: str, limit: int = 3) -> list[FaqMatch]:
        return self.matches[:limit]


SCORES = (
    "\nPunteggi migliori:\n"
    "  0,81  tari-pagamento: «Come si paga la TARI?»\n"
    "  0,40  biblioteca-orari: «A che ora apre la biblioteca?»\n"
)


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        (
            "answer",
            "Risposta (voce tari-pagamento):\n"
            "La *TARI* si paga con l'avviso pagoPA che arriva a casa.\n"
            "• online, in banca o in tabaccheria\n"
            "https://www.comune.esempio.it/tari\n",
        ),
        (
            "suggestions",
            "Forse cerchi:\n"
            "• Come si paga la TARI? (tari-pagamento)\n"
            "• Quali sono gli orari della biblioteca comunale? (biblioteca-orari)\n",
        ),
        (
            "none",
            "Nessuna risposta dalle FAQ: l'assistente dice che non se ne occupa e offre un "
            "operatore.\n",
        ),
    ],
)
def test_ask_prints_each_kind_of_reply(
    cli_env: Database,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    said: str,
) -> None:
    run(capsys, "faq", "import", str(write(tmp_path, FAQ)))
    monkeypatch.setattr(FakeIndex, "kind", kind)
    monkeypatch.setattr("urp.faq.search.LiveFaqIndex", FakeIndex)
    assert run(capsys, "faq", "ask", "tari") == (0, said + SCORES, "")


def test_ask_an_empty_faq(cli_env: Database, capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "faq", "ask", "come si paga la tari?")[1]
    assert out == (
        "Nessuna risposta dalle FAQ: l'assistente dice che non se ne occupa e offre un "
        "operatore.\n\nNessuna voce somiglia alla domanda.\n"
    )


def test_a_store_filled_before_the_faq_gets_the_example_faq_once(
    cli_env: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = PROJECT_ROOT / "settings" / "examples" / "ancona"
    run(capsys, "memo", "add", str(examples / "memo-2026-11-20.yml"))  # an older store
    count = len(read_faq_file(examples / "faq.yml"))
    assert run(capsys, "data", "load-examples", "--if-empty")[1] == (
        "Il database contiene già un memo: dati d'esempio non caricati, "
        f"tranne le {count} voci delle FAQ d'esempio.\n"
    )
    assert len(FaqService(cli_env).entries()) == count
    first = FaqService(cli_env).entries()[0].id
    FaqService(cli_env).retire(first, by="anna")  # the office's own change stays
    assert run(capsys, "data", "load-examples", "--if-empty")[1] == (
        "Il database contiene già un memo: dati d'esempio non caricati.\n"
    )
    assert len(FaqService(cli_env).entries()) == count - 1
