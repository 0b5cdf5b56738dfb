"""The trainers' pages: the review inbox, labelling, and its export.

Trainers (and admins) see single citizens' messages the bot was unsure of, masked, never
a conversation: the chats stay for operators. A decision goes through the same calls as
``urp review label`` and ``urp review discard`` (:class:`urp.review.store.ReviewStore`),
so the example is checked against duplicates and contradictions in the same way.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

from urp.console.access import ConsoleSession
from urp.console.shell import Shell
from urp.review.export import to_nlu_yaml
from urp.review.inbox import InboxGroup, group
from urp.review.store import OUT_OF_SCOPE_INTENT, ReviewStateError, ReviewStore
from urp.review.training import ExampleRefusedError, TrainingData

TRAINING_ROLES = ("trainer", "admin")
INBOX_PAGE = 200
ADD = "aggiungi"
OUT_OF_SCOPE = "fuori_ambito"
DISCARD = "scarta"
# What each intent means, for trainers who are not programmers (the product contract).
INTENT_MEANINGS = {
    "subscribe": "vuole iscriversi agli avvisi",
    "unsubscribe": "vuole cancellarsi dagli avvisi",
    "ask_subscription_status": "chiede se è iscritto",
    "ask_opening_hours": "orari di apertura di un ufficio o servizio",
    "ask_pharmacy_shift": "farmacie di turno",
    "ask_bathing_status": "balneazione: si può fare il bagno?",
    "ask_contributions": "contributi, bonus, bandi, borse di studio",
    "report_problem": "segnala un problema in città",
    "ask_latest_memo": "ultime notizie, memo, eventi",
    "request_operator": "vuole parlare con una persona",
    "book_appointment": "vuole un appuntamento",
    "wrong_contact": "ha sbagliato chat",
    "abuse": "insulti, linguaggio offensivo",
    "ask_privacy_policy": "privacy, chi vede il numero",
    "erase_my_data": "vuole cancellare i suoi dati",
    "choose_faq": "ha scelto una risposta suggerita («Forse cerchi:»)",
    "bot_challenge": "chiede se è un bot",
    "greet": "saluto iniziale",
    "goodbye": "saluto finale",
    "thank": "ringraziamento o complimento",
    "affirm": "sì, conferma",
    "deny": "no, rifiuto",
    "follow_up": "prosegue la domanda precedente",
    "back_to_bot": "vuole tornare all'assistente",
    "out_of_scope": "fuori dai servizi dell'URP",
}


@dataclass(frozen=True)
class IntentChoice:
    name: str
    label: str


class TrainingPages:
    """Handlers of ``/formazione``."""

    def __init__(self, shell: Shell, review: ReviewStore, training: TrainingData) -> None:
        self.shell = shell
        self.review = review
        self.training = training

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/formazione", self.inbox_page)
        app.router.add_get("/formazione/esporta", self.export)
        app.router.add_post("/formazione/{id:\\d+}", self.decide)

    async def require(self, request: web.Request) -> ConsoleSession:
        session = await self.shell.require(request, chats=False)
        if session.operator.role not in TRAINING_ROLES:
            raise web.HTTPForbidden()
        return session

    def choices(self) -> list[IntentChoice]:
        return [
            IntentChoice(
                name, f"{name} ({INTENT_MEANINGS[name]})" if name in INTENT_MEANINGS else name
            )
            for name in self.training.intents()
        ]

    def groups(self) -> tuple[list[InboxGroup], dict[str, int]]:
        return group(self.review.open_items(INBOX_PAGE)), self.review.counts()

    async def inbox_page(self, request: web.Request) -> web.StreamResponse:
        session = await self.require(request)
        groups, counts = await asyncio.to_thread(self.groups)
        choices = await asyncio.to_thread(self.choices)
        return self.shell.with_flash(
            request,
            session,
            "training.html",
            groups=groups,
            counts=counts,
            intents=choices,
            add=ADD,
            out_of_scope=OUT_OF_SCOPE,
            discard=DISCARD,
        )

    async def export(self, request: web.Request) -> web.StreamResponse:
        await self.require(request)
        items = await asyncio.to_thread(self.review.open_items, INBOX_PAGE)
        return web.Response(
            text=to_nlu_yaml(items),
            content_type="application/x-yaml",
            headers={
                "Content-Disposition": 'attachment; filename="da-rivedere.yml"',
                "Cache-Control": "no-store",
            },
        )

    async def decide(self, request: web.Request) -> web.StreamResponse:
        session = await self.require(request)
        item_id = int(request.match_info["id"])
        form = await request.post()
        action = str(form.get("azione") or "")
        text = " ".join(str(form.get("testo") or "").split())
        intent = OUT_OF_SCOPE_INTENT if action == OUT_OF_SCOPE else str(form.get("intent") or "")
        username = session.operator.username
        here = "/formazione"
        if action in (ADD, OUT_OF_SCOPE) and "testo" in form and not text:
            # An emptied box is a trainer's mistake, not a request for the original text:
            # the store falls back to it only when no text was sent at all (the CLI).
            raise self.shell.redirect(
                f"{here}#messaggio-{item_id}",
                session,
                "danger",
                "Esempio non aggiunto: il testo è vuoto. Scrivi il testo dell'esempio,"
                " oppure scarta il messaggio.",
            )
        try:
            if action == DISCARD:
                await asyncio.to_thread(self.review.discard, item_id, username)
                raise self.shell.redirect(here, session, "success", "Messaggio scartato.")
            if action not in (ADD, OUT_OF_SCOPE):
                raise web.HTTPBadRequest()
            added = await asyncio.to_thread(
                self.review.label, item_id, intent, username, self.training, text
            )
        except ExampleRefusedError as error:
            raise self.shell.redirect(
                f"{here}#messaggio-{item_id}", session, "danger", f"Esempio non aggiunto. {error}"
            ) from error
        except ReviewStateError as error:
            raise self.shell.redirect(here, session, "warning", str(error)) from error
        raise self.shell.redirect(
            here,
            session,
            "success",
            f"Aggiunto come esempio di {added.intent} in data/nlu/{added.path.name}. Quando hai"
            " finito, fai addestrare e controllare il modello (make train, make eval-nlu).",
        )
