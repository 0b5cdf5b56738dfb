"""The schema comes from the migrations, and the migrations match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from tests.store.conftest import TABLES
from urp.core.db import (
    Database,
    alembic_config,
    current_revision,
    database_url,
    head_revision,
    include_name,
    upgrade,
)
from urp.core.models import metadata
from urp.core.settings import PROJECT_ROOT


def test_the_database_is_at_the_latest_revision(database: Database) -> None:
    assert current_revision(database) == head_revision() == "0017"


def test_models_and_migrations_agree(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        assert compare_metadata(context, metadata) == []


def test_downgrade_and_upgrade_again(database: Database) -> None:
    with database.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(TABLES).isdisjoint(inspect(database.engine).get_table_names())
    assert current_revision(database) is None
    upgrade(database)
    assert set(inspect(database.engine).get_table_names()) >= set(TABLES)
    assert current_revision(database) == "0017"


def test_sqlite_runs_with_foreign_keys_and_wal(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path}/var/urp.db")  # the folder is created
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    database.dispose()


def test_the_default_database_is_one_file_per_municipality_under_var(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("URP_DB_URL", raising=False)
    assert database_url() == f"sqlite:///{PROJECT_ROOT / 'var' / 'urp-ancona.db'}"
    monkeypatch.setenv("URP_SETTINGS", "settings/arezzo.yml")
    assert database_url() == f"sqlite:///{PROJECT_ROOT / 'var' / 'urp-arezzo.db'}"
    monkeypatch.setenv("URP_DB_URL", "postgresql://urp@db/urp")
    assert database_url() == "postgresql://urp@db/urp"
