"""``urp settings check``: the municipality's settings file, read as the assistant reads it."""

from __future__ import annotations

import argparse

from urp.cli import common
from urp.core.settings import load_settings


def _settings_check(args: argparse.Namespace) -> int:
    settings = load_settings(args.file)
    print(f"Impostazioni valide: {settings.source}")
    for key, value in settings.facts().items():
        print(f"  {key}: {value}")
    print(f"  modalità segnalazioni: {settings.reporting_mode}")
    return 0


def add_parsers(commands: common.Commands) -> None:
    """``urp settings``."""
    actions = common.group(commands, "settings", "impostazioni del Comune")
    check = actions.add_parser("check", help="verifica un file di impostazioni")
    check.add_argument("file", nargs="?", help="file YAML (predefinito: URP_SETTINGS)")
    check.set_defaults(handler=_settings_check)
