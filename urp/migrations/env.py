"""Alembic environment: migrate the connection handed over by :func:`urp.core.db.upgrade`."""

from __future__ import annotations

from alembic import context

from urp.core.db import include_name
from urp.core.models import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite alters tables by copying them: let future migrations do it transparently.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
