"""``urp``: the command line for the URP office and for deployers."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from urp.settings import PROJECT_ROOT, SettingsError, load_settings

Handler = Callable[[argparse.Namespace], int]


def _settings_check(args: argparse.Namespace) -> int:
    settings = load_settings(args.file)
    print(f"Impostazioni valide: {settings.source}")
    for key, value in settings.facts().items():
        print(f"  {key}: {value}")
    print(f"  modalità segnalazioni: {settings.reporting_mode}")
    return 0


def _nlp_build(args: argparse.Namespace) -> int:
    from urp.nlp.spacy_pipeline import build_to_disk

    out = build_to_disk(args.gazetteers, args.out)
    print(f"Pipeline spaCy italiana scritta in {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="urp", description="Sportello URP: comandi di gestione")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMANDO")

    settings = commands.add_parser("settings", help="impostazioni del Comune")
    settings_commands = settings.add_subparsers(dest="action", required=True, metavar="AZIONE")
    check = settings_commands.add_parser("check", help="verifica un file di impostazioni")
    check.add_argument("file", nargs="?", help="file YAML (predefinito: URP_SETTINGS)")
    check.set_defaults(handler=_settings_check)

    nlp = commands.add_parser("nlp", help="dati e pipeline per la comprensione del testo")
    nlp_commands = nlp.add_subparsers(dest="action", required=True, metavar="AZIONE")
    build = nlp_commands.add_parser("build", help="costruisce la pipeline spaCy italiana")
    build.add_argument("--out", type=Path, default=PROJECT_ROOT / "var" / "spacy" / "it_urp")
    build.add_argument(
        "--gazetteers", type=Path, default=PROJECT_ROOT / "data" / "nlu" / "gazetteers.yml"
    )
    build.set_defaults(handler=_nlp_build)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except SettingsError as error:
        print(f"Errore nelle impostazioni: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
