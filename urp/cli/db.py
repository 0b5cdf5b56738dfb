"""``urp db upgrade|current``: the schema of the store named by ``URP_DB_URL``."""

from __future__ import annotations

import argparse

from urp.cli import common


def _db_upgrade(args: argparse.Namespace) -> int:
    from urp.core.db import Database, current_revision, upgrade

    database = Database.from_environment()
    upgrade(database)
    print(f"Database aggiornato alla revisione {current_revision(database)}: {database.describe()}")
    return 0


def _db_current(args: argparse.Namespace) -> int:
    from urp.core.db import Database, current_revision, head_revision

    database = Database.from_environment()
    current, head = current_revision(database), head_revision()
    if current == head:
        print(f"Revisione del database: {current} (aggiornato) - {database.describe()}")
    else:
        print(
            f"Revisione del database: {current or 'nessuna'}, l'ultima è {head}: "
            f"esegui `urp db upgrade` - {database.describe()}"
        )
    return 0


def add_parsers(commands: common.Commands) -> None:
    """``urp db``: unlike every other command, it works on a store whose schema is behind."""
    actions = common.group(commands, "db", "database degli iscritti (URP_DB_URL)")
    upgrade = actions.add_parser("upgrade", help="crea o aggiorna lo schema del database")
    upgrade.set_defaults(handler=_db_upgrade)
    current = actions.add_parser("current", help="mostra la revisione dello schema")
    current.set_defaults(handler=_db_current)
