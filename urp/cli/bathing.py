"""``urp bathing load|set|list``: bathing zones and bans (:mod:`urp.information.bathing`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from urp.cli import common
from urp.core.settings import load_settings


def _bathing_load(args: argparse.Namespace) -> int:
    from urp.information.bathing import BathingService, read_zones

    report = BathingService(common.database()).load(read_zones(args.file))
    print(common.upserted(report, "Zone di balneazione", "e"))
    return 0


def _bathing_set(args: argparse.Namespace) -> int:
    from urp.core.data_files import is_web_link
    from urp.information.bathing import BathingService, UnknownZoneError

    if args.link and not is_web_link(args.link):
        return common.fail(f"--link deve essere un indirizzo web http(s)://, non {args.link!r}")
    settings = load_settings()
    service = BathingService(common.database())
    since = args.since or common.today(settings)
    try:
        zone = service.set_status(args.zone, args.status, since, args.ordinance, args.link)
    except UnknownZoneError:
        names = ", ".join(zone.name for zone in service.zones()) or "nessuna zona caricata"
        return common.fail(f"nessuna zona si chiama {args.zone!r} (zone: {names})")
    state = "vietata" if zone.banned else "consentita"
    print(f"{zone.name}: balneazione {state} dal {since:%d/%m/%Y}.")
    return 0


def _bathing_list(args: argparse.Namespace) -> int:
    from urp.information.bathing import BathingService

    zones = BathingService(common.database()).zones()
    if not zones:
        print("Nessuna zona di balneazione caricata.")
    for zone in zones:
        state = "VIETATA" if zone.banned else "consentita"
        since = f" dal {zone.since:%d/%m/%Y}" if zone.since else ""
        ordinance = f" ({zone.ordinance})" if zone.ordinance else ""
        print(f"{zone.name} [{zone.key}]: balneazione {state}{since}{ordinance}")
    return 0


def add_parsers(commands: common.Commands) -> None:
    """``urp bathing``."""
    actions = common.group(commands, "bathing", "balneazione: zone e divieti")
    load = actions.add_parser("load", help="carica o aggiorna le zone da un file YAML")
    load.add_argument("file", type=Path, help="file .yml con l'elenco zones")
    load.set_defaults(handler=_bathing_load)
    status = actions.add_parser(
        "set", help="consente (allowed) o vieta (banned) la balneazione in una zona"
    )
    status.add_argument("zone", metavar="ZONA", help="chiave, nome o sinonimo della zona")
    status.add_argument("status", choices=("allowed", "banned"), metavar="allowed|banned")
    status.add_argument(
        "--since", type=common.day, metavar="DATA", help="da quando (predefinito: oggi)"
    )
    status.add_argument("--ordinance", metavar="RIF", help="«Ordinanza n. 123/2026»")
    status.add_argument("--link", metavar="URL", help="indirizzo web dell'ordinanza")
    status.set_defaults(handler=_bathing_set)
    listing = actions.add_parser("list", help="stato di ogni zona")
    listing.set_defaults(handler=_bathing_list)
