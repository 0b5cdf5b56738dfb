"""``urp operators add|permit|password|disable|list``: the office's console accounts.

The accounts are :mod:`urp.handoff.operators`; a password never goes on the command line.
A password typed here is the admin's: the operator changes it at the first login in the
console, unless ``--definitiva`` says it is already theirs.
"""

from __future__ import annotations

import argparse
import getpass
import os

from urp.cli import common
from urp.core.settings import load_settings

ROLE_LABELS = {"operator": "operatore", "trainer": "addestratore", "admin": "amministratore"}
PASSWORD_VARIABLE = "URP_OPERATOR_PASSWORD"


def _new_password() -> str | None:
    """From ``URP_OPERATOR_PASSWORD`` (scripts) or typed twice: never from the command line,
    where it would stay in the shell history and in the process list."""
    if password := os.environ.get(PASSWORD_VARIABLE):
        return password
    password = getpass.getpass("Password: ")
    if getpass.getpass("Ripeti la password: ") != password:
        return None
    return password


def _operators_add(args: argparse.Namespace) -> int:
    from urp.handoff.operators import OperatorService

    password = _new_password()
    if password is None:
        return common.fail("le due password non coincidono")
    operator = OperatorService(common.database()).add(
        args.username,
        args.name,
        password,
        args.role,
        can_publish=args.publish,
        temporary=not args.permanent,
    )
    print(
        f"Operatore {operator.username} ({operator.display_name}, "
        f"{ROLE_LABELS[operator.role]}) aggiunto"
        + (": può pubblicare memo ed emergenze." if operator.may_publish else ".")
    )
    return 0


def _operators_permit(args: argparse.Namespace) -> int:
    from urp.handoff.operators import OperatorService

    operator = OperatorService(common.database()).set_publish(
        args.username, args.publish, by=common.operator_name(args)
    )
    if operator.may_publish:
        print(f"Operatore {operator.username}: può pubblicare memo ed emergenze.")
    else:
        print(f"Operatore {operator.username}: non può pubblicare memo ed emergenze.")
    return 0


def _operators_password(args: argparse.Namespace) -> int:
    from urp.handoff.operators import OperatorService

    password = _new_password()
    if password is None:
        return common.fail("le due password non coincidono")
    operator = OperatorService(common.database()).reset_password(
        args.username, password, by=common.operator_name(args), temporary=not args.permanent
    )
    print(f"Nuova password per {operator.username}: le sue sessioni nella console sono chiuse.")
    return 0


def _operators_disable(args: argparse.Namespace) -> int:
    from urp.handoff.operators import OperatorService

    operator = OperatorService(common.database()).disable(args.username)
    print(f"Operatore {operator.username} disattivato: non può più accedere.")
    return 0


def _operators_list(args: argparse.Namespace) -> int:
    from urp.handoff.operators import OperatorService

    timezone = load_settings().timezone
    operators = OperatorService(common.database()).list()
    if not operators:
        print("Nessun operatore: aggiungine uno con `urp operators add`.")
    for operator in operators:
        state = "attivo" if operator.active else "disattivato"
        publish = "pubblica" if operator.may_publish else ""
        login = (
            f"ultimo accesso {operator.last_login_at.astimezone(timezone):%d/%m/%Y %H:%M}"
            if operator.last_login_at
            else "mai entrato"
        )
        print(
            f"{operator.username:<20} {operator.display_name:<24} "
            f"{ROLE_LABELS[operator.role]:<14} {state:<11} {publish:<9} {login}"
        )
    return 0


def _permanent_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--definitiva",
        dest="permanent",
        action="store_true",
        help="la password è già di chi userà l'account: non va cambiata al primo accesso",
    )


def add_parsers(commands: common.Commands) -> None:
    """``urp operators``."""
    actions = common.group(commands, "operators", "account degli operatori dell'URP")
    add = actions.add_parser(
        "add", help=f"aggiunge un operatore (password chiesta a terminale o da {PASSWORD_VARIABLE})"
    )
    add.add_argument("username", metavar="UTENTE", help="minuscole, cifre, . _ -")
    add.add_argument("--name", required=True, metavar="NOME", help="«Mario Rossi»")
    add.add_argument(
        "--role", choices=tuple(ROLE_LABELS), default="operator", help="predefinito: operator"
    )
    add.add_argument(
        "--publish", action="store_true", help="può pubblicare memo ed emergenze agli iscritti"
    )
    _permanent_option(add)
    add.set_defaults(handler=_operators_add)
    permit = actions.add_parser(
        "permit", help="concede (--publish) o toglie (--no-publish) il permesso di pubblicare"
    )
    permit.add_argument("username", metavar="UTENTE")
    permit.add_argument(
        "--publish",
        action=argparse.BooleanOptionalAction,
        required=True,
        help="pubblicare memo ed emergenze a tutti gli iscritti",
    )
    permit.add_argument("--operator", help="chi decide (predefinito: l'utente del sistema)")
    permit.set_defaults(handler=_operators_permit)
    password = actions.add_parser(
        "password",
        help=f"nuova password (a terminale o da {PASSWORD_VARIABLE}); chiude le sue sessioni",
    )
    password.add_argument("username", metavar="UTENTE")
    password.add_argument("--operator", help="chi la cambia (predefinito: l'utente del sistema)")
    _permanent_option(password)
    password.set_defaults(handler=_operators_password)
    disable = actions.add_parser("disable", help="disattiva un operatore (lo storico resta)")
    disable.add_argument("username", metavar="UTENTE")
    disable.set_defaults(handler=_operators_disable)
    listing = actions.add_parser("list", help="elenca gli operatori")
    listing.set_defaults(handler=_operators_list)
