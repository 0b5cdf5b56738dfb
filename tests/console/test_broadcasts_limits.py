"""The console under Meta's rules (issue 25): the estimate before publishing (recipients
inside and outside the window, the template's category, the cost), a job paused by Meta
with its reason and the button to resume it, the rows waiting for the messaging limit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.console.harness import PASSWORD, World
from tests.console.test_broadcasts import ITEM, post, subscribers, today
from tests.simulators.graph_api import GraphApiSimulator
from tests.store.broadcasts import RATE, run_worker, services, simulator, subscribe
from tests.store.conftest import SALT, raw_rows
from urp.core.hashing import UserHasher
from urp.core.settings import Settings
from urp.subscription.subscribers import SubscriberService


@pytest.fixture
def graph(world: World) -> Iterator[GraphApiSimulator]:
    graph = simulator(world.database)
    graph.enforce(messaging_limit=2, throughput=None, pair_interval=None)
    yield graph
    graph.close()


def test_the_preview_shows_the_window_the_category_and_the_cost(
    world: World, settings: Settings
) -> None:
    numbers = subscribers(world, settings, 3, "memo")
    services(world.database)[1].wrote(numbers[0], datetime.now(UTC))
    browser = world.logged_in("mario.rossi")
    answer = post(browser, "/broadcasts/preview", date=today(settings), **ITEM).json()
    estimate = answer["estimate"]
    assert answer["recipients"] == 3
    assert (estimate["inside"], estimate["outside"], estimate["paid_messages"]) == (1, 2, 2)
    assert estimate["category"] == "marketing" and estimate["price"] == "€ 0,0572"
    assert estimate["cost"] == "€ 0,11"  # 2 x 0,0572, from settings/ancona.yml
    assert "Fuori dalla finestra: 2 (un modello marketing a testa" in estimate["text"]
    assert "listino Meta" in estimate["text"]
    broken = post(browser, "/broadcasts/preview", date="31/02/2025").json()
    assert broken["estimate"] is None

    # An emergency goes with the utility template of the settings: cheaper.
    register = SubscriberService(world.database, settings.subscription, UserHasher(SALT.encode()))
    subscribe(register, 2, "emergenze", start=100)
    answer = post(
        browser, "/broadcasts/emergency/estimate", topic="emergenze", text="Allerta meteo."
    ).json()
    assert answer["estimate"]["category"] == "utility" and answer["estimate"]["outside"] == 2
    assert answer["estimate"]["cost"] == "€ 0,05"
    assert raw_rows(world.database, "broadcasts") == []  # an estimate publishes nothing
    unknown = post(browser, "/broadcasts/emergency/estimate", topic="x").json()
    assert unknown["estimate"] is None


def test_a_paused_job_shows_why_and_can_be_resumed(world: World, settings: Settings) -> None:
    subscribers(world, settings, 2, "emergenze")
    browser = world.logged_in("mario.rossi")
    post(browser, "/broadcasts/emergency", topic="emergenze", text="Allerta.")
    (job,) = raw_rows(world.database, "broadcasts")
    broadcasts = services(world.database)[0]
    assert broadcasts.pause(job["id"], 131048, "Spam rate limit hit")
    here = f"/broadcasts/{job['id']}"
    page = browser.page(here).text
    assert "Invio sospeso da WhatsApp il" in page
    assert "Spam rate limit hit (codice 131048)" in page
    # The resume form for a paused job is shown, the one for a cancelled job hidden.
    assert re.search(r'data-shown-when="paused">', page)
    assert re.search(r'data-shown-when="cancelled" hidden>', page)
    assert "Spam rate limit hit" in browser.page("/broadcasts").text
    live = browser.page(f"{here}/counts").json()
    assert live["status"] == "paused" and live["paused"].startswith("Spam rate limit hit")
    # Resuming needs the permission to publish, and the CSRF token, as before.
    world.operators.add("paolo.neri", "Paolo Neri", PASSWORD, "operator")
    paolo = world.logged_in("paolo.neri")
    assert "Riprendi l&#39;invio" not in paolo.page(here).text
    refused = paolo.post(
        paolo.url(f"{here}/resume"), data={"csrf_token": paolo.csrf(here)}, timeout=120
    )
    forged = browser.post(browser.url(f"{here}/resume"), data={"csrf_token": "x"}, timeout=120)
    assert refused.status_code == forged.status_code == 403
    assert raw_rows(world.database, "broadcasts")[0]["status"] == "paused"
    done = browser.submit(f"{here}/resume", here)
    assert "Invio ripreso." in done.text and "Invio sospeso" not in done.text
    assert raw_rows(world.database, "broadcasts")[0]["status"] == "running"
    assert raw_rows(world.database, "broadcasts")[0]["paused_reason"] is None


def test_rows_waiting_for_the_limit_and_the_paid_messages_are_shown(
    world: World, settings: Settings, graph: GraphApiSimulator
) -> None:
    subscribers(world, settings, 5, "emergenze")
    broadcasts = services(world.database, messaging_limit=2)[0]
    job = broadcasts.start_emergency("emergenze", "Allerta.", created_by="t", rate=RATE)
    run_worker(world.database, graph.url, messaging_limit=2)
    browser = world.logged_in("mario.rossi")
    live = browser.page(f"/broadcasts/{job}/counts").json()
    assert live["counts"]["waiting"] == 3 and live["counts"]["pending"] == 3
    assert live["counts"]["paid"] == 2 == graph.paid()
    assert live["resumes_at"] and live["finishes_at"]
    page = browser.page(f"/broadcasts/{job}").text
    assert "3 destinatari aspettano il limite di Meta" in page
    assert f"ripartono da soli il {live['resumes_at']}" in page
    assert f"fine prevista il {live['finishes_at']}" in page
    assert re.search(r'<progress [^>]*max="5" value="3" data-bar="waiting">', page)
    assert re.search(r'<progress [^>]*max="5" value="2" data-bar="done">', page)
    assert 'Messaggi a pagamento (modelli accettati da Meta): <span data-count="paid">2' in page
