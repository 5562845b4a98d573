"""Alembic environment: migrates the connection `shipyard.store.migrate` hands over.

Without one (for example `alembic.command.revision(..., autogenerate=True)` run by a developer
with `shipyard.store.migrate.alembic_config(url)`), it opens its own engine on the URL.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from shipyard.store.engine import create_engine
from shipyard.store.migrate import in_models
from shipyard.store.tables import Base


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=in_models,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _migrate_url(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate)
    finally:
        await engine.dispose()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
    elif context.is_offline_mode():
        raise RuntimeError("offline (--sql) migrations are not supported")
    else:
        asyncio.run(_migrate_url(context.config.get_main_option("sqlalchemy.url", "")))


_main()
