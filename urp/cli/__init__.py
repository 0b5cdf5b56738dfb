"""``urp``: the command line for the URP office and for deployers."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from urp.core import log_privacy
from urp.core.errors import OperatorError
from urp.core.settings import PROJECT_ROOT, Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from urp.broadcasts.service import BroadcastReport, BroadcastService
    from urp.core.data_files import UpsertReport
    from urp.core.db import Database
    from urp.handoff.queue import Handoff, HandoffService
    from urp.information.reports import ReportService
    from urp.subscription.subscribers import SubscriberService

Handler = Callable[[argparse.Namespace], int]


def _settings_check(args: argparse.Namespace) -> int:
    settings = load_settings(args.file)
    print(f"Impostazioni valide: {settings.source}")
    for key, value in settings.facts().items():
        print(f"  {key}: {value}")
    print(f"  modalità segnalazioni: {settings.reporting_mode}")
    return 0


def _nlp_build(args: argparse.Namespace) -> int:
    from urp.nlu.spacy_pipeline import build_to_disk

    out = build_to_disk(args.gazetteers, args.out)
    print(f"Pipeline spaCy italiana scritta in {out}")
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from urp.core.db import Database, current_revision, upgrade

    database = Database.from_environment()
    upgrade(database)
    print(f"Database aggiornato alla revisione {current_revision(database)}: {database.describe()}")
    return 0


def _db_current(args: argparse.Namespace) -> int:
    from urp.core.db import Database, current_revision, head_revision

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
    from urp.core.db import Database, require_current_schema
    from urp.core.hashing import UserHasher
    from urp.subscription.subscribers import SubscriberService

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
    from urp.subscription.files import file_format, write_export

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
    from urp.subscription.files import read_import
    from urp.subscription.subscribers import SkipReason

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


# -- office data: memos, pharmacies, bathing, calls, reports ----------------------------


def _database() -> Database:
    from urp.core.db import Database, require_current_schema

    database = Database.from_environment()
    require_current_schema(database)
    return database


def _today(settings: Settings) -> date:
    return datetime.now(settings.timezone).date()


def _day(value: str) -> date:
    """An argparse type: dd/mm/yyyy or yyyy-mm-dd."""
    from urp.core.data_files import parse_day

    day = parse_day(value)
    if day is None:
        raise argparse.ArgumentTypeError(f"data non valida {value!r} (gg/mm/aaaa o aaaa-mm-gg)")
    return day


def _upserted(report: UpsertReport, what: str, ending: str) -> str:
    """ "Bandi: nuovi 2, aggiornati 0, invariati 1." (``ending``: "i" or, for "zone", "e")."""
    return (
        f"{what}: nuov{ending} {report.created}, aggiornat{ending} {report.updated}, "
        f"invariat{ending} {report.unchanged}."
    )


def _news(count: int) -> str:
    return "1 notizia" if count == 1 else f"{count} notizie"


def _memo_add(args: argparse.Namespace) -> int:
    from urp.core.data_files import Change
    from urp.information.memo import MemoService, read_memo

    settings = load_settings()
    memo = read_memo(args.file, settings.memo_header, settings.subscription.topics)
    change = MemoService(_database()).publish(memo)
    verb = {
        Change.CREATED: "aggiunto",
        Change.UPDATED: "sostituito",
        Change.UNCHANGED: "già presente, invariato",
    }[change]
    print(f"Memo del {memo.published_on:%d/%m/%Y} {verb}: {_news(len(memo.items))}.")
    return 0


def _memo_list(args: argparse.Namespace) -> int:
    from urp.information.memo import MemoService

    memos = MemoService(_database()).memos()
    if not memos:
        print("Nessun memo pubblicato.")
    for memo in memos:
        print(f"{memo.published_on:%d/%m/%Y}  {memo.header} ({_news(len(memo.items))})")
        for item in memo.items:
            print(f"  - {item.title}" + (f" [{item.topic}]" if item.topic else ""))
    return 0


def _memo_show(args: argparse.Namespace) -> int:
    from urp.information.memo import MemoService, format_memo

    settings = load_settings()
    memo = MemoService(_database()).current(_today(settings))
    if memo is None:
        print("Nessun memo pubblicato.")
        return 0
    messages = format_memo(memo)
    for number, message in enumerate(messages, start=1):
        if len(messages) > 1:
            print(f"--- messaggio {number} di {len(messages)} ---")
        print(message)
    return 0


# -- broadcasts: the memo and emergencies to subscribers ----------------------------------


def _operator_name(args: argparse.Namespace) -> str:
    return (args.operator or "").strip() or getpass.getuser()


def _broadcast_service(database: Database) -> BroadcastService:
    from urp.broadcasts.service import BroadcastService
    from urp.core.hashing import UserHasher
    from urp.whatsapp.store import WhatsAppStore

    return BroadcastService(database, WhatsAppStore(database, UserHasher.from_environment()))


def _number(value: int) -> str:
    """12.345: thousands as Italian operators write them."""
    return f"{value:,}".replace(",", ".")


def _progress_line(reports: Sequence[BroadcastReport]) -> str:
    total = sum(r.total for r in reports)
    done = sum(r.done for r in reports)
    counts: dict[str, int] = {}
    for report in reports:
        for status, count in report.counts.items():
            counts[status] = counts.get(status, 0) + count
    reached = sum(counts.get(s, 0) for s in ("sent", "delivered", "read"))
    width = 30
    filled = width * done // total if total else width
    percent = 100 * done // total if total else 100
    return (
        f"[{'#' * filled}{'-' * (width - filled)}] {percent:3d}% "
        f"{_number(done)}/{_number(total)}: inviati {_number(reached)}, "
        f"non riusciti {_number(counts.get('failed', 0))}, "
        f"saltati {_number(counts.get('skipped', 0))}"
    )


def _run_broadcasts(database: Database, settings: Settings, *, follow: bool = False) -> int:
    """Send the running broadcasts in the foreground, with a progress bar on stderr."""
    import asyncio

    from urp.broadcasts.worker import BroadcastWorker

    worker = BroadcastWorker.from_environment(database, settings)
    if worker is None:
        print(
            "Errore: WhatsApp non è configurato (WHATSAPP_ACCESS_TOKEN, "
            "WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN)",
            file=sys.stderr,
        )
        return 2
    service = _broadcast_service(database)
    seen: list[int] = []

    def progress() -> str:
        seen.extend(i for i in service.running() if i not in seen)
        return _progress_line([service.report(i) for i in seen])

    async def show_progress(stop: asyncio.Event) -> None:
        # On a terminal the bar redraws in place; in a log, one line every 10 seconds.
        every, end = (0.5, "\r") if sys.stderr.isatty() else (10.0, "\n")
        while not stop.is_set():
            print(await asyncio.to_thread(progress), end=end, file=sys.stderr, flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    async def go() -> None:
        done = asyncio.Event()
        bar = asyncio.create_task(show_progress(done))
        try:
            await worker.run(until_idle=not follow)
        finally:
            done.set()
            await bar
            await worker.close()

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        print("\nInterrotto: `urp broadcasts run` riprende da dove si è fermato.", file=sys.stderr)
        return 130
    print(progress(), file=sys.stderr)
    for broadcast_id in seen:
        _print_report(service.report(broadcast_id))
    return 0


def _started(database: Database, settings: Settings, args: argparse.Namespace, job: int) -> int:
    report = _broadcast_service(database).report(job)
    print(f"Invio {job} avviato: {_number(report.total)} destinatari.")
    if args.queue:
        print("In coda: lo spedisce il worker in esecuzione (`urp broadcasts run`).")
        return 0
    return _run_broadcasts(database, settings)


def _memo_publish(args: argparse.Namespace) -> int:
    from urp.broadcasts.service import publish_memo
    from urp.information.memo import MemoService, read_memo

    settings = load_settings()
    memo = read_memo(args.file, settings.memo_header, settings.subscription.topics)
    database = _database()
    job = publish_memo(
        MemoService(database),
        _broadcast_service(database),
        memo,
        today=_today(settings),
        default_topic=settings.subscription.default_topic,
        created_by=_operator_name(args),
        rate=args.rate,
        again=args.again,
    )
    print(f"Memo del {memo.published_on:%d/%m/%Y} pubblicato: {_news(len(memo.items))}.")
    return _started(database, settings, args, job)


def _broadcasts_emergency(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.topic not in settings.subscription.topics:
        topics = ", ".join(settings.subscription.topics)
        print(f"Errore: tema {args.topic!r} sconosciuto (temi: {topics})", file=sys.stderr)
        return 2
    database = _database()
    job = _broadcast_service(database).start_emergency(
        args.topic, args.text, created_by=_operator_name(args), rate=args.rate
    )
    return _started(database, settings, args, job)


def _broadcasts_run(args: argparse.Namespace) -> int:
    return _run_broadcasts(_database(), load_settings(), follow=args.follow)


def _broadcasts_cancel(args: argparse.Namespace) -> int:
    _broadcast_service(_database()).cancel(args.id, by=_operator_name(args))
    print(f"Invio {args.id} annullato: chi non l'ha ancora ricevuto non lo riceverà.")
    return 0


def _broadcasts_resume(args: argparse.Namespace) -> int:
    database = _database()
    _broadcast_service(database).resume(args.id, by=_operator_name(args))
    print(f"Invio {args.id} ripreso.")
    if args.queue:
        return 0
    return _run_broadcasts(database, load_settings())


_KINDS = {"memo": "memo", "emergency": "emergenza"}


def _when(moment: datetime | None, settings: Settings) -> str:
    return f"{moment.astimezone(settings.timezone):%d/%m/%Y %H:%M}" if moment else "-"


def _print_report(report: BroadcastReport) -> None:
    from urp.broadcasts.service import STATUS_LABELS

    settings = load_settings()
    counts = report.counts
    topics = ", ".join(report.topics)
    audience = f"al tema {topics}" if len(report.topics) == 1 else f"ai temi {topics}"
    print(f"\nInvio {report.id}: {_KINDS[report.kind]} {audience}, {STATUS_LABELS[report.status]}")
    ended = {"completed": "concluso", "cancelled": "annullato"}.get(report.status)
    each = "1 messaggio" if report.messages == 1 else f"{report.messages} messaggi"
    print(
        f"  pubblicato il {_when(report.created_at, settings)} da {report.created_by}"
        + (f", {ended} il {_when(report.finished_at, settings)}" if ended else "")
        + f"; {report.rate:g} messaggi al secondo, {each} a testa"
    )
    reached = sum(counts.get(s, 0) for s in ("sent", "delivered", "read"))
    lines = [
        ("destinatari", report.total),
        ("inviati", reached),
        ("  consegnati", counts.get("delivered", 0) + counts.get("read", 0)),
        ("  letti", counts.get("read", 0)),
        ("non riusciti", counts.get("failed", 0)),
        ("saltati (cancellati o senza il tema)", counts.get("skipped", 0)),
        ("ancora da inviare", counts.get("pending", 0) + counts.get("sending", 0)),
    ]
    for label, value in lines:
        print(f"  {label:<38} {_number(value):>9}")
    for failure in report.failures:
        code = f" (codice {failure.code})" if failure.code else ""
        print(f"    {_number(failure.count):>7}  {failure.reason}{code}")


def _broadcasts_show(args: argparse.Namespace) -> int:
    _print_report(_broadcast_service(_database()).report(args.id))
    return 0


def _broadcasts_list(args: argparse.Namespace) -> int:
    from urp.broadcasts.service import STATUS_LABELS

    settings = load_settings()
    reports = _broadcast_service(_database()).reports(args.limit)
    if not reports:
        print("Nessun invio.")
    for report in reports:
        reached = sum(report.counts.get(s, 0) for s in ("sent", "delivered", "read"))
        print(
            f"{report.id:>5}  {_when(report.created_at, settings)}  {_KINDS[report.kind]:<9} "
            f"{STATUS_LABELS[report.status]:<9} {','.join(report.topics):<20} "
            f"inviati {_number(reached)}/{_number(report.total)}"
        )
    return 0


def _pharmacies_load(args: argparse.Namespace) -> int:
    from urp.information.pharmacy import PharmacyService, read_shifts

    load = PharmacyService(_database()).load(read_shifts(args.file))
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

    start = args.start or _today(load_settings())
    end = args.end or start + timedelta(days=6)
    if end < start:
        print("Errore: --to precede --from", file=sys.stderr)
        return 2
    shifts = PharmacyService(_database()).shifts_between(start, end, args.area)
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


def _bathing_load(args: argparse.Namespace) -> int:
    from urp.information.bathing import BathingService, read_zones

    report = BathingService(_database()).load(read_zones(args.file))
    print(_upserted(report, "Zone di balneazione", "e"))
    return 0


def _bathing_set(args: argparse.Namespace) -> int:
    from urp.core.data_files import is_web_link
    from urp.information.bathing import BathingService, UnknownZoneError

    if args.link and not is_web_link(args.link):
        print(
            f"Errore: --link deve essere un indirizzo web http(s)://, non {args.link!r}",
            file=sys.stderr,
        )
        return 2
    settings = load_settings()
    service = BathingService(_database())
    since = args.since or _today(settings)
    try:
        zone = service.set_status(args.zone, args.status, since, args.ordinance, args.link)
    except UnknownZoneError:
        names = ", ".join(zone.name for zone in service.zones()) or "nessuna zona caricata"
        print(f"Errore: nessuna zona si chiama {args.zone!r} (zone: {names})", file=sys.stderr)
        return 2
    state = "vietata" if zone.banned else "consentita"
    print(f"{zone.name}: balneazione {state} dal {since:%d/%m/%Y}.")
    return 0


def _bathing_list(args: argparse.Namespace) -> int:
    from urp.information.bathing import BathingService

    zones = BathingService(_database()).zones()
    if not zones:
        print("Nessuna zona di balneazione caricata.")
    for zone in zones:
        state = "VIETATA" if zone.banned else "consentita"
        since = f" dal {zone.since:%d/%m/%Y}" if zone.since else ""
        ordinance = f" ({zone.ordinance})" if zone.ordinance else ""
        print(f"{zone.name} [{zone.key}]: balneazione {state}{since}{ordinance}")
    return 0


def _calls_load(args: argparse.Namespace) -> int:
    from urp.information.contributions import ContributionService, read_contributions

    report = ContributionService(_database()).load(read_contributions(args.file))
    print(_upserted(report, "Bandi", "i"))
    return 0


def _calls_list(args: argparse.Namespace) -> int:
    from urp.information.contributions import ContributionService, ContributionState

    today = _today(load_settings())
    calls = ContributionService(_database()).contributions()
    if not calls:
        print("Nessun bando caricato.")
    for call in calls:
        state = call.state(today)
        if state == ContributionState.OPEN:
            until = f" fino al {call.closes_on:%d/%m/%Y}" if call.closes_on else ""
            when = f"aperto{until}"
        elif state == ContributionState.CLOSED:
            when = f"chiuso il {call.closes_on:%d/%m/%Y}"
        elif call.opens_on:
            when = f"in arrivo, apre il {call.opens_on:%d/%m/%Y}"
        else:
            when = f"in arrivo ({call.expected})"
        print(f"{call.title} [{call.key}]: {when}")
    return 0


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

    return ReportService(_database(), settings.reporting_code_prefix, settings.timezone)


def _reports_list(args: argparse.Namespace) -> int:
    from urp.information.reports import STATUS_LABELS

    settings = load_settings()
    reports = _report_service(settings).reports(args.status)
    if not reports:
        print("Nessuna segnalazione.")
    for report in reports:
        where = report.address or report.coordinates or "senza indirizzo"
        text = (
            report.description if len(report.description) <= 70 else report.description[:69] + "…"
        )
        print(
            f"{report.code}  {report.created_at.astimezone(settings.timezone):%d/%m/%Y %H:%M}  "
            f"{STATUS_LABELS[report.status]:<14}  {where}: {text}"
        )
    return 0


def _reports_export(args: argparse.Namespace) -> int:
    from urp.information.reports import write_reports
    from urp.subscription.files import file_format

    file_format(args.file)
    if not args.file.parent.is_dir():
        print(f"Errore: la cartella {args.file.parent} non esiste", file=sys.stderr)
        return 2
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
        print(f"Errore: nessuna segnalazione con codice {args.code!r}", file=sys.stderr)
        return 2
    print(f"{report.code}: {STATUS_LABELS[report.status]}")
    return 0


# -- operators, handoffs to them, quick replies -----------------------------------------

ROLE_LABELS = {"operator": "operatore", "trainer": "addestratore", "admin": "amministratore"}
PASSWORD_VARIABLE = "URP_OPERATOR_PASSWORD"


def _new_password() -> str | None:
    """From ``URP_OPERATOR_PASSWORD`` (scripts) or typed twice: never from the command line,
    where it would stay in the shell history and in the process list."""
    if password := os.environ.get(PASSWORD_VARIABLE):
        return password
    password = getpass.getpass("Password: ")
    if getpass.getpass("Ripeti la password: ") != password:
        return None
    return password


def _operators_add(args: argparse.Namespace) -> int:
    from urp.handoff.operators import OperatorService

    password = _new_password()
    if password is None:
        print("Errore: le due password non coincidono", file=sys.stderr)
        return 2
    operator = OperatorService(_database()).add(
        args.username, args.name, password, args.role, can_publish=args.publish
    )
    print(
        f"Operatore {operator.username} ({operator.display_name}, "
        f"{ROLE_LABELS[operator.role]}) aggiunto"
        + (": può pubblicare memo ed emergenze." if operator.may_publish else ".")
    )
    return 0


def _operators_permit(args: argparse.Namespace) -> int:
    from urp.handoff.operators import OperatorService

    operator = OperatorService(_database()).set_publish(
        args.username, args.publish, by=_operator_name(args)
    )
    if operator.may_publish:
        print(f"Operatore {operator.username}: può pubblicare memo ed emergenze.")
    else:
        print(f"Operatore {operator.username}: non può pubblicare memo ed emergenze.")
    return 0


def _operators_password(args: argparse.Namespace) -> int:
    from urp.handoff.operators import OperatorService

    password = _new_password()
    if password is None:
        print("Errore: le due password non coincidono", file=sys.stderr)
        return 2
    operator = OperatorService(_database()).reset_password(
        args.username, password, by=_operator_name(args)
    )
    print(f"Nuova password per {operator.username}: le sue sessioni nella console sono chiuse.")
    return 0


def _operators_disable(args: argparse.Namespace) -> int:
    from urp.handoff.operators import OperatorService

    operator = OperatorService(_database()).disable(args.username)
    print(f"Operatore {operator.username} disattivato: non può più accedere.")
    return 0


def _operators_list(args: argparse.Namespace) -> int:
    from urp.handoff.operators import OperatorService

    timezone = load_settings().timezone
    operators = OperatorService(_database()).list()
    if not operators:
        print("Nessun operatore: aggiungine uno con `urp operators add`.")
    for operator in operators:
        state = "attivo" if operator.active else "disattivato"
        publish = "pubblica" if operator.may_publish else ""
        login = (
            f"ultimo accesso {operator.last_login_at.astimezone(timezone):%d/%m/%Y %H:%M}"
            if operator.last_login_at
            else "mai entrato"
        )
        print(
            f"{operator.username:<20} {operator.display_name:<24} "
            f"{ROLE_LABELS[operator.role]:<14} {state:<11} {publish:<9} {login}"
        )
    return 0


def _handoff_service(settings: Settings) -> HandoffService:
    from urp.handoff.queue import HandoffService

    return HandoffService(_database(), settings)


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _handoffs_stats(args: argparse.Namespace) -> int:
    settings = load_settings()
    days = _handoff_service(settings).stats(settings.timezone)
    # Counts and times only: never a conversation id (the phone number on WhatsApp).
    if args.json:
        print(json.dumps([asdict(day) for day in days], ensure_ascii=False, indent=2))
        return 0
    if not days:
        print("Nessuna conversazione passata all'URP.")
        return 0
    print(f"Conversazioni passate all'URP: {sum(day.handoffs for day in days)}")
    print("Tempi in minuti: attesa fino alla presa in carico, risoluzione fino alla chiusura.")
    print(
        f"\n{'giorno':<10} {'totale':>6} {'prese':>6} {'chiuse':>6} "
        f"{'attesa med.':>11} {'p90':>5} {'risol. med.':>11} {'p90':>5}"
    )
    for day in days:
        print(
            f"{day.day:<10} {day.handoffs:>6} {day.assigned:>6} {day.resolved:>6} "
            f"{_minutes(day.wait_median):>11} {_minutes(day.wait_p90):>5} "
            f"{_minutes(day.resolution_median):>11} {_minutes(day.resolution_p90):>5}"
        )
    return 0


def _privacy_purge(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from urp.core.hashing import UserHasher
    from urp.privacy import DataProtection, TrackerEvents, purge_all

    if args.days is not None and args.days < 1:
        print("Errore: --days vuole almeno 1 giorno di conservazione", file=sys.stderr)
        return 2
    retention = timedelta(days=args.days) if args.days else load_settings().retention
    tracker = TrackerEvents(args.tracker_store) if args.tracker_store else None
    if tracker is None and not args.store_only:
        tracker = TrackerEvents.from_environment()
    try:
        result = purge_all(
            DataProtection(_database(), UserHasher.from_environment()), tracker, retention
        )
    finally:
        if tracker is not None:
            tracker.dispose()
    print(f"Conservazione: {retention.days} giorni")
    print(f"Conversazioni con l'URP anonimizzate: {result.handoffs}")
    print(f"Segnalazioni senza più il numero: {result.reports}")
    print(f"Esiti di consegna WhatsApp cancellati: {result.deliveries}")
    print(f"Messaggi da rivedere cancellati: {result.review_items}")
    if tracker is not None:
        print(f"Eventi delle conversazioni cancellati: {result.tracker_events}")
        print(f"Conversazioni cancellate su richiesta: {result.erased_conversations}")
    return 0


def _privacy_erase(args: argparse.Namespace) -> int:
    """A citizen's erasure asked by e-mail or PEC: 0 erased, 1 nothing found, 2 error."""
    from urp.core.hashing import UserHasher
    from urp.privacy import (
        DataProtection,
        TrackerEvents,
        number_senders,
        publish_erasures,
        tracker_store_url,
    )
    from urp.subscription.files import parse_label, whatsapp_number

    operator = (args.operator or "").strip()
    if not operator:
        print("Errore: indica chi esegue la cancellazione con --operator NOME", file=sys.stderr)
        return 2
    label = number = None
    if args.label is not None:
        label = parse_label(args.label)
        if label is None:
            print("Errore: etichetta non valida (per esempio «Utente 00042» o 42)", file=sys.stderr)
            return 2
    else:
        number = whatsapp_number(args.number)
        if number is None:
            # Never repeated: it is someone's phone number.
            print("Errore: numero di telefono non valido", file=sys.stderr)
            return 2
    protection = DataProtection(_database(), UserHasher.from_environment())
    tracker = None if args.store_only else TrackerEvents(args.tracker_store or tracker_store_url())
    try:
        # Rasa's conversations first: if that fails, nothing is erased and the command
        # can simply be repeated (the label still leads to the number).
        if number is not None:
            senders = [user_id for _, user_id in number_senders(number)]
        else:
            senders = list(protection.conversations_of_label(label))
        events = tracker.erase(senders) if tracker is not None else 0
        try:
            told = publish_erasures(senders)
        except OperatorError:
            raise
        except Exception as error:  # aio_pika's errors have no common base: say it plainly
            print(
                f"Errore: RabbitMQ non raggiungibile ({type(error).__name__}): nessun dato è "
                "stato cancellato dal database, ripeti il comando",
                file=sys.stderr,
            )
            return 2
        if number is not None:
            result = protection.erase_number(number, operator=operator, reference=args.reference)
        else:
            result = protection.erase_label(label, operator=operator, reference=args.reference)
    finally:
        if tracker is not None:
            tracker.dispose()
    what = "questo numero" if number is not None else "questa etichetta"
    if result is None or not (result.anything or events):
        print(f"Nessun dato trovato per {what}: la richiesta è registrata a nome di {operator}.")
        return 1
    print(f"Cancellazione eseguita a nome di {operator}, registrata nel registro delle operazioni.")
    print(f"Iscrizione cancellata: {'sì' if result.subscription else 'no'}")
    print(f"Conversazioni con l'URP rese anonime: {result.handoffs}")
    print(f"Segnalazioni senza più il numero: {result.reports}")
    if tracker is not None:
        print(f"Eventi delle conversazioni con l'assistente cancellati: {events}")
    if told:
        print("Avvisato chi riceve gli eventi da RabbitMQ (urp_conversation_erased).")
    if not result.number_known:
        print(
            "L'iscritto aveva già lasciato il servizio e il suo numero non era più conservato: "
            "cancellati etichetta, date e consensi. Se la richiesta indica il numero, ripeti "
            "con --number per cancellare anche chat e segnalazioni."
        )
    return 0


