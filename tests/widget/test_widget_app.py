"""The widget's demo app over HTTP: the page, the assets, the errors; its configuration."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterator

import pytest
import requests

from tests.console.harness import served
from urp.cli import build_parser
from urp.core.settings import PROJECT_ROOT, Settings, load_settings
from urp.widget.app import create_app, websocket_origins
from urp.widget.server import WidgetConfigError, listen_port, rasa_url

RASA = "https://chat.comune.example"
JAVASCRIPT = ("text/javascript", "application/javascript")


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings(PROJECT_ROOT / "settings" / "ancona.yml")


@pytest.fixture(scope="module")
def demo(settings: Settings) -> Iterator[str]:
    with served(create_app(settings, RASA + "/")) as url:
        yield url


def get(url: str) -> requests.Response:
    return requests.get(url, timeout=10)


def test_home_page_is_the_municipality_with_the_widget(demo: str, settings: Settings) -> None:
    page = get(demo + "/")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    html = page.text
    assert '<html lang="it">' in html
    assert (
        f'<script src="/widget/widget.js" data-server="{RASA}" '
        f'data-title="{settings.display_name}" defer></script>'
    ) in html
    for fact in (
        settings.urp_phone,
        settings.urp_email,
        settings.website,
        settings.service_hours.describe(),
    ):
        assert fact in html
    for office in settings.offices.values():
        assert office.label in html and office.hours.describe() in html
    assert '/vendor/bootstrap-italia/css/bootstrap-italia.min.css"' in html


def test_the_page_may_connect_to_the_rasa_server_only(demo: str) -> None:
    policy = get(demo + "/").headers["Content-Security-Policy"]
    assert "connect-src 'self' https://chat.comune.example wss://chat.comune.example;" in policy
    assert "script-src 'self';" in policy
    assert websocket_origins("http://127.0.0.1:5005") == "http://127.0.0.1:5005 ws://127.0.0.1:5005"


def test_settings_are_escaped_in_the_page(settings: Settings) -> None:
    odd = dataclasses.replace(settings, display_name='Comune di "Prova" <b>')
    with served(create_app(odd, RASA)) as url:
        html = get(url + "/").text
    assert "<b>" not in html
    assert 'data-title="Comune di &#34;Prova&#34; &lt;b&gt;"' in html


@pytest.mark.parametrize(
    ("path", "types", "starts"),
    [
        ("/widget/widget.js", JAVASCRIPT, "/*!\n * Sportello URP"),
        ("/widget/widget.css", ("text/css",), "/* Sportello URP"),
        ("/widget/vendor/socket.io/socket.io.min.js", JAVASCRIPT, "/*!\n * Socket.IO v4.8."),
        ("/widget/vendor/socket.io/LICENSE", ("application/octet-stream",), "The MIT License"),
        ("/demo/demo.css", ("text/css",), "/* The demo page"),
        ("/vendor/bootstrap-italia/css/bootstrap-italia.min.css", ("text/css",), ""),
        (
            "/vendor/bootstrap-italia/fonts/Titillium_Web/titillium-web-v10-latin-ext_latin-regular.woff2",
            ("font/woff2",),
            "wOF2",
        ),
    ],
)
def test_assets_are_served_with_their_type(
    demo: str, path: str, types: tuple[str, ...], starts: str
) -> None:
    response = get(demo + path)
    assert response.status_code == 200
    assert response.headers["Content-Type"].split(";")[0] in types
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.content.startswith(starts.encode())


def test_every_font_the_demo_page_declares_exists(demo: str) -> None:
    css = get(demo + "/demo/demo.css").text
    fonts = [line.split('url("')[1].split('"')[0] for line in css.splitlines() if 'url("' in line]
    assert len(fonts) == 5
    for font in fonts:
        assert get(demo + font).status_code == 200, font


def test_health(demo: str) -> None:
    response = get(demo + "/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "path",
    ["/nessuna-pagina", "/widget/nulla.js", "/widget/../app.py", "/widget/%2e%2e/app.py"],
)
def test_a_bad_path_is_an_italian_404_without_details(demo: str, path: str) -> None:
    response = requests.get(demo + path, timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<h1>Pagina non trovata</h1>" in response.text
    assert "Traceback" not in response.text and "aiohttp" not in response.text


def test_a_post_is_refused_politely(demo: str) -> None:
    response = requests.post(demo + "/", timeout=10)
    assert response.status_code == 405
    assert "Richiesta non valida" in response.text


def test_rasa_url_from_the_environment() -> None:
    assert rasa_url({}) == "http://127.0.0.1:5005"
    assert rasa_url({"URP_RASA_PORT": "6005"}) == "http://127.0.0.1:6005"
    assert rasa_url({"URP_WIDGET_RASA_URL": RASA, "URP_RASA_PORT": "6005"}) == RASA
    with pytest.raises(WidgetConfigError, match="URP_WIDGET_RASA_URL"):
        rasa_url({"URP_WIDGET_RASA_URL": "chat.comune.example"})


def test_listen_port_from_the_environment() -> None:
    assert listen_port({}) == 5090
    assert listen_port({"URP_WIDGET_PORT": "6090"}) == 6090
    for wrong in ("porta", "0", "70000"):
        with pytest.raises(WidgetConfigError, match="URP_WIDGET_PORT"):
            listen_port({"URP_WIDGET_PORT": wrong})


def test_cli_widget_serve() -> None:
    args = build_parser().parse_args(["widget", "serve", "--host", "0.0.0.0", "--port", "6090"])
    assert (args.host, args.port, args.handler.__name__) == ("0.0.0.0", 6090, "_widget_serve")


def test_the_package_ships_every_widget_file() -> None:
    package = PROJECT_ROOT / "urp"
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = {
        path
        for pattern in pyproject["tool"]["setuptools"]["package-data"]["urp"]
        for path in package.glob(pattern)
    }
    assets = [
        path
        for path in (package / "widget").rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"}
    ]
    assert len(assets) >= 9
    assert [str(path.relative_to(package)) for path in assets if path not in shipped] == []
