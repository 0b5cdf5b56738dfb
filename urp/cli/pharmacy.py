"""``urp pharmacies load|list``: the pharmacies' shifts (:mod:`urp.information.pharmacy`)."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

from urp.cli import common
from urp.core.settings import load_settings


def _pharmacies_load(args: argparse.Namespace) -> int:
    from urp.information.pharmacy import PharmacyService, read_shifts

    load = PharmacyService(common.database()).load(read_shifts(args.file))
    replaced = (
        f" Sostituiti i {load.replaced} turni che c'erano per quei giorni." if load.replaced else ""
    )
    print(
        f"Caricati {load.shifts} turni per {load.days} giorni, dal {load.first:%d/%m/%Y} "
        f"al {load.last:%d/%m/%Y}.{replaced}"
    )
    return 0


def _pharmacies_list(args: argparse.Namespace) -> int:
    from urp.information.pharmacy import PharmacyService

    start = args.start or common.today(load_settings())
    end = args.end or start + timedelta(days=6)
    if end < start:
        return common.fail("--to precede --from")
    shifts = PharmacyService(common.database()).shifts_between(start, end, args.area)
    if not shifts:
        area = f" nella zona {args.area}" if args.area else ""
        print(f"Nessun turno{area} dal {start:%d/%m/%Y} al {end:%d/%m/%Y}.")
    day = None
    for shift in shifts:
        if shift.day != day:
            day = shift.day
            print(f"{day:%d/%m/%Y}")
        hours = f", {shift.hours}" if shift.hours else ""
        print(
            f"  {shift.role:<8} {shift.name}, {shift.address} ({shift.area}), "
            f"tel. {shift.phone}{hours}"
        )
    return 0


def add_parsers(commands: common.Commands) -> None:
    """``urp pharmacies``."""
    actions = common.group(commands, "pharmacies", "turni delle farmacie")
    load = actions.add_parser(
        "load", help="carica il calendario dei turni da un CSV (sostituisce i giorni del file)"
    )
    load.add_argument(
        "file", type=Path, help="CSV con data;farmacia;indirizzo;telefono;ruolo;zona;orario"
    )
    load.set_defaults(handler=_pharmacies_load)
    listing = actions.add_parser("list", help="mostra i turni di un periodo")
    listing.add_argument(
        "--from",
        dest="start",
        type=common.day,
        metavar="DATA",
        help="primo giorno (predefinito: oggi)",
    )
    listing.add_argument(
        "--to",
        dest="end",
        type=common.day,
        metavar="DATA",
        help="ultimo giorno (predefinito: 7 giorni)",
    )
    listing.add_argument("--area", metavar="ZONA", help="solo una zona o una via")
    listing.set_defaults(handler=_pharmacies_list)
