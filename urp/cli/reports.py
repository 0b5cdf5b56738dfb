"""``urp reports list|export|status``: the reports citizens made in the chat.

The service is :mod:`urp.information.reports`; exports carry no phone numbers.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from urp.cli import common
from urp.core.settings import Settings, load_settings

if TYPE_CHECKING:
    from urp.information.reports import ReportService

_STATUS_HELP = "nuova, in-lavorazione o chiusa"


def _report_status(value: str) -> str:
    """An argparse type: the status key or its Italian name."""
    from urp.information.reports import STATUS_LABELS

    names = {label.replace(" ", "-"): key for key, label in STATUS_LABELS.items()}
    status = names.get(value.strip().lower().replace(" ", "-"), value)
    if status not in STATUS_LABELS:
        raise argparse.ArgumentTypeError(f"stato non valido {value!r}: usa {', '.join(names)}")
    return status


def _report_service(settings: Settings) -> ReportService:
    from urp.information.reports import ReportService

    return ReportService(common.database(), settings.reporting_code_prefix, settings.timezone)


def _reports_list(args: argparse.Namespace) -> int:
    from urp.information.reports import STATUS_LABELS

    settings = load_settings()
    reports = _report_service(settings).reports(args.status)
    if not reports:
        print("Nessuna segnalazione.")
    for report in reports:
        where = report.address or report.coordinates or "senza indirizzo"
        print(
            f"{report.code}  {report.created_at.astimezone(settings.timezone):%d/%m/%Y %H:%M}  "
            f"{STATUS_LABELS[report.status]:<14}  {where}: {common.clip(report.description)}"
        )
    return 0


def _reports_export(args: argparse.Namespace) -> int:
    from urp.core.spreadsheets import file_format
    from urp.information.reports import write_reports

    file_format(args.file)
    if not args.file.parent.is_dir():
        return common.fail(f"la cartella {args.file.parent} non esiste")
    settings = load_settings()
    reports = _report_service(settings).reports(args.status)
    write_reports(args.file, reports, settings.timezone)
    print(f"Esportate {len(reports)} segnalazioni in {args.file} (senza i numeri dei cittadini).")
    return 0


def _reports_set_status(args: argparse.Namespace) -> int:
    from urp.information.reports import STATUS_LABELS, UnknownReportError

    try:
        report = _report_service(load_settings()).set_status(args.code, args.status)
    except UnknownReportError:
        return common.fail(f"nessuna segnalazione con codice {args.code!r}")
    print(f"{report.code}: {STATUS_LABELS[report.status]}")
    return 0


def add_parsers(commands: common.Commands) -> None:
    """``urp reports``."""
    actions = common.group(commands, "reports", "segnalazioni raccolte in chat")
    listing = actions.add_parser("list", help="elenca le segnalazioni")
    listing.add_argument("--status", type=_report_status, metavar="STATO", help=_STATUS_HELP)
    listing.set_defaults(handler=_reports_list)
    export = actions.add_parser(
        "export", help="esporta le segnalazioni in .csv o .xlsx (senza numeri di telefono)"
    )
    export.add_argument("file", type=Path, help="file da scrivere (.csv o .xlsx)")
    export.add_argument("--status", type=_report_status, metavar="STATO", help=_STATUS_HELP)
    export.set_defaults(handler=_reports_export)
    status = actions.add_parser("status", help="cambia lo stato di una segnalazione")
    status.add_argument("code", metavar="CODICE", help="per esempio SEG-2026-000123")
    status.add_argument("status", type=_report_status, metavar="STATO", help=_STATUS_HELP)
    status.set_defaults(handler=_reports_set_status)