def _handoffs_sweep(args: argparse.Namespace) -> int:
    from urp.handoff.chat import HandoffChat
    from urp.handoff.rasa_api import RasaConversations

    try:
        conversations = RasaConversations.from_environment()
    except ValueError:
        print(
            "Errore: per avvisare i cittadini serve il segreto dell'API di Rasa (RASA_JWT_SECRET)",
            file=sys.stderr,
        )
        return 2
    chat = HandoffChat(_handoff_service(load_settings()), conversations)
    result = chat.sweep()
    redelivered = chat.redeliver()

    def ids(handoffs: Sequence[Handoff]) -> str:
        return f" (conversazioni {', '.join(str(h.id) for h in handoffs)})" if handoffs else ""

    print(f"Cittadini avvisati di nuovo dell'attesa: {len(result.remind)}{ids(result.remind)}")
    print(
        f"Conversazioni rimesse in coda perché inattive: {len(result.released)}"
        f"{ids(result.released)}"
    )
    if result.resolved:
        print(f"Conversazioni chiuse perché inattive: {len(result.resolved)}{ids(result.resolved)}")
    print(f"Risposte degli operatori rimandate: {redelivered}")
    return 0


def _quick_replies_load(args: argparse.Namespace) -> int:
    from urp.handoff.quick_replies import QuickReplyService, read_quick_replies

    load = QuickReplyService(_database()).load(read_quick_replies(args.file))
    print(
        f"Risposte rapide: nuove {load.created}, aggiornate {load.updated}, "
        f"invariate {load.unchanged}, tolte {load.removed}."
    )
    return 0


