"""What every ``urp`` command group shares: the store, today's date, errors and exit codes.

The command modules import this one and the feature packages, never each other.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING

from urp.core.errors import OperatorError
from urp.core.settings import Settings, SettingsError

if TYPE_CHECKING:
    from urp.core.data_files import UpsertReport
    from urp.core.db import Database

Handler = Callable[[argparse.Namespace], int]
Commands = argparse._SubParsersAction  # what ``add_subparsers`` returns: commands add to it

USAGE_ERROR = 2


def run(handler: Handler, args: argparse.Namespace) -> int:
    """Run a command: what an operator can fix is one line on stderr and exit code 2."""
    try:
        return handler(args)
    except SettingsError as error:
        print(f"Errore nelle impostazioni: {error}", file=sys.stderr)
    except OperatorError as error:
        print(f"Errore: {error}", file=sys.stderr)
    except OSError as error:
        print(f"Errore sul file: {error}", file=sys.stderr)
    return USAGE_ERROR


def fail(message: str) -> int:
    """``Errore: ...`` on stderr; the exit code of a command the operator must correct."""
    print(f"Errore: {message}", file=sys.stderr)
    return USAGE_ERROR


def group(commands: Commands, name: str, help: str) -> Commands:
    """A command group (``urp NAME AZIONE``): its actions are added to what this returns."""
    parser = commands.add_parser(name, help=help)
    return parser.add_subparsers(dest="action", required=True, metavar="AZIONE")


def actions_of(commands: Commands, name: str) -> Commands:
    """The actions of a group added before, so another module can add one to it."""
    parser = commands.choices[name]
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def database() -> Database:
    """The store named by ``URP_DB_URL``, refused if its schema is behind the code."""
    # Imported here, as the feature packages are in each command: the CLI starts fast.
    from urp.core.db import Database, require_current_schema

    opened = Database.from_environment()
    require_current_schema(opened)
    return opened


def today(settings: Settings) -> date:
    """Today in the municipality's time zone (tests replace it)."""
    return datetime.now(settings.timezone).date()


def day(value: str) -> date:
    """An argparse type: dd/mm/yyyy or yyyy-mm-dd."""
    from urp.core.data_files import parse_day

    parsed = parse_day(value)
    if parsed is None:
        raise argparse.ArgumentTypeError(f"data non valida {value!r} (gg/mm/aaaa o aaaa-mm-gg)")
    return parsed


def operator_name(args: argparse.Namespace) -> str:
    """``--operator``, or the system user: who an audited change is recorded under."""
    return (args.operator or "").strip() or getpass.getuser()


def upserted(report: UpsertReport, what: str, ending: str) -> str:
    """ "Bandi: nuovi 2, aggiornati 0, invariati 1." (``ending``: "i" or, for "zone", "e")."""
    return (
        f"{what}: nuov{ending} {report.created}, aggiornat{ending} {report.updated}, "
        f"invariat{ending} {report.unchanged}."
    )


def news(count: int) -> str:
    """ "1 notizia", "3 notizie": the items of a memo."""
    return "1 notizia" if count == 1 else f"{count} notizie"


def clip(text: str, width: int = 70) -> str:
    """One line of a listing: a long text cut with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"
