"""``urp console serve``: the operators' web console (:mod:`urp.console`)."""

from __future__ import annotations

import argparse
import logging

from urp.cli import common


def _console_serve(args: argparse.Namespace) -> int:
    logging.getLogger().setLevel(logging.INFO)  # who connects and what fails, for the office
    from urp.console.server import serve

    serve(args.host, args.port)
    return 0


def add_parsers(commands: common.Commands) -> None:
    """``urp console``."""
    actions = common.group(commands, "console", "console web degli operatori")
    serve = actions.add_parser(
        "serve", help="avvia la console (URP_CONSOLE_HOST, URP_CONSOLE_PORT)"
    )
    serve.add_argument("--host", help="indirizzo di ascolto (predefinito 127.0.0.1)")
    serve.add_argument("--port", type=int, help="porta (predefinita 5080)")
    serve.set_defaults(handler=_console_serve)
