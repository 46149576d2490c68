"""Bring the database schema to the newest migration (run by the service on start-up)."""

from pathlib import Path

from sqlalchemy import Engine

from common.db import upgrade_with_alembic

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK_ID = 80010001


def upgrade_to_head(engine: Engine) -> None:
    upgrade_with_alembic(engine, MIGRATIONS, _MIGRATION_LOCK_ID)
