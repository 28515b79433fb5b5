"""Engines and migrations."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ivr.errors import StoreError

# aiosqlite logs every statement with its parameters at DEBUG: outbox bodies (codes) and PIN
# hashes would reach the log. Its DEBUG lines are never needed by an operator. Set here,
# where every engine is made, so no command or server can run without it.
logging.getLogger("aiosqlite").setLevel(max(logging.INFO, logging.getLogger("aiosqlite").level))

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _prepare_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def upgrade(url: str) -> list[str]:
    """Bring the schema to the newest revision; returns the revisions applied (may be empty).

    Alembic's async env calls ``asyncio.run``, so this runs in a thread of its own when an
    event loop is already running here.
    """
    _prepare_sqlite_dir(url)
    cfg = alembic_config(url)
    script = ScriptDirectory.from_config(cfg)
    before = current_revision(url)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(cfg, "head")
    else:
        errors: list[BaseException] = []

        def work() -> None:
            try:
                command.upgrade(cfg, "head")
            except BaseException as err:  # re-raised in the caller's thread below
                errors.append(err)

        thread = threading.Thread(target=work, name="ivr-migrate")
        thread.start()
        thread.join()
        if errors:
            raise errors[0]
    head = script.get_current_head()
    if before == head:
        return []
    return [rev.revision for rev in script.iterate_revisions(head, before)][::-1]


def current_revision(url: str) -> str | None:
    """The schema revision in the database (None for an empty one)."""
    from sqlalchemy import create_engine

    sync_url = make_url(url)
    driver = {"sqlite+aiosqlite": "sqlite", "postgresql+asyncpg": None}.get(sync_url.drivername)
    if driver is None:
        return _current_revision_async(url)
    engine = create_engine(sync_url.set(drivername=driver))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _current_revision_async(url: str) -> str | None:
    result: list[str | None] = []

    async def read() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                result.append(await conn.run_sync(
                    lambda c: MigrationContext.configure(c).get_current_revision()))
        finally:
            await engine.dispose()

    thread = threading.Thread(target=lambda: asyncio.run(read()))
    thread.start()
    thread.join()
    return result[0] if result else None


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL and a busy timeout so readers never block the server."""
    try:
        engine = create_async_engine(url, **kwargs)
    except Exception as err:
        raise StoreError("store-bad-url", f"cannot use database URL: {err}") from err
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine
