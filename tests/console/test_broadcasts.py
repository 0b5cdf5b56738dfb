"""The console's broadcast pages: compose with a preview, publish, emergencies, follow."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from tests.console.harness import PASSWORD, Browser, World, console_world
from tests.simulators.graph_api import GraphApiSimulator
from tests.store.broadcasts import per_recipient, simulator, subscribe, worker
from tests.store.conftest import SALT, raw_rows
from urp.core.clock import utc_now
from urp.core.db import Database
from urp.core.hashing import UserHasher
from urp.core.settings import Settings
from urp.information.memo import Memo, MemoItem, format_memo
from urp.subscription.subscribers import SubscriberService

ITEM = {
    "item-1-title": "Scuole chiuse",
    "item-1-text": "Domani le scuole restano chiuse per l'allerta meteo.",
    "item-1-link": "https://comune.example.it/scuole",
    "item-1-topic": "",
}


def today(settings: Settings) -> str:
    return f"{utc_now().astimezone(settings.timezone).date():%d/%m/%Y}"


def subscribers(world: World, settings: Settings, count: int, *topics: str) -> list[str]:
    service = SubscriberService(world.database, settings.subscription, UserHasher(SALT.encode()))
    return subscribe(service, count, *topics)


def post(browser: Browser, path: str, **fields: str) -> requests.Response:
    return browser.submit(path, "/broadcasts/new", **fields)


def test_the_preview_shows_format_memos_messages_as_bubbles(
    world: World, settings: Settings
) -> None:
    subscribers(world, settings, 3, "memo")
    browser = world.logged_in("mario.rossi")
    answer = post(browser, "/broadcasts/preview", date=today(settings), **ITEM).json()
    day = utc_now().astimezone(settings.timezone).date()
    expected = format_memo(
        Memo(
            day,
            settings.memo_header,
            (MemoItem("SCUOLE CHIUSE", ITEM["item-1-text"], ITEM["item-1-link"]),),
        )
    )
    assert len(answer["bubbles"]) == len(expected)
    assert answer["bubbles"][0].startswith(f"<strong>{settings.memo_header}</strong><br>")
    assert "<strong>SCUOLE CHIUSE</strong>" in answer["bubbles"][0]
    assert "l&#39;allerta" in answer["bubbles"][0]
    assert answer["recipients"] == 3 and answer["problems"] == []

    broken = post(browser, "/broadcasts/preview", date="31/02/2025", **{"item-1-title": "X"})
    assert broken.json()["bubbles"] == []
    assert "Indica la data del memo (gg/mm/aaaa)." in broken.json()["problems"]
    assert "Notizia 1: manca il testo e il link." in broken.json()["problems"]


def test_publishing_creates_the_job_for_the_subscribers(world: World, settings: Settings) -> None:
    subscribers(world, settings, 4, "memo")
    browser = world.logged_in("mario.rossi")
    page = browser.page("/broadcasts/new")
    assert "Pubblica e invia" in page.text and "richiede la configurazione di WhatsApp" in page.text
    done = post(browser, "/broadcasts/memo", date=today(settings), **ITEM)
    (job,) = raw_rows(world.database, "broadcasts")
    assert done.url == browser.url(f"/broadcasts/{job['id']}")
    assert "pubblicato: invio a 4 iscritti." in done.text
    assert job["created_by"] == "mario.rossi" and job["kind"] == "memo"
    assert len(raw_rows(world.database, "broadcast_recipients")) == 4
    assert "39333" not in done.text  # never a phone number

    again = post(browser, "/broadcasts/memo", date=today(settings), **ITEM)
    assert "è già stato inviato" in again.text
    assert len(raw_rows(world.database, "broadcasts")) == 1


def test_an_invalid_memo_is_refused_with_its_problems(world: World, settings: Settings) -> None:
    browser = world.logged_in("mario.rossi")
    page = post(browser, "/broadcasts/memo", date=today(settings), **{**ITEM, "item-1-link": "x"})
    assert "Notizia 1: il link deve essere un indirizzo http(s)://." in page.text
    assert raw_rows(world.database, "broadcasts") == []


def test_an_emergency_goes_ahead_of_the_memo(world: World, settings: Settings) -> None:
    subscribers(world, settings, 2, "emergenze")
    browser = world.logged_in("lucia.bianchi")
    post(browser, "/broadcasts/memo", date=today(settings), **ITEM)
    page = post(browser, "/broadcasts/emergency", topic="emergenze", text="Allerta meteo rossa.")
    assert "Avviso di emergenza avviato: invio a 2 iscritti." in page.text
    memo, emergency = sorted(raw_rows(world.database, "broadcasts"), key=lambda r: r["id"])
    assert emergency["kind"] == "emergency" and emergency["priority"] > memo["priority"]
    assert emergency["created_by"] == "lucia.bianchi"


def test_cancel_and_resume(world: World, settings: Settings) -> None:
    subscribers(world, settings, 2, "emergenze")
    browser = world.logged_in("mario.rossi")
    post(browser, "/broadcasts/emergency", topic="emergenze", text="Allerta.")
    (job,) = raw_rows(world.database, "broadcasts")
    here = f"/broadcasts/{job['id']}"
    page = browser.submit(f"{here}/cancel", here)
    assert "Invio annullato" in page.text and "Riprendi l'invio" in page.text
    assert raw_rows(world.database, "broadcasts")[0]["status"] == "cancelled"
    page = browser.submit(f"{here}/resume", here)
    assert "Invio ripreso." in page.text
    assert raw_rows(world.database, "broadcasts")[0]["status"] == "running"
    page = browser.submit(f"{here}/resume", here)
    assert "Solo un invio annullato o sospeso si può riprendere" in page.text


def test_a_post_without_the_csrf_token_changes_nothing(world: World, settings: Settings) -> None:
    subscribers(world, settings, 1, "emergenze")
    browser = world.logged_in("mario.rossi")
    refused = browser.post(
        browser.url("/broadcasts/emergency"),
        data={"csrf_token": "falso", "topic": "emergenze", "text": "Allerta."},
        timeout=120,
    )
    assert refused.status_code == 403 and "Pagina scaduta" in refused.text
    assert raw_rows(world.database, "broadcasts") == []


def test_a_trainer_is_not_let_in(world: World) -> None:
    browser = world.logged_in("tina.verdi")
    for path in ("/broadcasts", "/broadcasts/new"):
        assert browser.page(path).status_code == 403
    assert "Invii agli iscritti" not in browser.page("/").text


def test_the_counts_and_the_stream_report_progress(world: World, settings: Settings) -> None:
    subscribers(world, settings, 3, "emergenze")
    browser = world.logged_in("mario.rossi")
    post(browser, "/broadcasts/emergency", topic="emergenze", text="Allerta.")
    (job,) = raw_rows(world.database, "broadcasts")
    counts = browser.page(f"/broadcasts/{job['id']}/counts").json()
    assert counts["total"] == 3 and counts["counts"]["pending"] == 3
    with browser.get(
        browser.url(f"/api/stream?broadcast={job['id']}"), stream=True, timeout=120
    ) as stream:
        lines = stream.iter_lines(decode_unicode=True)
        assert next(lines) == "event: broadcast"
        assert '"pending": 3' in next(lines)


@pytest.fixture
def graph(database: Database) -> Iterator[GraphApiSimulator]:
    graph = simulator(database)
    yield graph
    graph.close()


def test_the_console_sends_what_it_publishes(
    database: Database, settings: Settings, graph: GraphApiSimulator
) -> None:
    engine, _ = worker(database, graph.url)
    with console_world(database, settings, worker=engine) as world:
        numbers = subscribers(world, settings, 5, "memo")
        browser = world.logged_in("mario.rossi")
        assert "richiede la configurazione di WhatsApp" not in browser.page("/broadcasts").text
        post(browser, "/broadcasts/memo", date=today(settings), **ITEM)
        (job,) = raw_rows(database, "broadcasts")
        deadline = time.monotonic() + 120  # only stops a broken test from hanging
        while time.monotonic() < deadline:
            counts = browser.page(f"/broadcasts/{job['id']}/counts").json()
            if counts["status"] == "completed":
                break
            time.sleep(0.1)
        assert counts["status"] == "completed", counts
        assert counts["counts"]["pending"] == 0 and counts["counts"]["failed"] == 0
    assert per_recipient(graph, numbers) == dict.fromkeys(numbers, 1)


def audit(world: World, action: str) -> list[tuple[str, str]]:
    rows = raw_rows(world.database, "audit_events")
    return [(row["operator"], row["detail"]) for row in rows if row["action"] == action]


def test_publishing_needs_the_permission_an_admin_grants(world: World, settings: Settings) -> None:
    subscribers(world, settings, 2, "emergenze")
    world.operators.add("paolo.neri", "Paolo Neri", PASSWORD, "operator")
    world.operators.add("anna.admin", "Anna Conti", PASSWORD, "admin")
    mario = world.logged_in("mario.rossi")
    post(mario, "/broadcasts/emergency", topic="emergenze", text="Allerta.")
    (job,) = raw_rows(world.database, "broadcasts")
    here = f"/broadcasts/{job['id']}"

    paolo = world.logged_in("paolo.neri")
    listing = paolo.page("/broadcasts")  # every operator follows the broadcasts
    assert listing.status_code == 200 and f"Invio n. {job['id']}" in listing.text
    assert "Nuovo memo o emergenza" not in listing.text
    assert "richiede un permesso" in listing.text
    detail = paolo.page(here)
    assert "Pubblicato da Mario Rossi (mario.rossi)" in detail.text
    assert "Annulla l&#39;invio" not in detail.text
    refused = paolo.page("/broadcasts/new")
    assert refused.status_code == 403 and "Serve il permesso di pubblicare" in refused.text
    csrf = paolo.csrf("/broadcasts")
    for path, fields in (
        ("/broadcasts/emergency", {"topic": "emergenze", "text": "Falso allarme."}),
        ("/broadcasts/memo", {"date": today(settings), **ITEM}),
        ("/broadcasts/preview", {"date": today(settings), **ITEM}),
        (f"{here}/cancel", {}),
    ):
        response = paolo.post(paolo.url(path), data={"csrf_token": csrf, **fields}, timeout=120)
        assert response.status_code == 403, path
    assert len(raw_rows(world.database, "broadcasts")) == 1
    assert raw_rows(world.database, "broadcasts")[0]["status"] == "running"

    # An admin grants it on the operators' page (an admin may publish by the role).
    admin = world.logged_in("anna.admin")
    page = admin.submit("/operators/paolo.neri/publish", "/operators", allowed="1")
    assert "Paolo Neri può pubblicare memo ed emergenze." in page.text
    assert audit(world, "publish_granted") == [("anna.admin", "operatore paolo.neri")]
    done = post(paolo, "/broadcasts/emergency", topic="emergenze", text="Allerta meteo.")
    assert "Avviso di emergenza avviato" in done.text
    assert "Pubblicato da Paolo Neri (paolo.neri)" in done.text
    assert paolo.submit(f"{here}/cancel", here).status_code == 200
    assert ("paolo.neri", f"invio {job['id']}") in audit(world, "broadcast_cancelled")
    published = audit(world, "broadcast_published")
    assert [who for who, _ in published] == ["mario.rossi", "paolo.neri"]
    assert published[1][1].endswith("emergency, temi emergenze")

    admin.submit("/operators/paolo.neri/publish", "/operators", allowed="0")
    again = paolo.post(
        paolo.url("/broadcasts/emergency"),
        data={"csrf_token": csrf, "topic": "emergenze", "text": "Ancora."},
        timeout=120,
    )
    assert again.status_code == 403
    assert len(raw_rows(world.database, "broadcasts")) == 2
    assert post(admin, "/broadcasts/emergency", topic="emergenze", text="Fine allerta.").ok
    assert raw_rows(world.database, "broadcasts")[-1]["created_by"] == "anna.admin"
    # The operators' page is for admins only.
    assert paolo.page("/operators").status_code == 403
    forged = paolo.post(
        paolo.url("/operators/paolo.neri/publish"),
        data={"csrf_token": csrf, "allowed": "1"},
        timeout=120,
    )
    assert forged.status_code == 403
    assert not world.operators.get("paolo.neri").can_publish  # type: ignore[union-attr]
