"""The latest memo (actions.memo) on the shipped example data, with a fixed clock."""

from __future__ import annotations

from actions.memo import ActionLatestMemo
from tests.unit.conversation import run, says, slots


def test_the_memo_is_sent_in_whatsapp_format(ancona_office, at) -> None:
    at(2026, 11, 22, 10, 0)
    events, messages = run(ActionLatestMemo(), says("ask_latest_memo"))
    assert slots(events) == {"memo_outcome": "sent"}
    assert messages[0]["text"].startswith("*MEMO COMUNE DI ANCONA*")
    assert all(len(m["text"]) < 4096 for m in messages)
