"""The office's FAQ file: every problem reported with file and entry, and the same format
written back (:mod:`urp.faq.entries`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from urp.faq.entries import (
    ANSWER_LIMIT,
    DRAFT,
    STATUSES,
    FaqEntry,
    FaqFileError,
    entry_problems,
    read_faq_file,
    write_faq_file,
)

GOOD = """\
- id: tari-pagamento
  questions:
    - Come si paga la TARI?
    - Dove pago la tassa sui rifiuti?
  answer: |-
    La *TARI* si paga con il modello F24 che arriva a casa.
    • rata unica entro il 16 giugno
  link: https://www.comune.esempio.it/tari
  topic: tributi
- id: cie
  questions:
    - Come faccio la carta d'identità elettronica?
  answer: Prenota allo sportello anagrafe.
"""


def write(tmp_path: Path, text: str, name: str = "faq.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(FaqFileError) as raised:
        read_faq_file(write(tmp_path, text))
    return raised.value.problems


def test_a_good_file(tmp_path: Path) -> None:
    tari, cie = read_faq_file(write(tmp_path, GOOD))
    assert tari == FaqEntry(
        id="tari-pagamento",
        questions=("Come si paga la TARI?", "Dove pago la tassa sui rifiuti?"),
        answer="La *TARI* si paga con il modello F24 che arriva a casa.\n"
        "• rata unica entro il 16 giugno",
        link="https://www.comune.esempio.it/tari",
        topic="tributi",
    )
    assert tari.title == "Come si paga la TARI?" and tari.status == "published"
    assert (cie.link, cie.topic) == (None, None)
    assert STATUSES == ("draft", "published", "retired")


def test_spaces_are_tidied_and_an_empty_link_is_no_link(tmp_path: Path) -> None:
    [entry] = read_faq_file(
        write(
            tmp_path,
            "- id: x1\n  questions: ['  Orari   della biblioteca? ']\n"
            "  answer: '  Dalle 9 alle 19.  '\n  link: ''\n  topic: ' cultura '\n",
        )
    )
    assert entry.questions == ("Orari della biblioteca?",)
    assert (entry.answer, entry.link, entry.topic) == ("Dalle 9 alle 19.", None, "cultura")


def test_every_problem_is_reported_with_file_and_entry(tmp_path: Path) -> None:
    text = f"""\
- id: tari-pagamento
  questions: [Come si paga la TARI]
  answer: Con l'F24.
  colore: rosso
- id: Tari Scadenze
  questions: []
  answer: ""
- id: cie
  questions:
    - Carta d'identità?
    - carta d’IDENTITÀ
    - ""
    - 12
  answer: "{"a" * (ANSWER_LIMIT + 1)}"
  link: http://www.comune.esempio.it/cie
- id: tari-pagamento
  questions: Come si paga?
  answer: Doppione.
- questions: [Senza id]
- just a text
- id: 2024
  questions: [Numero]
  answer: Numero.
  topic: [a, b]
- id: link-strano
  questions: [Link]
  answer: Sì.
  link: https://www.comune esempio.it