def _quick_replies_list(args: argparse.Namespace) -> int:
    from urp.handoff.quick_replies import QuickReplyService

    replies = QuickReplyService(_database()).list()
    if not replies:
        print("Nessuna risposta rapida: caricale con `urp quick-replies load FILE`.")
    for number, reply in enumerate(replies, start=1):
        text = reply.text if len(reply.text) <= 70 else reply.text[:69] + "…"
        print(f"{number}. {reply.title}: {text}")
    return 0


def _console_serve(args: argparse.Namespace) -> int:
    logging.getLogger().setLevel(logging.INFO)  # who connects and what fails, for the office
    from urp.console.server import serve

    serve(args.host, args.port)
    return 0


def _widget_serve(args: argparse.Namespace) -> int:
    from urp.widget.server import serve

    serve(args.host, args.port)
    return 0


def _data_load_examples(args: argparse.Namespace) -> int:
    from urp.examples import load_examples
    from urp.information.memo import MemoService

    settings = load_settings()
    if settings.example_data is None:
        print(f"Nessun dato d'esempio indicato in {settings.source} (example_data).")
        return 0
    database = _database()
    if args.if_empty and MemoService(database).current() is not None:
        print("Il database contiene già un memo: dati d'esempio non caricati.")
        return 0
    load = load_examples(database, settings, settings.example_data)
    print(
        f"Dati d'esempio caricati da {load.folder}: {load.memos} memo, {load.shifts} turni "
        f"di farmacia, {load.zones} zone di balneazione, {load.calls} bandi, "
        f"{load.quick_replies} risposte rapide."
    )
    return 0


