"""The memo: files, the store (one per date, the latest is current), WhatsApp messages."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.store.conftest import FixedClock, raw_rows
from urp.core.data_files import Change, DataFileError
from urp.core.db import Database
from urp.core.settings import Settings
from urp.core.text import MESSAGE_LIMIT
from urp.information.memo import Memo, MemoItem, MemoService, format_memo, read_memo

MEMO_FILE = """\
date: 20/11/2026
items:
  - title: Eventi del fine settimana
    text: Sabato mercato in piazza. Domenica concerto alla Mole.
    link: https://www.comune.ancona.gov.it/eventi
    topic: eventi
  - title: CONSIGLIO COMUNALE
    text: Lunedì alle 15 in sala consiliare.
    link: http://comune.ancona.gov.it/consiglio
"""


def memo(day: date, *titles: str) -> Memo:
    return Memo(
        day,
        "MEMO COMUNE DI ANCONA",
        tuple(MemoItem(t, f"Testo di {t}.", "https://c.it/x") for t in titles),
    )


@pytest.fixture
def memos(database: Database, clock: FixedClock) -> MemoService:
    return MemoService(database, clock=clock)


def write(tmp_path: Path, content: str, name: str = "memo.yml") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


# -- file --------------------------------------------------------------------------------


def test_a_memo_file_is_read_with_uppercase_titles_and_the_default_header(
    tmp_path: Path, settings: Settings
) -> None:
    read = read_memo(write(tmp_path, MEMO_FILE), "MEMO DI PROVA", settings.subscription.topics)
    assert read.published_on == date(2026, 11, 20)
    assert read.header == "MEMO DI PROVA"
    assert read.items == (
        MemoItem(
            "EVENTI DEL FINE SETTIMANA",
            "Sabato mercato in piazza. Domenica concerto alla Mole.",
            "https://www.comune.ancona.gov.it/eventi",
            "eventi",
        ),
        MemoItem(
            "CONSIGLIO COMUNALE",
            "Lunedì alle 15 in sala consiliare.",
            "http://comune.ancona.gov.it/consiglio",
        ),
    )


def test_a_header_in_the_file_wins(tmp_path: Path, settings: Settings) -> None:
    path = write(tmp_path, "header: INFO DAL COMUNE\n" + MEMO_FILE)
    assert read_memo(path, "MEMO", settings.subscription.topics).header == "INFO DAL COMUNE"


@pytest.mark.parametrize(
    ("content", "messages"),
    [
        (
            MEMO_FILE.replace("date: 20/11/2026", "date: 31/11/2026"),
            ["riga 1: «date»: data non valida '31/11/2026'"],
        ),
        (MEMO_FILE.replace("https://www.comune", "www.comune"), ["riga 5:", "http(s)://"]),
        (
            MEMO_FILE.replace("topic: eventi", "topic: sagre"),
            ["riga 6: tema 'sagre' sconosciuto", "emergenze"],
        ),
        (
            MEMO_FILE.replace("    text: Lunedì alle 15 in sala consiliare.\n", ""),
            ["riga 7: manca «text»"],
        ),
        ("date: 2026-11-20\nitems: []\n", ["riga 2: manca l'elenco «items»"]),
        ("date: 2026-11-20\nitems:\n  - solo testo\n", ["elemento 1: deve essere una mappa"]),
        ("date: [2026\n", ["YAML non valido"]),
        ("- una lista\n", ["deve contenere una mappa"]),
    ],
)
def test_bad_memo_files_say_where_and_what(
    tmp_path: Path, settings: Settings, content: str, messages: list[str]
) -> None:
    with pytest.raises(DataFileError) as error:
        read_memo(write(tmp_path, content), "MEMO", settings.subscription.topics)
    assert str(error.value).startswith("memo.yml")
    for message in messages:
        assert message in str(error.value)


def test_every_problem_is_listed(tmp_path: Path, settings: Settings) -> None:
    content = MEMO_FILE.replace("https://www.comune", "ftp://x").replace(
        "topic: eventi", "topic: x"
    )
    with pytest.raises(
        DataFileError, match=r"2 errori, nessun dato caricato\n  riga 5: .*\n  riga 6"
    ):
        read_memo(write(tmp_path, content), "MEMO", settings.subscription.topics)


def test_a_missing_file(tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(DataFileError, match="non esiste"):
        read_memo(tmp_path / "manca.yml", "MEMO", settings.subscription.topics)


# -- store -------------------------------------------------------------------------------


def test_the_current_memo_is_the_latest(memos: MemoService) -> None:
    assert memos.current() is None
    assert memos.publish(memo(date(2026, 11, 13), "VECCHIO")) == Change.CREATED
    assert memos.publish(memo(date(2026, 11, 27), "PROSSIMO")) == Change.CREATED
    assert memos.publish(memo(date(2026, 11, 20), "A", "B", "C")) == Change.CREATED
    assert memos.current() == memo(date(2026, 11, 27), "PROSSIMO")
    # A memo prepared for next week is not out yet.
    assert memos.current(date(2026, 11, 22)) == memo(date(2026, 11, 20), "A", "B", "C")
    assert memos.current(date(2026, 1, 1)) is None
    assert [m.published_on.day for m in memos.memos()] == [27, 20, 13]


def test_publishing_again_is_idempotent_and_a_new_version_replaces(
    memos: MemoService, database: Database
) -> None:
    first = memo(date(2026, 11, 20), "A", "B")
    assert memos.publish(first) == Change.CREATED
    assert memos.publish(first) == Change.UNCHANGED
    assert len(raw_rows(database, "memo_items")) == 2
    second = memo(date(2026, 11, 20), "B", "C", "D")
    assert memos.publish(second) == Change.UPDATED
    assert memos.current() == second
    assert len(raw_rows(database, "memos")) == 1
    assert [row["title"] for row in raw_rows(database, "memo_items")] == ["B", "C", "D"]


# -- WhatsApp ----------------------------------------------------------------------------


def test_a_short_memo_is_one_message_with_bold_titles() -> None:
    [message] = format_memo(memo(date(2026, 11, 20), "EVENTI", "FARMACIE"))
    assert message == (
        "*MEMO COMUNE DI ANCONA*\n20/11/2026\n\n"
        "*EVENTI*\nTesto di EVENTI.\nhttps://c.it/x\n\n"
        "*FARMACIE*\nTesto di FARMACIE.\nhttps://c.it/x"
    )


def test_a_long_memo_is_split_between_items() -> None:
    text = "Una frase di prova abbastanza lunga da riempire lo spazio. " * 6
    items = tuple(MemoItem(f"NOTIZIA {n}", text.strip(), f"https://c.it/{n}") for n in range(1, 41))
    messages = format_memo(Memo(date(2026, 11, 20), "MEMO", items))
    assert len(messages) > 3
    assert all(len(message) < MESSAGE_LIMIT for message in messages)
    assert messages[0].startswith("*MEMO*\n20/11/2026\n\n*NOTIZIA 1*")
    blocks = [block for message in messages for block in message.split("\n\n")]
    assert blocks[1:] == [f"*{i.title}*\n{i.text}\n{i.link}" for i in items]  # all intact


def test_an_item_longer_than_a_message_is_cut_at_a_sentence() -> None:
    sentence = "Questa è una frase che si ripete per fare un testo molto lungo. "
    item = MemoItem("LUNGA", (sentence * 150).strip(), "https://c.it/l")
    messages = format_memo(Memo(date(2026, 11, 20), "MEMO", (item,)))
    assert len(messages) >= 3
    assert all(len(message) < MESSAGE_LIMIT for message in messages)
    assert messages[0].startswith("*MEMO*\n20/11/2026\n\n*LUNGA*\nQuesta")
    assert all(message.rstrip().endswith(".") for message in messages[:-1])
    assert messages[-1].endswith("https://c.it/l")
    assert " ".join(messages).count("Questa è una frase") == 150


def test_text_without_sentences_is_cut_at_a_space() -> None:
    item = MemoItem("PAROLE", " ".join(["parola"] * 2000), "https://c.it/p")
    messages = format_memo(Memo(date(2026, 11, 20), "MEMO", (item,)), limit=1000)
    assert all(len(message) < 1000 for message in messages)
    assert all(not m.endswith(" ") and "parol " not in m for m in messages)
    assert sum(m.count("parola") for m in messages) == 2000
