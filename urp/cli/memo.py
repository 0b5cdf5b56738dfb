"""``urp memo add|list|show``: the office's weekly memo (:mod:`urp.information.memo`).

``urp memo publish``, which also sends it to the subscribers, is a broadcast: it is added to
this group by :mod:`urp.cli.broadcasts`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from urp.cli import common
from urp.core.settings import load_settings


def _memo_add(args: argparse.Namespace) -> int:
    from urp.core.data_files import Change
    from urp.information.memo import MemoService, read_memo

    settings = load_settings()
    memo = read_memo(args.file, settings.memo_header, settings.subscription.topics)
    change = MemoService(common.database()).publish(memo)
    verb = {
        Change.CREATED: "aggiunto",
        Change.UPDATED: "sostituito",
        Change.UNCHANGED: "già presente, invariato",
    }[change]
    print(f"Memo del {memo.published_on:%d/%m/%Y} {verb}: {common.news(len(memo.items))}.")
    return 0


def _memo_list(args: argparse.Namespace) -> int:
    from urp.information.memo import MemoService

    memos = MemoService(common.database()).memos()
    if not memos:
        print("Nessun memo pubblicato.")
    for memo in memos:
        print(f"{memo.published_on:%d/%m/%Y}  {memo.header} ({common.news(len(memo.items))})")
        for item in memo.items:
            print(f"  - {item.title}" + (f" [{item.topic}]" if item.topic else ""))
    return 0


def _memo_show(args: argparse.Namespace) -> int:
    from urp.information.memo import MemoService, format_memo

    settings = load_settings()
    memo = MemoService(common.database()).current(common.today(settings))
    if memo is None:
        print("Nessun memo pubblicato.")
        return 0
    messages = format_memo(memo)
    for number, message in enumerate(messages, start=1):
        if len(messages) > 1:
            print(f"--- messaggio {number} di {len(messages)} ---")
        print(message)
    return 0


def add_parsers(commands: common.Commands) -> None:
    """``urp memo``, without ``publish``."""
    actions = common.group(commands, "memo", "memo settimanale dell'ufficio")
    add = actions.add_parser(
        "add", help="pubblica un memo da un file YAML (stessa data: lo sostituisce)"
    )
    add.add_argument("file", type=Path, help="file .yml con date, header, items")
    add.set_defaults(handler=_memo_add)
    listing = actions.add_parser("list", help="elenca i memo pubblicati")
    listing.set_defaults(handler=_memo_list)
    show = actions.add_parser("show", help="mostra il memo in corso come arriva su WhatsApp")
    show.set_defaults(handler=_memo_show)
