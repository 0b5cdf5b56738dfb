"""Alembic migrations of the subscriber register (applied by ``urp db upgrade``)."""
