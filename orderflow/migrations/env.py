"""Alembic environment: the service runs migrations itself (``flask init-db``), on the
connection it hands over; the ``alembic`` command line works too, with -x url=<database URL>."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from orderflow.core.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("No database to migrate: pass -x url=… or set sqlalchemy.url")
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
