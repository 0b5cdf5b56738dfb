"""``urp broadcasts ...`` and ``urp memo publish``: sending to the subscribers.

Both start a broadcast of :mod:`urp.broadcasts` and, unless ``--queue``, send it in the
foreground with a progress bar; ``publish`` joins the ``memo`` group of
:mod:`urp.cli.memo`.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from urp.cli import common
from urp.core.settings import Settings, load_settings

if TYPE_CHECKING:
    from urp.broadcasts.service import BroadcastEstimate, BroadcastReport, BroadcastService
    from urp.core.db import Database

_KINDS = {"memo": "memo", "emergency": "emergenza"}


def _broadcast_service(database: Database) -> BroadcastService:
    from urp.broadcasts.service import BroadcastService
    from urp.core.hashing import UserHasher
    from urp.whatsapp.store import WhatsAppStore

    store = WhatsAppStore(database, UserHasher.from_environment())
    limit = load_settings().whatsapp_messaging_limit
    return BroadcastService(database, store, messaging_limit=limit)


def _number(value: int) -> str:
    """12.345: thousands as Italian operators write them."""
    return f"{value:,}".replace(",", ".")


def _when(moment: datetime | None, settings: Settings) -> str:
    return f"{moment.astimezone(settings.timezone):%d/%m/%Y %H:%M}" if moment else "-"


def _progress_line(reports: Sequence[BroadcastReport]) -> str:
    total = sum(r.total for r in reports)
    done = sum(r.done for r in reports)
    counts: dict[str, int] = {}
    for report in reports:
        for status, count in report.counts.items():
            counts[status] = counts.get(status, 0) + count
    reached = sum(counts.get(s, 0) for s in ("sent", "delivered", "read"))
    waiting = sum(r.waiting_for_limit for r in reports)
    width = 30
    filled = width * done // total if total else width
    # The rows waiting for Meta's messaging limit show as «:» after the done ones.
    waits = min(width - filled, width * waiting // total) if total else 0
    percent = 100 * done // total if total else 100
    return (
        f"[{'#' * filled}{':' * waits}{'-' * (width - filled - waits)}] {percent:3d}% "
        f"{_number(done)}/{_number(total)}: inviati {_number(reached)}, "
        f"non riusciti {_number(counts.get('failed', 0))}, "
        f"saltati {_number(counts.get('skipped', 0))}"
        + (f", in attesa del limite {_number(waiting)}" if waiting else "")
    )


def _money(settings: Settings, amount: float) -> str:
    return settings.whatsapp_prices.money(amount)


def _print_estimate(estimate: BroadcastEstimate, settings: Settings, kind: str) -> None:
    """Before publishing: who gets free-form messages, who a paid template, at what cost."""
    from urp.broadcasts.service import broadcast_template

    template = broadcast_template(settings.whatsapp_templates, kind)
    prices = settings.whatsapp_prices
    print(f"Stima prima dell'invio: {_number(estimate.recipients)} destinatari")
    lines = [
        ("dentro la finestra di 24 ore (messaggi liberi)", estimate.inside),
        ("fuori dalla finestra (un modello a testa)", estimate.outside),
        ("messaggi a pagamento", estimate.paid_messages),
    ]
    for label, value in lines:
        print(f"  {label:<48} {_number(value):>9}")
    if template is None:
        if estimate.outside:
            print(
                f"  Nessun modello nelle impostazioni (whatsapp.templates.memo): i "
                f"{_number(estimate.outside)} fuori dalla finestra non riceveranno nulla."
            )
    else:
        price = prices.money(prices.per_message(template.category), digits=4)
        print(
            f"  modello {template.name}, categoria {template.category}: "
            f"{price} a messaggio (prezzi da verificare sul listino Meta)"
        )
    print(f"  {'costo stimato':<48} {_money(settings, estimate.cost):>9}")
    if estimate.waiting_for_limit:
        print(
            f"  {_number(estimate.waiting_for_limit)} aspettano il limite di Meta "
            f"({_number(settings.whatsapp_messaging_limit or 0)} persone in 24 ore): "
            "partono da soli appena c'è posto."
        )


def _estimate(
    database: Database,
    settings: Settings,
    topics: Sequence[str],
    kind: str,
    messages: int,
    templates_each: int = 1,
) -> None:
    from urp.broadcasts.service import broadcast_template

    estimate = _broadcast_service(database).estimate(
        topics,
        template=broadcast_template(settings.whatsapp_templates, kind),
        prices=settings.whatsapp_prices,
        messages=messages,
        templates_each=templates_each,
    )
    _print_estimate(estimate, settings, kind)


def _print_report(report: BroadcastReport) -> None:
    from urp.broadcasts.service import STATUS_LABELS, broadcast_template

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
        ("saltati (cancellati o senza il tema)", counts.get("skipped", 0) - report.skipped_by_meta),
        ("saltati da Meta (limite al marketing)", report.skipped_by_meta),
        ("ancora da inviare", counts.get("pending", 0) + counts.get("sending", 0)),
        ("  in attesa del limite di Meta", report.waiting_for_limit),
    ]
    for label, value in lines:
        print(f"  {label:<38} {_number(value):>9}")
    for failure in report.failures:
        code = f" (codice {failure.code})" if failure.code else ""
        print(f"    {_number(failure.count):>7}  {failure.reason}{code}")
    template = broadcast_template(settings.whatsapp_templates, report.kind)
    category = template.category if template is not None else "marketing"
    cost = report.paid_messages * settings.whatsapp_prices.per_message(category)
    print(
        f"  {'messaggi a pagamento (modelli)':<38} {_number(report.paid_messages):>9}"
        f"  categoria {category}, circa {_money(settings, cost)}"
    )
    if report.waiting_for_limit and report.resumes_at:
        print(
            f"  {_number(report.waiting_for_limit)} in attesa del limite di Meta: ripartono il "
            f"{_when(report.resumes_at, settings)}, fine prevista il "
            f"{_when(report.finishes_at or report.resumes_at, settings)}"
        )
    if report.status == "paused":
        code = f" (codice {report.paused_code})" if report.paused_code else ""
        print(
            f"  SOSPESO il {_when(report.paused_at, settings)} per un errore di Meta{code}: "
            f"{report.paused_reason}\n  Risolvi il problema e riprendi con "
            f"`urp broadcasts resume {report.id}`."
        )


def _run_broadcasts(database: Database, settings: Settings, *, follow: bool = False) -> int:
    """Send the running broadcasts in the foreground, with a progress bar on stderr."""
    import asyncio

    from urp.broadcasts.worker import BroadcastWorker

    worker = BroadcastWorker.from_environment(database, settings)
    if worker is None:
        return common.fail(
            "WhatsApp non è configurato (WHATSAPP_ACCESS_TOKEN, "
            "WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN)"
        )
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
    from urp.broadcasts.service import memo_topics, publish_memo
    from urp.information.memo import MemoService, format_memo, read_memo

    settings = load_settings()
    memo = read_memo(args.file, settings.memo_header, settings.subscription.topics)
    database = common.database()
    topics = memo_topics(memo, settings.subscription.default_topic)
    _estimate(database, settings, topics, "memo", len(format_memo(memo)))
    if args.dry_run:
        print("Solo la stima: il memo non è stato pubblicato.")
        return 0
    job = publish_memo(
        MemoService(database),
        _broadcast_service(database),
        memo,
        today=common.today(settings),
        default_topic=settings.subscription.default_topic,
        created_by=common.operator_name(args),
        rate=args.rate,
        again=args.again,
    )
    print(f"Memo del {memo.published_on:%d/%m/%Y} pubblicato: {common.news(len(memo.items))}.")
    return _started(database, settings, args, job)


def _broadcasts_emergency(args: argparse.Namespace) -> int:
    from urp.broadcasts.service import emergency_messages

    settings = load_settings()
    if args.topic not in settings.subscription.topics:
        topics = ", ".join(settings.subscription.topics)
        return common.fail(f"tema {args.topic!r} sconosciuto (temi: {topics})")
    database = common.database()
    free_form, templates = emergency_messages(args.text)
    _estimate(database, settings, [args.topic], "emergency", len(free_form), len(templates))
    if args.dry_run:
        print("Solo la stima: l'avviso non è stato inviato.")
        return 0
    job = _broadcast_service(database).start_emergency(
        args.topic, args.text, created_by=common.operator_name(args), rate=args.rate
    )
    return _started(database, settings, args, job)


def _broadcasts_run(args: argparse.Namespace) -> int:
    return _run_broadcasts(common.database(), load_settings(), follow=args.follow)


def _broadcasts_cancel(args: argparse.Namespace) -> int:
    _broadcast_service(common.database()).cancel(args.id, by=common.operator_name(args))
    print(f"Invio {args.id} annullato: chi non l'ha ancora ricevuto non lo riceverà.")
    return 0


def _broadcasts_resume(args: argparse.Namespace) -> int:
    database = common.database()
    _broadcast_service(database).resume(args.id, by=common.operator_name(args))
    print(f"Invio {args.id} ripreso.")
    if args.queue:
        return 0
    return _run_broadcasts(database, load_settings())


def _broadcasts_show(args: argparse.Namespace) -> int:
    _print_report(_broadcast_service(common.database()).report(args.id))
    return 0


def _broadcasts_list(args: argparse.Namespace) -> int:
    from urp.broadcasts.service import STATUS_LABELS

    settings = load_settings()
    reports = _broadcast_service(common.database()).reports(args.limit)
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
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="solo la stima (destinatari dentro e fuori la finestra, costo): non invia nulla",
    )


def add_parsers(commands: common.Commands) -> None:
    """``urp memo publish`` (the ``memo`` group must exist) and ``urp broadcasts``."""
    publish = common.actions_of(commands, "memo").add_parser(
        "publish",
        help="pubblica un memo e lo invia agli iscritti dei suoi temi (con barra di avanzamento)",
    )
    publish.add_argument("file", type=Path, help="file .yml con date, header, items")
    _broadcast_options(publish)
    publish.add_argument("--again", action="store_true", help="invia di nuovo un memo già inviato")
    publish.set_defaults(handler=_memo_publish)

    actions = common.group(commands, "broadcasts", "invii agli iscritti: memo ed emergenze")
    emergency = actions.add_parser(
        "emergency", help="messaggio urgente a un tema, prima di ogni memo in corso"
    )
    emergency.add_argument("--topic", required=True, help="tema degli iscritti (emergenze...)")
    emergency.add_argument("--text", required=True, help="il testo, come arriva su WhatsApp")
    _broadcast_options(emergency)
    emergency.set_defaults(handler=_broadcasts_emergency)
    run = actions.add_parser(
        "run", help="spedisce gli invii in corso, poi esce (riprende dopo un'interruzione)"
    )
    run.add_argument("--follow", action="store_true", help="resta in attesa di nuovi invii")
    run.set_defaults(handler=_broadcasts_run)
    cancel = actions.add_parser("cancel", help="annulla un invio in corso")
    cancel.add_argument("id", type=int)
    cancel.add_argument("--operator", help="chi annulla (predefinito: l'utente del sistema)")
    cancel.set_defaults(handler=_broadcasts_cancel)
    resume = actions.add_parser("resume", help="riprende un invio annullato o sospeso")
    resume.add_argument("id", type=int)
    resume.add_argument("--operator", help="chi riprende (predefinito: l'utente del sistema)")
    resume.add_argument(
        "--queue", action="store_true", help="solo in coda: lo spedisce il worker in esecuzione"
    )
    resume.set_defaults(handler=_broadcasts_resume)
    show = actions.add_parser(
        "show", help="rapporto di un invio: inviati, consegnati, letti, non riusciti e perché"
    )
    show.add_argument("id", type=int)
    show.set_defaults(handler=_broadcasts_show)
    listing = actions.add_parser("list", help="gli ultimi invii")
    listing.add_argument("--limit", type=int, default=20, help="quanti (predefinito 20)")
    listing.set_defaults(handler=_broadcasts_list)
