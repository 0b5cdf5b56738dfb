"""publiccode.yml, the catalogue card for Developers Italia, is valid and tells the truth.

The schema (``publiccode.schema.json``, next to this file) is the publiccode.yml 0.4 standard
with its Italian extension; the tests below check what a schema cannot: lengths as the
catalogue counts them, real dates, the repository address, and that the licence and the
version are the ones the project declares in ``pyproject.toml``.
"""

from __future__ import annotations

import json
import tomllib
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((Path(__file__).with_name("publiccode.schema.json")).read_text("utf-8"))
PUBLICCODE: dict[str, Any] = yaml.safe_load((ROOT / "publiccode.yml").read_text("utf-8"))
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
DESCRIPTIONS = PUBLICCODE["description"]


def test_the_schema_is_a_valid_json_schema() -> None:
    Draft7Validator.check_schema(SCHEMA)


def test_publiccode_follows_the_schema() -> None:
    validator = Draft7Validator(SCHEMA, format_checker=FormatChecker())
    problems = [
        f"{'/'.join(map(str, error.absolute_path)) or '(radice)'}: {error.message}"
        for error in validator.iter_errors(PUBLICCODE)
    ]
    assert problems == []


def test_the_schema_refuses_what_the_catalogue_refuses() -> None:
    """The schema is not a rubber stamp: a card without the mandatory keys fails."""
    validator = Draft7Validator(SCHEMA, format_checker=FormatChecker())
    broken = {**PUBLICCODE, "releaseDate": "07/12/2026", "developmentStatus": "finito"}
    del broken["legal"]
    messages = " ".join(error.message for error in validator.iter_errors(broken))
    assert "'legal' is a required property" in messages
    assert "is not a 'date'" in messages
    assert "'finito' is not one of" in messages


@pytest.mark.parametrize("language", sorted(DESCRIPTIONS))
def test_descriptions_have_the_lengths_the_catalogue_wants(language: str) -> None:
    text = DESCRIPTIONS[language]
    short, long = text["shortDescription"], text["longDescription"]
    assert 0 < len(short) <= 150 and "\n" not in short.strip()
    assert 150 <= len(long.strip()) <= 10000
    assert text["features"] and all(0 < len(feature) <= 100 for feature in text["features"])


def test_the_italian_description_is_there() -> None:
    """The Italian catalogue shows the ``it`` description."""
    assert "it" in DESCRIPTIONS
    assert "it" in PUBLICCODE["localisation"]["availableLanguages"]


def test_dates_are_real_iso_dates_not_in_the_future() -> None:
    dates = [PUBLICCODE["releaseDate"]]
    dates += [c["until"] for c in PUBLICCODE["maintenance"].get("contractors", [])]
    for value in dates:
        assert isinstance(value, str), f"{value!r}: va scritta tra virgolette"
        assert date.fromisoformat(value).isoformat() == value
    assert date.fromisoformat(PUBLICCODE["releaseDate"]) <= date.today()


def test_url_is_a_public_repository_address() -> None:
    for key in ("url", "landingURL"):
        if key not in PUBLICCODE:
            continue
        parts = urlsplit(PUBLICCODE[key])
        assert parts.scheme == "https", key
        assert parts.hostname and "." in parts.hostname, key
        assert parts.username is None and parts.password is None, key
        assert parts.path.strip("/"), key
        assert not parts.query and not parts.fragment, key


def test_the_licence_is_the_one_the_project_declares() -> None:
    assert PUBLICCODE["legal"]["license"] == PROJECT["license"]["text"] == "EUPL-1.2"
    licence = (ROOT / "LICENSE").read_text("utf-8")
    assert licence.lstrip().startswith("EUROPEAN UNION PUBLIC LICENCE v. 1.2")
    assert "‘Compatible Licences’ according to Article 5 EUPL are:" in licence


def test_the_version_is_the_project_version() -> None:
    assert PUBLICCODE["softwareVersion"] == PROJECT["version"]
