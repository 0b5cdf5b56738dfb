"""``urp subscribers stats|export|import``: the register of :mod:`urp.subscription`."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from urp.cli import common
from urp.core.settings import Settings, load_settings

if TYPE_CHECKING:
    from urp.subscription.subscribers import SubscriberService


def _subscriber_service(settings: Settings) -> SubscriberService:
    from urp.core.hashing import UserHasher
    from urp.subscription.subscribers import SubscriberService

    return SubscriberService(
        common.database(), settings.subscription, UserHasher.from_environment()
    )


def _subscribers_stats(args: argparse.Namespace) -> int:
    settings = load_settings()
    stats = _subscriber_service(settings).stats(settings.timezone)
    if args.json:
        print(json.dumps(asdict(stats), ensure_ascii=False, indent=2))
        return 0
    print(f"Iscritti attivi: {stats.active}")
    print(f"Iscritti che si sono cancellati: {stats.cancelled}")
    if stats.months:
        print(f"\n{'mese':<8} {'nuovi':>7} {'cancellati':>11} {'saldo':>7} {'attivi':>8}")
        for month in stats.months:
            print(
                f"{month.month:<8} {month.new:>7} {month.cancelled:>11} "
                f"{month.net:>+7} {month.active:>8}"
            )
    print("\nIscritti attivi per tema:")
    for topic in stats.topics:
        print(f"  {topic.label} ({topic.key}): {topic.subscribers}")
    return 0


def _subscribers_export(args: argparse.Namespace) -> int:
    from urp.core.spreadsheets import file_format
    from urp.subscription.files import write_export

    if args.with_numbers and not (args.operator or "").strip():
        return common.fail(
            "--with-numbers richiede --operator NOME (chi chiede i numeri di telefono)"
        )
    file_format(args.file)
    if not args.file.parent.is_dir():
        # Checked before the request is recorded: nothing would be written.
        return common.fail(f"la cartella {args.file.parent} non esiste")
    settings = load_settings()
    rows = _subscriber_service(settings).export_rows(
        with_numbers=args.with_numbers, operator=args.operator, destination=str(args.file)
    )
    write_export(args.file, rows, settings.timezone, with_numbers=args.with_numbers)
    if args.with_numbers:
        print(
            f"Esportati {len(rows)} iscritti in {args.file}, con i numeri di telefono degli "
            f"iscritti attivi: richiesta registrata a nome di {args.operator.strip()}."
        )
    else:
        print(f"Esportati {len(rows)} iscritti in {args.file} (etichette e date, senza numeri).")
    return 0


def _subscribers_import(args: argparse.Namespace) -> int:
    from urp.subscription.files import read_import
    from urp.subscription.subscribers import SkipReason

    reasons = {
        SkipReason.NUMBER_PRESENT: "numero già presente",
        SkipReason.LABEL_TAKEN: "etichetta già usata da un altro numero",
        SkipReason.INVALID: "riga non valida",
    }
    if not 1 <= len(args.channel) <= 32:
        return common.fail("--channel deve essere un nome da 1 a 32 caratteri")
    settings = load_settings()
    rows, unreadable = read_import(args.file, settings.timezone)
    service = _subscriber_service(settings)
    report = service.import_rows(rows, args.channel, args.policy_version)
    skipped = sorted([*unreadable, *report.skipped], key=lambda row: row.line)
    print(f"Importati: {report.imported}")
    print(f"Saltati: {len(skipped)}")
    for row in skipped:
        where = f"riga {row.line}" + (f", {row.label}" if row.label else "")
        print(f"  {where}: {reasons[row.reason]}" + (f" ({row.detail})" if row.detail else ""))
    return 0


def add_parsers(commands: common.Commands) -> None:
    """``urp subscribers``."""
    actions = common.group(commands, "subscribers", "registro degli iscritti")
    stats = actions.add_parser(
        "stats", help="iscritti attivi, nuovi e cancellati per mese, iscritti per tema"
    )
    stats.add_argument("--json", action="store_true", help="stampa in formato JSON")
    stats.set_defaults(handler=_subscribers_stats)
    export = actions.add_parser("export", help="esporta etichette e date in un file .csv o .xlsx")
    export.add_argument("file", type=Path, help="file da scrivere (.csv o .xlsx)")
    export.add_argument(
        "--with-numbers",
        action="store_true",
        help="includi i numeri di telefono (la richiesta viene registrata)",
    )
    export.add_argument("--operator", metavar="NOME", help="chi chiede i numeri (obbligatorio)")
    export.set_defaults(handler=_subscribers_export)
    imports = actions.add_parser(
        "import", help="importa il foglio degli iscritti (colonne etichetta, numero, data)"
    )
    imports.add_argument("file", type=Path, help="file .csv o .xlsx")
    imports.add_argument(
        "--channel", default="whatsapp", help="canale degli iscritti (predefinito: whatsapp)"
    )
    imports.add_argument(
        "--policy-version",
        default="precedente",
        help="informativa accettata dagli iscritti importati (predefinita: «precedente»)",
    )
    imports.set_defaults(handler=_subscribers_import)
