"""Create (or drop) the PostgreSQL databases of the production profile.

``python -m urp.tools.databases create URL...`` creates each database that does not exist
yet, connecting to the server's ``postgres`` database with the same credentials;
``drop URL...`` removes them (tests and benchmarks, never `make run-prod`). A URL that is
not PostgreSQL is left alone: SQLite creates its file itself.
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

MAINTENANCE_DATABASE = "postgres"


def _server(url: URL) -> URL:
    return url.set(drivername="postgresql", database=MAINTENANCE_DATABASE)


def _is_postgres(url: URL) -> bool:
    return url.get_backend_name() == "postgresql"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create(url_text: str) -> bool:
    """Create the database of ``url_text`` if missing; True if it was created."""
    url = make_url(url_text)
    if not _is_postgres(url) or not url.database:
        return False
    engine = create_engine(_server(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            ).scalar()
            if exists:
                return False
            connection.execute(text(f"CREATE DATABASE {_quoted(url.database)}"))
            return True
    finally:
        engine.dispose()


def drop(url_text: str) -> None:
    """Drop the database of ``url_text``, closing the connections still open to it."""
    url = make_url(url_text)
    if not _is_postgres(url) or not url.database:
        return
    engine = create_engine(_server(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": url.database},
            )
            connection.execute(text(f"DROP DATABASE IF EXISTS {_quoted(url.database)}"))
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("create", "drop"))
    parser.add_argument("urls", nargs="+", metavar="URL")
    args = parser.parse_args(argv)
    for url in args.urls:
        if args.command == "drop":
            drop(url)
        elif create(url):
            print(f"Creato il database {make_url(url).database}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
