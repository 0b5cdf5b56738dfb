"""``urp nlp build``: the Italian spaCy pipeline of :mod:`urp.nlu.spacy_pipeline`.

The trainers' ``urp nlu add`` is in :mod:`urp.cli.review`, with the rest of their loop.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from urp.cli import common
from urp.core.settings import PROJECT_ROOT


def _nlp_build(args: argparse.Namespace) -> int:
    from urp.nlu.spacy_pipeline import build_to_disk

    out = build_to_disk(args.gazetteers, args.out)
    print(f"Pipeline spaCy italiana scritta in {out}")
    return 0


def add_parsers(commands: common.Commands) -> None:
    """``urp nlp``."""
    actions = common.group(commands, "nlp", "dati e pipeline per la comprensione del testo")
    build = actions.add_parser("build", help="costruisce la pipeline spaCy italiana")
    build.add_argument("--out", type=Path, default=PROJECT_ROOT / "var" / "spacy" / "it_urp")
    build.add_argument(
        "--gazetteers", type=Path, default=PROJECT_ROOT / "data" / "nlu" / "gazetteers.yml"
    )
    build.set_defaults(handler=_nlp_build)
