"""``urp privacy purge|erase``: retention and a citizen's erasure (:mod:`urp.privacy`).

Both reach Rasa's tracker store too, unless ``--store-only``.
"""

from __future__ import annotations

import argparse
from datetime import timedelta

from urp.cli import common
from urp.core.errors import OperatorError
from urp.core.settings import load_settings


def _privacy_purge(args: argparse.Namespace) -> int:
    from urp.core.hashing import UserHasher
    from urp.privacy import PrivacyService, TrackerEvents, purge_all

    if args.days is not None and args.days < 1:
        return common.fail("--days vuole almeno 1 giorno di conservazione")
    retention = timedelta(days=args.days) if args.days else load_settings().retention
    tracker = TrackerEvents(args.tracker_store) if args.tracker_store else None
    if tracker is None and not args.store_only:
        tracker = TrackerEvents.from_environment()
    try:
        result = purge_all(
            PrivacyService(common.database(), UserHasher.from_environment()), tracker, retention
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
        PrivacyService,
        TrackerEvents,
        number_senders,
        publish_erasures,
        tracker_store_url,
    )
    from urp.subscription.files import parse_label, whatsapp_number

    operator = (args.operator or "").strip()
    if not operator:
        return common.fail("indica chi esegue la cancellazione con --operator NOME")
    label = number = None
    if args.label is not None:
        label = parse_label(args.label)
        if label is None:
            return common.fail("etichetta non valida (per esempio «Utente 00042» o 42)")
    else:
        number = whatsapp_number(args.number)
        if number is None:
            # Never repeated: it is someone's phone number.
            return common.fail("numero di telefono non valido")
    protection = PrivacyService(common.database(), UserHasher.from_environment())
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
            return common.fail(
                f"RabbitMQ non raggiungibile ({type(error).__name__}): nessun dato è "
                "stato cancellato dal database, ripeti il comando"
            )
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


def add_parsers(commands: common.Commands) -> None:
    """``urp privacy``."""
    actions = common.group(commands, "privacy", "protezione dei dati personali")
    purge = actions.add_parser(
        "purge",
        help="cancella i dati più vecchi del periodo di conservazione e le conversazioni "
        "di chi ha chiesto la cancellazione",
    )
    purge.add_argument(
        "--days", type=int, help="giorni di conservazione (predefinito: privacy.retention_days)"
    )
    purge.add_argument(
        "--tracker-store",
        metavar="URL",
        help="URL SQLAlchemy del tracker store di Rasa (predefinito: URP_TRACKER_STORE_URL, "
        "altrimenti il file SQLite URP_TRACKER_DB)",
    )
    purge.add_argument(
        "--store-only", action="store_true", help="solo il database del progetto, non Rasa"
    )
    purge.set_defaults(handler=_privacy_purge)
    erase = actions.add_parser(
        "erase",
        help="cancella i dati di un cittadino che lo chiede per e-mail o PEC (registrato)",
    )
    whom = erase.add_mutually_exclusive_group(required=True)
    whom.add_argument("--label", metavar="ETICHETTA", help="etichetta dell'iscritto")
    whom.add_argument("--number", metavar="NUMERO", help="numero di telefono (WhatsApp)")
    erase.add_argument(
        "--operator", metavar="NOME", help="chi esegue la cancellazione (obbligatorio)"
    )
    erase.add_argument(
        "--reference", default="", metavar="PROTOCOLLO", help="protocollo della richiesta"
    )
    erase.add_argument(
        "--tracker-store",
        metavar="URL",
        help="URL SQLAlchemy del tracker store di Rasa (predefinito come per purge)",
    )
    erase.add_argument(
        "--store-only", action="store_true", help="solo il database del progetto, non Rasa"
    )
    erase.set_defaults(handler=_privacy_erase)
