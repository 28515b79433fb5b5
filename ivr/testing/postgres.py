"""A PostgreSQL database emptied for a test, so ``ivr`` migrates it from nothing."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from ivr.store.db import make_engine


def reset_postgres(url: str) -> None:
    """Drop and recreate the ``public`` schema of ``url`` (everything in it is lost).

    Synchronous: call it from a fixture or a test before any event loop runs."""

    async def reset() -> None:
        engine = make_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        finally:
            await engine.dispose()

    asyncio.run(reset())
