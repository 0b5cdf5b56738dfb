from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from urp.core.settings import SettingsError, current_settings, load_settings, parse_settings

ROOT = Path(__file__).resolve().parents[2]
ANCONA = ROOT / "settings" / "ancona.yml"


def ancona_data() -> dict:
    return yaml.safe_load(ANCONA.read_text(encoding="utf-8"))


def test_default_is_the_ancona_example() -> None:
    settings = load_settings()
    assert settings.display_name == "Comune di Ancona"
    assert settings.province_code == "AN"
    assert (
        settings.facts()["urp_hours"]
        == "lun, mer e ven 9:00-13:00; mar e gio 9:00-13:00 e 15:00-17:00"
    )


def test_switching_municipality_is_only_the_environment_variable(monkeypatch) -> None:
    monkeypatch.setenv("URP_SETTINGS", "settings/arezzo.yml")
    facts = current_settings().facts()
    assert facts["urp_comune"] == "Comune di Arezzo"
    assert facts["urp_hours"] == "lun, mar, mer, gio e ven 8:30-13:00"
    assert "arezzo" in facts["urp_policy_url"]


def test_every_fact_is_filled_for_both_examples() -> None:
    for name in ("ancona", "arezzo"):
        facts = load_settings(ROOT / "settings" / f"{name}.yml").facts()
        assert all(isinstance(v, str) and v.strip() for v in facts.values()), name


def test_changes_on_disk_are_picked_up(monkeypatch, tmp_path) -> None:
    path = tmp_path / "comune.yml"
    data = ancona_data()
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.setenv("URP_SETTINGS", str(path))
    assert current_settings().urp_phone == "071 222 2222"
    data["urp"]["phone"] = "071 000 0000"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    os.utime(path, ns=(1, 2_000_000_000_000_000_000))
    assert current_settings().urp_phone == "071 000 0000"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["urp"].pop("phone"), "urp.phone"),
        (lambda d: d["privacy"].update(policy_url="www.example.it"), "indirizzo web"),
        (lambda d: d["urp"]["service_hours"].update(sabato=["13:00-09:00"]), "fine precede"),
        (lambda d: d["urp"]["service_hours"].update(sabato=["9-13"]), "formato"),
        (lambda d: d["urp"]["service_hours"].update(festivo=["09:00-13:00"]), "giorno"),
        (
            lambda d: d["urp"]["service_hours"].update(lunedì=["09:00-13:00", "12:00-14:00"]),
            "sovrapposti",
        ),
        (lambda d: d.update(timezone="Europa/Ancona"), "fuso orario"),
        (lambda d: d["reporting"].update(mode="email"), "reporting.mode"),
        (
            lambda d: d["whatsapp"]["templates"]["memo"].update(category="newsletter"),
            "whatsapp.templates.memo.category",
        ),
        (lambda d: d["whatsapp"]["prices"].update(marketing="0,05"), "whatsapp.prices.marketing"),
        (lambda d: d["whatsapp"]["prices"].update(utility=-1), "whatsapp.prices.utility"),
        (lambda d: d["whatsapp"]["prices"].update(currency="euro"), "whatsapp.prices.currency"),
        (lambda d: d["whatsapp"].update(prices=[0.05]), "'whatsapp.prices' deve essere"),
    ],
)
def test_wrong_values_are_explained(change, message) -> None:
    data = ancona_data()
    change(data)
    with pytest.raises(SettingsError, match=message):
        parse_settings(data, Path("comune.yml"))


def test_templates_have_meta_categories_and_the_prices_are_italys() -> None:
    for name in ("ancona", "arezzo"):
        settings = load_settings(ROOT / "settings" / f"{name}.yml")
        templates = settings.whatsapp_templates
        # The memo is a newsletter for Meta; emergencies and late replies are utility.
        assert templates["memo"].category == "marketing"
        assert templates["emergency"].category == templates["reply"].category == "utility"
        prices = settings.whatsapp_prices
        assert prices.currency == "EUR" and prices.marketing > prices.utility > 0
        assert prices.per_message("utility", in_window=True) == 0.0 == prices.service
    # Without a category a template counts as marketing (the dearer), without prices the
    # defaults apply.
    data = ancona_data()
    data["whatsapp"]["templates"]["memo"].pop("category")
    data["whatsapp"].pop("prices")
    settings = parse_settings(data, Path("comune.yml"))
    assert settings.whatsapp_templates["memo"].category == "marketing"
    assert settings.whatsapp_prices == load_settings().whatsapp_prices


def test_unreadable_or_invalid_files_are_explained(tmp_path) -> None:
    with pytest.raises(SettingsError, match="impossibile leggere"):
        load_settings(tmp_path / "manca.yml")
    broken = tmp_path / "rotto.yml"
    broken.write_text("urp: [", encoding="utf-8")
    with pytest.raises(SettingsError, match="YAML non valido"):
        load_settings(broken)
    broken.write_text("- solo una lista", encoding="utf-8")
    with pytest.raises(SettingsError, match="mappa"):
        load_settings(broken)
