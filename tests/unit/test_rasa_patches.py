"""The registry of Rasa patches (rasa_patches/__init__.py): every patch listed, installed by
install_all, switched off one by one or all together by URP_RASA_PATCHES_OFF (Rasa's own
function back in place), refused on a Rasa version it was not written for."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import rasa.version

import rasa_patches
from rasa_patches import OFF_ENV, PATCHES, RasaPatchesRefused
from rasa_patches.replacement import Replacement

ROOT = Path(__file__).resolve().parents[2]
REPLACING = [patch for patch in PATCHES if isinstance(patch.load().PATCH, Replacement)]


@pytest.fixture(autouse=True)
def all_on_afterwards(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every patch in place after each test, as the rest of the suite expects."""
    yield
    monkeypatch.undo()  # Rasa's real version first
    rasa_patches.install_all({})


def rasas_own(replacement: Replacement) -> bool:
    """Whether the class holds the function Rasa's own module defined there."""
    current = replacement.owner.__dict__[replacement.attribute]
    function = getattr(current, "__func__", current)  # a staticmethod's function
    owner = replacement.owner
    return (
        function.__module__ == owner.__module__
        and function.__module__.startswith("rasa.")
        and function.__qualname__ == f"{owner.__qualname__}.{replacement.attribute}"
    )


def test_every_module_of_the_package_is_a_listed_patch() -> None:
    modules = {path.stem for path in (ROOT / "rasa_patches").glob("*.py")}
    helpers = {"__init__", "__main__", "replacement"}
    assert sorted(modules - helpers) == sorted(rasa_patches.NAMES)
    assert len(set(rasa_patches.NAMES)) == len(PATCHES)


@pytest.mark.parametrize("patch", PATCHES, ids=lambda patch: patch.name)
def test_each_patch_says_what_it_replaces_why_its_gain_and_its_rasa(patch) -> None:
    assert patch.load().PATCH.target == patch.replaces
    assert patch.why and patch.gain and patch.when_off
    if patch.rasa_versions is not None:
        assert rasa_patches.installed_rasa_version() in patch.rasa_versions


def test_install_all_installs_every_patch_and_again_changes_nothing() -> None:
    assert rasa_patches.install_all({}) == rasa_patches.NAMES
    first = {p.name: p.load().PATCH.installed() for p in PATCHES}
    assert rasa_patches.install_all({}) == rasa_patches.NAMES
    assert rasa_patches.installed() == first == dict.fromkeys(rasa_patches.NAMES, True)
    for patch in REPLACING:
        replacement = patch.load().PATCH
        assert replacement.owner.__dict__[replacement.attribute] is replacement.ours
        assert not rasas_own(replacement)


@pytest.mark.parametrize("patch", REPLACING, ids=lambda patch: patch.name)
def test_a_patch_switched_off_leaves_rasas_own_function(patch) -> None:
    rasa_patches.install_all({})
    installed = rasa_patches.install_all({OFF_ENV: patch.name})
    assert patch.name not in installed
    assert rasas_own(patch.load().PATCH)
    others = {name: on for name, on in rasa_patches.installed().items() if name != patch.name}
    assert all(others.values())
    rasa_patches.install_all({})
    assert not rasas_own(patch.load().PATCH)


def test_all_switches_every_patch_off() -> None:
    assert rasa_patches.install_all({OFF_ENV: "all"}) == ()
    assert not any(rasa_patches.installed().values())
    for patch in REPLACING:
        assert rasas_own(patch.load().PATCH)


def test_the_switch_takes_names_in_any_case_and_spacing() -> None:
    off = rasa_patches.switched_off({OFF_ENV: " Heap , rule_matches,, "})
    assert off == {"heap", "rule_matches"}
    assert rasa_patches.switched_off({OFF_ENV: ""}) == set()
    assert rasa_patches.switched_off({OFF_ENV: "heap,ALL"}) == set(rasa_patches.NAMES)


def test_an_unknown_name_stops_the_process_and_changes_nothing() -> None:
    rasa_patches.install_all({})
    with pytest.raises(RasaPatchesRefused) as refused:
        rasa_patches.install_all({OFF_ENV: "action_guard,dialog_states"})
    assert "dialog_states" in str(refused.value) and "dialogue_states" in str(refused.value)
    assert all(rasa_patches.installed().values())  # not even the guard was switched off


