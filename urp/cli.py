"""``urp``: the command line for the URP office and for deployers."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from urp.errors import OperatorError
from urp.settings import PROJECT_ROOT, Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from urp.subscribers import SubscriberService

Handler = Callable[[argparse.Namespace], int]


def _settings_check(args: argparse.Namespace) -> int:
    settings = load_settings(args.file)
    print(f"Impostazioni valide: {settings.source}")
    for key, value in settings.facts().items():
        print(f"  {key}: {value}")
    print(f"  modalità segnalazioni: {settings.reporting_mode}")
    return 0


def _nlp_build(args: argparse.Namespace) -> int:
    from urp.nlp.spacy_pipeline import build_to_disk

    out = build_to_disk(args.gazetteers, args.out)
    print(f"Pipeline spaCy italiana scritta in {out}")
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from urp.db import Database, current_revision, upgrade

    database = Database.from_environment()
    upgrade(database)
    print(f"Database aggiornato alla revisione {current_revision(database)}: {database.describe()}")
    return 0


def _db_current(args: argparse.Namespace) -> int:
    from urp.db import Database, current_revision, head_revision

    database = Database.from_environment()
    current, head = current_revision(database), head_revision()
    if current == head:
        print(f"Revisione del database: {current} (aggiornato) - {database.describe()}")
    else:
        print(
            f"Revisione del database: {current or 'nessuna'}, l'ultima è {head}: "
            f"esegui `urp db upgrade` - {database.describe()}"
        )
    return 0


def _subscriber_service(settings: Settings) -> SubscriberService:
    from urp.db import Database, require_current_schema
    from urp.privacy import UserHasher
    from urp.subscribers import SubscriberService

    database = Database.from_environment()
    require_current_schema(database)
    return SubscriberService(database, settings.subscription, UserHasher.from_environment())


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
    from urp.subscriber_files import file_format, write_export

    if args.with_numbers and not (args.operator or "").strip():
        print(
            "Errore: --with-numbers richiede --operator NOME (chi chiede i numeri di telefono)",
            file=sys.stderr,
        )
        return 2
    file_format(args.file)
    if not args.file.parent.is_dir():
        # Checked before the request is recorded: nothing would be written.
        print(f"Errore: la cartella {args.file.parent} non esiste", file=sys.stderr)
        return 2
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
    from urp.subscriber_files import read_import
    from urp.subscribers import SkipReason

    reasons = {
        SkipReason.NUMBER_PRESENT: "numero già presente",
        SkipReason.LABEL_TAKEN: "etichetta già usata da un altro numero",
        SkipReason.INVALID: "riga non valida",
    }
    if not 1 <= len(args.channel) <= 32:
        print("Errore: --channel deve essere un nome da 1 a 32 caratteri", file=sys.stderr)
        return 2
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="urp", description="Sportello URP: comandi di gestione")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMANDO")

    settings = commands.add_parser("settings", help="impostazioni del Comune")
    settings_commands = settings.add_subparsers(dest="action", required=True, metavar="AZIONE")
    check = settings_commands.add_parser("check", help="verifica un file di impostazioni")
    check.add_argument("file", nargs="?", help="file YAML (predefinito: URP_SETTINGS)")
    check.set_defaults(handler=_settings_check)

    nlp = commands.add_parser("nlp", help="dati e pipeline per la comprensione del testo")
    nlp_commands = nlp.add_subparsers(dest="action", required=True, metavar="AZIONE")
    build = nlp_commands.add_parser("build", help="costruisce la pipeline spaCy italiana")
    build.add_argument("--out", type=Path, default=PROJECT_ROOT / "var" / "spacy" / "it_urp")
    build.add_argument(
        "--gazetteers", type=Path, default=PROJECT_ROOT / "data" / "nlu" / "gazetteers.yml"
    )
    build.set_defaults(handler=_nlp_build)

    db = commands.add_parser("db", help="database degli iscritti (URP_DB_URL)")
    db_commands = db.add_subparsers(dest="action", required=True, metavar="AZIONE")
    db_upgrade = db_commands.add_parser("upgrade", help="crea o aggiorna lo schema del database")
    db_upgrade.set_defaults(handler=_db_upgrade)
    db_current = db_commands.add_parser("current", help="mostra la revisione dello schema")
    db_current.set_defaults(handler=_db_current)

    subscribers = commands.add_parser("subscribers", help="registro degli iscritti")
    subscriber_commands = subscribers.add_subparsers(dest="action", required=True, metavar="AZIONE")
    stats = subscriber_commands.add_parser(
        "stats", help="iscritti attivi, nuovi e cancellati per mese, iscritti per tema"
    )
    stats.add_argument("--json", action="store_true", help="stampa in formato JSON")
    stats.set_defaults(handler=_subscribers_stats)
    export = subscriber_commands.add_parser(
        "export", help="esporta etichette e date in un file .csv o .xlsx"
    )
    export.add_argument("file", type=Path, help="file da scrivere (.csv o .xlsx)")
    export.add_argument(
        "--with-numbers",
        action="store_true",
        help="includi i numeri di telefono (la richiesta viene registrata)",
    )
    export.add_argument("--operator", metavar="NOME", help="chi chiede i numeri (obbligatorio)")
    export.set_defaults(handler=_subscribers_export)
    imports = subscriber_commands.add_parser(
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except SettingsError as error:
        print(f"Errore nelle impostazioni: {error}", file=sys.stderr)
        return 2
    except OperatorError as error:
        print(f"Errore: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"Errore sul file: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
