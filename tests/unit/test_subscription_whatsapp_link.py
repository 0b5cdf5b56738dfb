"""The office's WhatsApp link and its QR code (urp.subscription.whatsapp_link)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
import segno

from tests.console.harness import served
from urp.core.settings import PROJECT_ROOT, SettingsError, load_settings, parse_office_number
from urp.subscription.whatsapp_link import (
    invitation,
    is_web,
    office_number,
    qr_svg,
    whatsapp_link,
)
from urp.widget.app import create_app


@pytest.mark.parametrize(
    ("written", "digits"),
    [
        ("+39 071 222 2222", "390712222222"),
        ("0039 333-123.4567", "393331234567"),
        ("+39 (0575) 377000", "390575377000"),
    ],
)
def test_numbers_in_international_form(written: str, digits: str) -> None:
    assert parse_office_number(written).digits == digits


@pytest.mark.parametrize("written", ["071 222 2222", "3331234567", "+39 071 abc", "+1234", "+"])
def test_a_number_without_country_code_or_not_a_number_is_refused(written: str) -> None:
    with pytest.raises(SettingsError, match="formato internazionale"):
        parse_office_number(written)


def test_the_link_opens_whatsapp_with_the_words_written() -> None:
    assert whatsapp_link("390712222222") == "https://wa.me/390712222222?text=Iscrivimi"
    assert whatsapp_link("390712222222", "sono iscritto?") == (
        "https://wa.me/390712222222?text=sono%20iscritto%3F"
    )


def test_the_web_channels_are_those_the_memo_never_reaches() -> None:
    assert all(is_web(c) for c in ("socketio", "rest", "callback"))
    assert not any(is_web(c) for c in ("whatsapp", "twilio", None))


def test_the_number_comes_from_the_settings_file(tmp_path: Path) -> None:
    ancona = load_settings(PROJECT_ROOT / "settings" / "ancona.yml")
    number = office_number(ancona)
    assert number is not None
    assert (number.digits, number.written) == ("390712222222", "+39 071 222 2222")
    assert office_number(load_settings(PROJECT_ROOT / "settings" / "arezzo.yml")) is None
    wrong = tmp_path / "comune.yml"
    text = ancona.source.read_text(encoding="utf-8")
    wrong.write_text(text.replace('number: "+39 071 222 2222"', 'number: "071 222"'), "utf-8")
    with pytest.raises(SettingsError, match=r"whatsapp\.number"):
        load_settings(wrong)  # refused when the settings are read, not at first use


def test_the_qr_code_is_an_inline_svg_with_a_name_for_screen_readers() -> None:
    link = "https://wa.me/390712222222?text=Iscrivimi"
    svg = qr_svg(link, "Codice QR «Iscrivimi» & WhatsApp")
    root = ET.fromstring(svg)  # well-formed, with no XML declaration: it goes inside HTML
    assert root.tag.endswith("svg")
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Codice QR «Iscrivimi» & WhatsApp"
    # The drawing is the QR code of the link: the modules segno draws for it.
    expected = ET.fromstring(segno.make(link, error="m").svg_inline(scale=4))
    assert [p.get("d") for p in root.iter() if p.tag.endswith("path")] == [
        p.get("d") for p in expected.iter() if p.tag.endswith("path")
    ]


def test_the_invitation_of_the_demo_site() -> None:
    found = invitation(load_settings(PROJECT_ROOT / "settings" / "ancona.yml"))
    assert found is not None
    assert found.link == "https://wa.me/390712222222?text=Iscrivimi"
    assert found.number == "+39 071 222 2222"
    assert 'aria-label="Codice QR: apre WhatsApp' in found.qr_svg
    assert invitation(load_settings(PROJECT_ROOT / "settings" / "arezzo.yml")) is None


def test_the_demo_site_shows_the_qr_code_and_the_link_written_out() -> None:
    ancona = load_settings(PROJECT_ROOT / "settings" / "ancona.yml")
    with served(create_app(ancona, "https://chat.comune.example")) as url:
        html = requests.get(url + "/", timeout=10).text
    link = "https://wa.me/390712222222?text=Iscrivimi"
    assert f'<a href="{link}">{link}</a>' in html
    assert '<svg role="img" aria-label="Codice QR: apre WhatsApp' in html
    assert "+39 071 222 2222" in html
    arezzo = load_settings(PROJECT_ROOT / "settings" / "arezzo.yml")
    with served(create_app(arezzo, "https://chat.comune.example")) as url:
        html = requests.get(url + "/", timeout=10).text
    assert "wa.me" not in html and "<svg" not in html
