"""The memo's web page on the widget's site (issue 25): the link target of the one WhatsApp
template a subscriber outside the window gets. Over HTTP, from the memo in the store, at a
stable address per memo; accessible (Italian, headings, landmarks) and escaped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from tests.console.harness import served
from urp.core.db import Database, upgrade
from urp.core.settings import PROJECT_ROOT, Settings, load_settings
from urp.information.memo import Memo, MemoItem, MemoService, memo_site, memo_url
from urp.widget.app import create_app

RASA = "https://chat.comune.example"
ODD = '<script>alert("x")</script> & «virgolette»'
MEMO = Memo(
    date(2026, 12, 4),
    "MEMO COMUNE DI ANCONA",
    (
        MemoItem(
            "SCIOPERO DEI BUS",
            "Venerdì i bus si fermano.\nServizi minimi garantiti.",
            "https://www.comune.ancona.gov.it/sciopero",
        ),
        MemoItem(f"NOTIZIA {ODD}", f"Testo {ODD}", 'javascript:alert("x")'),
    ),
)
OLDER = Memo(date(2026, 11, 27), "MEMO COMUNE DI ANCONA", (MEMO.items[0],))


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(PROJECT_ROOT / "settings" / "ancona.yml")


@pytest.fixture(scope="module")
def memos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MemoService]:
    path: Path = tmp_path_factory.mktemp("memo-page") / "urp.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    service = MemoService(database)
    for memo in (OLDER, MEMO):
        service.publish(memo)
    # Prepared in advance: not out yet, so not on the site either.
    service.publish(Memo(date.today() + timedelta(days=30), "MEMO FUTURO", (MEMO.items[0],)))
    yield service
    database.dispose()


@pytest.fixture(scope="module")
def site(settings: Settings, memos: MemoService) -> Iterator[str]:
    with served(create_app(settings, RASA, memos)) as url:
        yield url


def get(url: str, **options: object) -> requests.Response:
    return requests.get(url, timeout=10, **options)  # type: ignore[arg-type]


def test_the_memo_page_shows_the_memo_of_its_date(site: str, settings: Settings) -> None:
    page = get(site + "/memo/2026-12-04")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    html = page.text
    assert '<html lang="it">' in html
    assert f"<title>MEMO COMUNE DI ANCONA del 04/12/2026 · {settings.display_name}</title>" in html
    assert '<h1 id="titolo-memo">MEMO COMUNE DI ANCONA</h1>' in html
    assert '<time datetime="2026-12-04">venerdì 4 dicembre 2026</time>' in html
    assert '<h2 id="notizia-1" class="h4">SCIOPERO DEI BUS</h2>' in html
    assert "<p>Venerdì i bus si fermano.</p>" in html and "<p>Servizi minimi garantiti.</p>" in html
    assert '<a href="https://www.comune.ancona.gov.it/sciopero">Approfondisci' in html
    # Landmarks, the skip link, the page's style and the chat, as on the demo page.
    for landmark in ("<header", '<main id="contenuto"', "<footer", '<nav aria-label="Percorso'):
        assert landmark in html
    assert 'href="#contenuto">Vai al contenuto</a>' in html
    assert '/vendor/bootstrap-italia/css/bootstrap-italia.min.css"' in html
    assert 'src="/widget/widget.js"' in html
    assert "Pagina di prova della chat" not in html  # a page for citizens, not a demo
    assert "Content-Security-Policy" in page.headers


def test_everything_from_the_store_is_escaped(site: str) -> None:
    html = get(site + "/memo/2026-12-04").text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; «virgolette»" in html
    assert "javascript:" not in html  # a link that is not a web address is not a link


def test_each_memo_keeps_its_address_and_memo_leads_to_the_current_one(site: str) -> None:
    older = get(site + "/memo/2026-11-27").text
    assert "SCIOPERO DEI BUS" in older and "NOTIZIA" not in older
    current = get(site + "/memo", allow_redirects=False)
    assert current.status_code == 302 and current.headers["Location"] == "/memo/2026-12-04"


@pytest.mark.parametrize(
    "path",
    ["/memo/2026-12-05", "/memo/2026-13-45", "/memo/04-12-2026", "/memo/2026-12-04x"],
)
def test_a_memo_that_is_not_there_is_an_italian_404(site: str, path: str) -> None:
    page = get(site + path)
    assert page.status_code == 404 and "<h1>Pagina non trovata</h1>" in page.text


def test_a_memo_prepared_for_later_is_not_on_the_site(site: str) -> None:
    later = (date.today() + timedelta(days=30)).isoformat()
    assert get(f"{site}/memo/{later}").status_code == 404


def test_without_a_store_or_a_memo_the_page_says_so(settings: Settings) -> None:
    with served(create_app(settings, RASA)) as url:
        assert get(url + "/memo/2026-12-04").status_code == 404
        page = get(url + "/memo")
        assert page.status_code == 404 and "Non è ancora stato pubblicato nessun memo" in page.text


def test_the_template_links_to_the_page_at_the_site_s_public_address() -> None:
    site = memo_site({"URP_WIDGET_PUBLIC_URL": "https://chat.comune.example/"})
    assert memo_url(site, MEMO.published_on) == "https://chat.comune.example/memo/2026-12-04"
    assert memo_site({}) is None
    assert memo_site({"URP_WIDGET_PUBLIC_URL": "chat.comune.example"}) is None
    assert memo_url(None, MEMO.published_on) is None