def _broadcast_options(parser: argparse.ArgumentParser) -> None:
    from urp.broadcasts.service import DEFAULT_RATE

    parser.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        help=f"messaggi al secondo (predefinito {DEFAULT_RATE:g})",
    )
    parser.add_argument("--operator", help="chi invia (predefinito: l'utente del sistema)")
    parser.add_argument(
        "--queue", action="store_true", help="solo in coda: lo spedisce il worker in esecuzione"
    )


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

    memo = commands.add_parser("memo", help="memo settimanale dell'ufficio")
    memo_commands = memo.add_subparsers(dest="action", required=True, metavar="AZIONE")
    memo_add = memo_commands.add_parser(
        "add", help="pubblica un memo da un file YAML (stessa data: lo sostituisce)"
    )
    memo_add.add_argument("file", type=Path, help="file .yml con date, header, items")
    memo_add.set_defaults(handler=_memo_add)
    memo_list = memo_commands.add_parser("list", help="elenca i memo pubblicati")
    memo_list.set_defaults(handler=_memo_list)
    memo_show = memo_commands.add_parser(
        "show", help="mostra il memo in corso come arriva su WhatsApp"
    )
    memo_show.set_defaults(handler=_memo_show)
    memo_publish = memo_commands.add_parser(
        "publish",
        help="pubblica un memo e lo invia agli iscritti dei suoi temi (con barra di avanzamento)",
    )
    memo_publish.add_argument("file", type=Path, help="file .yml con date, header, items")
    _broadcast_options(memo_publish)
    memo_publish.add_argument(
        "--again", action="store_true", help="invia di nuovo un memo già inviato"
    )
    memo_publish.set_defaults(handler=_memo_publish)

    broadcasts = commands.add_parser("broadcasts", help="invii agli iscritti: memo ed emergenze")
    broadcast_commands = broadcasts.add_subparsers(dest="action", required=True, metavar="AZIONE")
    emergency = broadcast_commands.add_parser(
        "emergency", help="messaggio urgente a un tema, prima di ogni memo in corso"
    )
    emergency.add_argument("--topic", required=True, help="tema degli iscritti (emergenze...)")
    emergency.add_argument("--text", required=True, help="il testo, come arriva su WhatsApp")
    _broadcast_options(emergency)
    emergency.set_defaults(handler=_broadcasts_emergency)
    broadcasts_run = broadcast_commands.add_parser(
        "run", help="spedisce gli invii in corso, poi esce (riprende dopo un'interruzione)"
    )
    broadcasts_run.add_argument(
        "--follow", action="store_true", help="resta in attesa di nuovi invii"
    )
    broadcasts_run.set_defaults(handler=_broadcasts_run)
    broadcasts_cancel = broadcast_commands.add_parser("cancel", help="annulla un invio in corso")
    broadcasts_cancel.add_argument("id", type=int)
    broadcasts_cancel.add_argument(
        "--operator", help="chi annulla (predefinito: l'utente del sistema)"
    )
    broadcasts_cancel.set_defaults(handler=_broadcasts_cancel)
    broadcasts_resume = broadcast_commands.add_parser("resume", help="riprende un invio annullato")
    broadcasts_resume.add_argument("id", type=int)
    broadcasts_resume.add_argument(
        "--operator", help="chi riprende (predefinito: l'utente del sistema)"
    )
    broadcasts_resume.add_argument(
        "--queue", action="store_true", help="solo in coda: lo spedisce il worker in esecuzione"
    )
    broadcasts_resume.set_defaults(handler=_broadcasts_resume)
    broadcasts_show = broadcast_commands.add_parser(
        "show", help="rapporto di un invio: inviati, consegnati, letti, non riusciti e perché"
    )
    broadcasts_show.add_argument("id", type=int)
    broadcasts_show.set_defaults(handler=_broadcasts_show)
    broadcasts_list = broadcast_commands.add_parser("list", help="gli ultimi invii")
    broadcasts_list.add_argument("--limit", type=int, default=20, help="quanti (predefinito 20)")
    broadcasts_list.set_defaults(handler=_broadcasts_list)

    pharmacies = commands.add_parser("pharmacies", help="turni delle farmacie")
    pharmacy_commands = pharmacies.add_subparsers(dest="action", required=True, metavar="AZIONE")
    pharmacies_load = pharmacy_commands.add_parser(
        "load", help="carica il calendario dei turni da un CSV (sostituisce i giorni del file)"
    )
    pharmacies_load.add_argument(
        "file", type=Path, help="CSV con data;farmacia;indirizzo;telefono;ruolo;zona;orario"
    )
    pharmacies_load.set_defaults(handler=_pharmacies_load)
    pharmacies_list = pharmacy_commands.add_parser("list", help="mostra i turni di un periodo")
    pharmacies_list.add_argument(
        "--from", dest="start", type=_day, metavar="DATA", help="primo giorno (predefinito: oggi)"
    )
    pharmacies_list.add_argument(
        "--to", dest="end", type=_day, metavar="DATA", help="ultimo giorno (predefinito: 7 giorni)"
    )
    pharmacies_list.add_argument("--area", metavar="ZONA", help="solo una zona o una via")
    pharmacies_list.set_defaults(handler=_pharmacies_list)

    bathing = commands.add_parser("bathing", help="balneazione: zone e divieti")
    bathing_commands = bathing.add_subparsers(dest="action", required=True, metavar="AZIONE")
    bathing_load = bathing_commands.add_parser(
        "load", help="carica o aggiorna le zone da un file YAML"
    )
    bathing_load.add_argument("file", type=Path, help="file .yml con l'elenco zones")
    bathing_load.set_defaults(handler=_bathing_load)
    bathing_set = bathing_commands.add_parser(
        "set", help="consente (allowed) o vieta (banned) la balneazione in una zona"
    )
    bathing_set.add_argument("zone", metavar="ZONA", help="chiave, nome o sinonimo della zona")
    bathing_set.add_argument("status", choices=("allowed", "banned"), metavar="allowed|banned")
    bathing_set.add_argument(
        "--since", type=_day, metavar="DATA", help="da quando (predefinito: oggi)"
    )
    bathing_set.add_argument("--ordinance", metavar="RIF", help="«Ordinanza n. 123/2026»")
    bathing_set.add_argument("--link", metavar="URL", help="indirizzo web dell'ordinanza")
    bathing_set.set_defaults(handler=_bathing_set)
    bathing_list = bathing_commands.add_parser("list", help="stato di ogni zona")
    bathing_list.set_defaults(handler=_bathing_list)

    calls = commands.add_parser("calls", help="bandi e contributi")
    call_commands = calls.add_subparsers(dest="action", required=True, metavar="AZIONE")
    calls_load = call_commands.add_parser("load", help="carica o aggiorna i bandi da un file YAML")
    calls_load.add_argument("file", type=Path, help="file .yml con l'elenco calls")
    calls_load.set_defaults(handler=_calls_load)
    calls_list = call_commands.add_parser("list", help="i bandi, aperti, in arrivo o chiusi")
    calls_list.set_defaults(handler=_calls_list)

    reports = commands.add_parser("reports", help="segnalazioni raccolte in chat")
    report_commands = reports.add_subparsers(dest="action", required=True, metavar="AZIONE")
    status_help = "nuova, in-lavorazione o chiusa"
    reports_list = report_commands.add_parser("list", help="elenca le segnalazioni")
    reports_list.add_argument("--status", type=_report_status, metavar="STATO", help=status_help)
    reports_list.set_defaults(handler=_reports_list)
    reports_export = report_commands.add_parser(
        "export", help="esporta le segnalazioni in .csv o .xlsx (senza numeri di telefono)"
    )
    reports_export.add_argument("file", type=Path, help="file da scrivere (.csv o .xlsx)")
    reports_export.add_argument("--status", type=_report_status, metavar="STATO", help=status_help)
    reports_export.set_defaults(handler=_reports_export)
    reports_status = report_commands.add_parser(
        "status", help="cambia lo stato di una segnalazione"
    )
    reports_status.add_argument("code", metavar="CODICE", help="per esempio SEG-2026-000123")
    reports_status.add_argument("status", type=_report_status, metavar="STATO", help=status_help)
    reports_status.set_defaults(handler=_reports_set_status)

    operators = commands.add_parser("operators", help="account degli operatori dell'URP")
    operator_commands = operators.add_subparsers(dest="action", required=True, metavar="AZIONE")
    operators_add = operator_commands.add_parser(
        "add", help=f"aggiunge un operatore (password chiesta a terminale o da {PASSWORD_VARIABLE})"
    )
    operators_add.add_argument("username", metavar="UTENTE", help="minuscole, cifre, . _ -")
    operators_add.add_argument("--name", required=True, metavar="NOME", help="«Mario Rossi»")
    operators_add.add_argument(
        "--role", choices=tuple(ROLE_LABELS), default="operator", help="predefinito: operator"
    )
    operators_add.add_argument(
        "--publish", action="store_true", help="può pubblicare memo ed emergenze agli iscritti"
    )
    operators_add.set_defaults(handler=_operators_add)
    operators_permit = operator_commands.add_parser(
        "permit", help="concede (--publish) o toglie (--no-publish) il permesso di pubblicare"
    )
    operators_permit.add_argument("username", metavar="UTENTE")
    operators_permit.add_argument(
        "--publish",
        action=argparse.BooleanOptionalAction,
        required=True,
        help="pubblicare memo ed emergenze a tutti gli iscritti",
    )
    operators_permit.add_argument(
        "--operator", help="chi decide (predefinito: l'utente del sistema)"
    )
    operators_permit.set_defaults(handler=_operators_permit)
    operators_password = operator_commands.add_parser(
        "password",
        help=f"nuova password (a terminale o da {PASSWORD_VARIABLE}); chiude le sue sessioni",
    )
    operators_password.add_argument("username", metavar="UTENTE")
    operators_password.add_argument(
        "--operator", help="chi la cambia (predefinito: l'utente del sistema)"
    )
    operators_password.set_defaults(handler=_operators_password)
    operators_disable = operator_commands.add_parser(
        "disable", help="disattiva un operatore (lo storico resta)"
    )
    operators_disable.add_argument("username", metavar="UTENTE")
    operators_disable.set_defaults(handler=_operators_disable)
    operators_list = operator_commands.add_parser("list", help="elenca gli operatori")
    operators_list.set_defaults(handler=_operators_list)

    handoffs = commands.add_parser("handoffs", help="conversazioni passate agli operatori")
    handoff_commands = handoffs.add_subparsers(dest="action", required=True, metavar="AZIONE")
    handoffs_stats = handoff_commands.add_parser(
        "stats", help="conversazioni, attesa e tempi di risoluzione per giorno"
    )
    handoffs_stats.add_argument("--json", action="store_true", help="stampa in formato JSON")
    handoffs_stats.set_defaults(handler=_handoffs_stats)
    handoffs_sweep = handoff_commands.add_parser(
        "sweep",
        help="avvisa chi aspetta, rimette in coda le chat inattive, rimanda le risposte "
        "non consegnate",
    )
    handoffs_sweep.set_defaults(handler=_handoffs_sweep)

    privacy = commands.add_parser("privacy", help="protezione dei dati personali")
    privacy_commands = privacy.add_subparsers(dest="action", required=True, metavar="AZIONE")
    privacy_purge = privacy_commands.add_parser(
        "purge",
        help="cancella i dati più vecchi del periodo di conservazione e le conversazioni "
        "di chi ha chiesto la cancellazione",
    )
    privacy_purge.add_argument(
        "--days", type=int, help="giorni di conservazione (predefinito: privacy.retention_days)"
    )
    privacy_purge.add_argument(
        "--tracker-store",
        metavar="URL",
        help="URL SQLAlchemy del tracker store di Rasa (predefinito: URP_TRACKER_STORE_URL, "
        "altrimenti il file SQLite URP_TRACKER_DB)",
    )
    privacy_purge.add_argument(
        "--store-only", action="store_true", help="solo il database del progetto, non Rasa"
    )
    privacy_purge.set_defaults(handler=_privacy_purge)
    privacy_erase = privacy_commands.add_parser(
        "erase",
        help="cancella i dati di un cittadino che lo chiede per e-mail o PEC (registrato)",
    )
    erase_whom = privacy_erase.add_mutually_exclusive_group(required=True)
    erase_whom.add_argument("--label", metavar="ETICHETTA", help="etichetta dell'iscritto")
    erase_whom.add_argument("--number", metavar="NUMERO", help="numero di telefono (WhatsApp)")
    privacy_erase.add_argument(
        "--operator", metavar="NOME", help="chi esegue la cancellazione (obbligatorio)"
    )
    privacy_erase.add_argument(
        "--reference", default="", metavar="PROTOCOLLO", help="protocollo della richiesta"
    )
    privacy_erase.add_argument(
        "--tracker-store",
        metavar="URL",
        help="URL SQLAlchemy del tracker store di Rasa (predefinito come per purge)",
    )
    privacy_erase.add_argument(
        "--store-only", action="store_true", help="solo il database del progetto, non Rasa"
    )
    privacy_erase.set_defaults(handler=_privacy_erase)

    quick_replies = commands.add_parser("quick-replies", help="risposte rapide degli operatori")
    quick_commands = quick_replies.add_subparsers(dest="action", required=True, metavar="AZIONE")
    quick_load = quick_commands.add_parser(
        "load", help="rende le risposte rapide uguali a quelle di un file YAML"
    )
    quick_load.add_argument("file", type=Path, help="file .yml con l'elenco quick_replies")
    quick_load.set_defaults(handler=_quick_replies_load)
    quick_list = quick_commands.add_parser("list", help="elenca le risposte rapide")
    quick_list.set_defaults(handler=_quick_replies_list)

    console = commands.add_parser("console", help="console web degli operatori")
    console_commands = console.add_subparsers(dest="action", required=True, metavar="AZIONE")
    console_serve = console_commands.add_parser(
        "serve", help="avvia la console (URP_CONSOLE_HOST, URP_CONSOLE_PORT)"
    )
    console_serve.add_argument("--host", help="indirizzo di ascolto (predefinito 127.0.0.1)")
    console_serve.add_argument("--port", type=int, help="porta (predefinita 5080)")
    console_serve.set_defaults(handler=_console_serve)

    widget = commands.add_parser("widget", help="chat del sito: widget e pagina di prova")
    widget_commands = widget.add_subparsers(dest="action", required=True, metavar="AZIONE")
    widget_serve = widget_commands.add_parser(
        "serve",
        help="serve il widget e la pagina di prova (URP_WIDGET_HOST, URP_WIDGET_PORT, "
        "URP_WIDGET_RASA_URL)",
    )
    widget_serve.add_argument("--host", help="indirizzo di ascolto (predefinito 127.0.0.1)")
    widget_serve.add_argument("--port", type=int, help="porta (predefinita 5090)")
    widget_serve.set_defaults(handler=_widget_serve)

    data = commands.add_parser("data", help="dati dell'ufficio")
    data_commands = data.add_subparsers(dest="action", required=True, metavar="AZIONE")
    load_examples = data_commands.add_parser(
        "load-examples", help="carica i dati d'esempio indicati nelle impostazioni (example_data)"
    )
    load_examples.add_argument(
        "--if-empty", action="store_true", help="solo se il database non ha ancora nessun memo"
    )
    load_examples.set_defaults(handler=_data_load_examples)

    from urp.review.commands import add_parsers as add_review_parsers

    add_review_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    log_privacy.install()
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