def test_another_rasa_version_is_refused_naming_both_and_the_switch(monkeypatch) -> None:
    rasa_patches.install_all({OFF_ENV: "all"})
    monkeypatch.setattr(rasa.version, "__version__", "3.7.0")
    with pytest.raises(RasaPatchesRefused) as refused:
        rasa_patches.install_all({})
    message = str(refused.value)
    assert "installato Rasa 3.7.0" in message and "Rasa 3.7.0 is installed" in message
    assert "scritte per Rasa 3.6.21" in message and "written for Rasa 3.6.21" in message
    assert f"{OFF_ENV}=all" in message
    assert not any(rasa_patches.installed().values())  # refused before changing anything
    assert isinstance(refused.value, SystemExit)  # no `except Exception` swallows it


def test_another_rasa_version_runs_with_the_patches_switched_off(monkeypatch) -> None:
    monkeypatch.setattr(rasa.version, "__version__", "3.7.0")
    assert rasa_patches.install_all({OFF_ENV: "all"}) == ()
    # The collector's settings use nothing of Rasa's: no version to check.
    rasa_specific = ",".join(p.name for p in PATCHES if p.rasa_versions is not None)
    assert rasa_patches.install_all({OFF_ENV: rasa_specific}) == ("heap",)
    with pytest.raises(RasaPatchesRefused, match="action_guard"):
        rasa_patches.install_all({OFF_ENV: "heap"})


def test_switching_the_action_guard_off_is_warned_about(monkeypatch, caplog) -> None:
    monkeypatch.setattr(rasa_patches, "_reported", None)
    with caplog.at_level(logging.INFO, logger="rasa_patches"):
        rasa_patches.install_all({OFF_ENV: "action_guard"})
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "action_guard" in warning.getMessage() and "protezione" in warning.getMessage()
    assert any("spente" in r.getMessage() for r in caplog.records)
    assert [p.name for p in PATCHES if p.safety] == ["action_guard"]


PROBE = (
    "import json, sys, {package}, rasa_patches; "
    "from rasa.core.actions.action import RemoteAction; "
    "print(json.dumps([rasa_patches.installed(), RemoteAction.run.__module__]))"
)


@pytest.mark.parametrize("package", ["channels", "components"])
@pytest.mark.parametrize("switch", ["", "all"])
def test_the_packages_rasa_loads_install_them(package: str, switch: str) -> None:
    """Rasa loads ``channels`` (credentials.yml) and ``components`` (config.yml): either
    alone installs the patches, as the switch says."""
    environment = {k: v for k, v in os.environ.items() if k != OFF_ENV}
    process = subprocess.run(
        [sys.executable, "-c", PROBE.format(package=package)],
        cwd=ROOT,
        env={**environment, OFF_ENV: switch},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    state, run_module = json.loads(process.stdout.splitlines()[-1])
    assert state == dict.fromkeys(rasa_patches.NAMES, not switch)
    expected = "rasa.core.actions.action" if switch else "rasa_patches.action_guard"
    assert run_module == expected


def test_the_developers_page_lists_every_patch_and_the_switch() -> None:
    page = (ROOT / "docs" / "patch-rasa.md").read_text(encoding="utf-8")
    assert OFF_ENV in page
    for patch in PATCHES:
        assert f"`{patch.name}`" in page
    for patch in REPLACING:
        owner_and_attribute = patch.replaces.rsplit(".", 2)[-2:]
        assert ".".join(owner_and_attribute) in page
    for version in {v for p in PATCHES for v in p.rasa_versions or ()}:
        assert version in page


def test_the_command_tells_which_patches_this_environment_installs(monkeypatch, capsys) -> None:
    from rasa_patches.__main__ import main

    rasa_patches.install_all({OFF_ENV: "all"})
    monkeypatch.setenv(OFF_ENV, "heap")
    assert main() == 0
    listing = capsys.readouterr().out
    assert "heap                 spenta" in listing and "action_guard         attiva" in listing
    assert not any(rasa_patches.installed().values())  # it only tells
    monkeypatch.setattr(rasa.version, "__version__", "3.7.0")
    assert main() == 1
    assert "Rasa 3.7.0 is installed" in capsys.readouterr().err
    monkeypatch.setenv(OFF_ENV, "all")
    assert main() == 0
