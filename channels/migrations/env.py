"""Alembic environment of the channel service: the connection the service hands over, or the
CHANNELS_DATABASE_URL from the environment when run from the alembic CLI."""

from alembic import context
from sqlalchemy import Connection

from channels.config import Settings
from channels.models import Base
from common.db import make_engine


def run_migrations(connection: Connection) -> None:
    # Its own version table: the channel service and the backend may share one PostgreSQL database.
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        version_table="channels_alembic_version",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    engine = make_engine(Settings().channels_database_url)
    with engine.begin() as cli_connection:
        run_migrations(cli_connection)
    engine.dispose()