"""
    problems = problems_of(tmp_path, text)
    assert problems == [
        "faq.yml, voce 1 (tari-pagamento): chiave sconosciuta «colore» "
        "(ammesse: id, questions, answer, link, topic)",
        "faq.yml, voce 2 (Tari Scadenze): l'«id» «Tari Scadenze» non va bene: usa da 2 a 64 "
        "tra lettere minuscole senza accenti, cifre e trattini, iniziando con una lettera "
        "o una cifra (es. «tari-pagamento»)",
        "faq.yml, voce 2 (Tari Scadenze): serve almeno una domanda in «questions»",
        "faq.yml, voce 2 (Tari Scadenze): manca la risposta («answer»)",
        "faq.yml, voce 3 (cie): la domanda 4 deve essere un testo",
        "faq.yml, voce 3 (cie): la domanda «carta d’IDENTITÀ» è ripetuta",
        "faq.yml, voce 3 (cie): la domanda 3 è vuota",
        f"faq.yml, voce 3 (cie): la risposta ha {ANSWER_LIMIT + 1} caratteri: al massimo "
        f"{ANSWER_LIMIT}, perché stia in una schermata del telefono",
        "faq.yml, voce 3 (cie): il «link» deve essere un indirizzo https://..., "
        "non «http://www.comune.esempio.it/cie»",
        "faq.yml, voce 4 (tari-pagamento): «questions» deve essere un elenco di domande "
        "(righe che iniziano con «- »)",
        "faq.yml, voce 4 (tari-pagamento): l'«id» è già usato dalla voce 1",
        "faq.yml, voce 5: manca «id»",
        "faq.yml, voce 5: manca «answer»",
        "faq.yml, voce 6: ogni voce deve essere una mappa con le chiavi id, questions, answer",
        "faq.yml, voce 7: l'«id» deve essere un testo, non «2024»",
        "faq.yml, voce 7: il «topic» deve essere un testo",
        "faq.yml, voce 8 (link-strano): il «link» deve essere un indirizzo https://..., "
        "non «https://www.comune esempio.it»",
    ]


def test_the_error_message_lists_every_problem(tmp_path: Path) -> None:
    with pytest.raises(FaqFileError) as raised:
        read_faq_file(write(tmp_path, "- id: a1\n  questions: [Sì]\n- id: a1\n", "mie.yml"))
    message = str(raised.value)
    assert message.startswith("4 errori, nessuna voce importata\n")
    assert "mie.yml, voce 1 (a1): manca «answer»" in message
    assert "mie.yml, voce 2 (a1): l'«id» è già usato dalla voce 1" in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "faq.yml: il file è vuoto (serve un elenco di voci)"),
        ("id: tari\n", "faq.yml: il file deve essere un elenco di voci"),
        ("- id: [\n", "faq.yml, riga 2: YAML non valido"),
    ],
)
def test_a_file_that_is_not_a_list(tmp_path: Path, text: str, problem: str) -> None:
    [found] = problems_of(tmp_path, text)
    assert found.startswith(problem)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FaqFileError, match=r"manca\.yml: il file non esiste"):
        read_faq_file(tmp_path / "manca.yml")


def test_an_empty_list_is_no_entries(tmp_path: Path) -> None:
    assert read_faq_file(write(tmp_path, "[]\n")) == []


def test_the_answer_limit_counts_characters_not_bytes(tmp_path: Path) -> None:
    answer = "è" * ANSWER_LIMIT
    [entry] = read_faq_file(write(tmp_path, f"- id: ab\n  questions: [q]\n  answer: {answer}\n"))
    assert len(entry.answer) == ANSWER_LIMIT


def test_write_then_read_gives_the_same_entries(tmp_path: Path) -> None:
    entries = [
        *read_faq_file(write(tmp_path, GOOD)),
        FaqEntry(
            id="orari-piscina",
            questions=("Orari della piscina?", "a che ora apre la piscina: domenica?"),
            answer="*Piscina* comunale:\n• lun-ven 8-21\n• sab 9-13\n\n«Chiusa» ad agosto # no",
            link="https://www.comune.esempio.it/piscina?x=1&y=2",
            topic="sport: impianti",
        ),
        FaqEntry(id="yes", questions=("yes", "null", "- 3"), answer="no: 'sì'"),
        FaqEntry(id="riga-con-spazi", questions=("q",), answer="fine riga con spazi  \ne poi"),
    ]
    path = tmp_path / "esportato.yml"
    write_faq_file(path, entries)
    assert read_faq_file(path) == entries
    text = path.read_text(encoding="utf-8")
    assert text.startswith("- id: tari-pagamento\n  questions:\n    - Come si paga la TARI?\n")
    assert "  answer: |-\n    La *TARI*" in text and "carta d'identità" in text


def test_write_an_empty_faq(tmp_path: Path) -> None:
    path = tmp_path / "vuoto.yml"
    write_faq_file(path, [])
    assert read_faq_file(path) == []


def test_entry_problems_for_the_console() -> None:
    long_draft = FaqEntry(id="bozza", questions=("q",), answer="a" * 800, status=DRAFT)
    assert entry_problems(long_draft, draft_answer_length=True) == []
    assert entry_problems(long_draft)[0].startswith("la risposta ha 800 caratteri")
    assert entry_problems(FaqEntry(id="x", questions=(), answer=" ", status="old")) == [
        "l'«id» «x» non va bene: usa da 2 a 64 tra lettere minuscole senza accenti, cifre "
        "e trattini, iniziando con una lettera o una cifra (es. «tari-pagamento»)",
        "serve almeno una domanda in «questions»",
        "manca la risposta («answer»)",
        "stato sconosciuto «old» (ammessi: draft, published, retired)",
    ]
