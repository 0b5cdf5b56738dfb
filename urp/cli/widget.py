"""``urp widget serve``: the website's chat widget and its test page (:mod:`urp.widget`)."""

from __future__ import annotations

import argparse

from urp.cli import common


def _widget_serve(args: argparse.Namespace) -> int:
    from urp.widget.server import serve

    serve(args.host, args.port)
    return 0


def add_parsers(commands: common.Commands) -> None:
    """``urp widget``."""
    actions = common.group(commands, "widget", "chat del sito: widget e pagina di prova")
    serve = actions.add_parser(
        "serve",
        help="serve il widget e la pagina di prova (URP_WIDGET_HOST, URP_WIDGET_PORT, "
        "URP_WIDGET_RASA_URL)",
    )
    serve.add_argument("--host", help="indirizzo di ascolto (predefinito 127.0.0.1)")
    serve.add_argument("--port", type=int, help="porta (predefinita 5090)")
    serve.set_defaults(handler=_widget_serve)
