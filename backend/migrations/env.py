"""Alembic environment: uses the connection the service hands over, or DATABASE_URL from the CLI."""

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from backend.config import Settings
from backend.models import Base, UtcDateTime
from common.db import make_engine


def render_item(type_: str, obj: Any, _autogen_context: AutogenContext) -> str | Literal[False]:
    # In the database it is a plain DateTime; UtcDateTime only converts on the Python side.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime()"
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=Base.metadata, render_as_batch=True, render_item=render_item
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    engine = make_engine(Settings().database_url)
    with engine.begin() as cli_connection:
        run_migrations(cli_connection)
    engine.dispose()
