"""A call whose own row the database refuses (or the full backlog drops) costs one log line,
not one per later row; nobody waits for it as if it were written; and the log never shows
the refused value. Both databases (``db_url``)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from ivr.store.db import make_engine
from ivr.store.repo import CallQueries
from ivr.store.writer import CallRecorder, EventWriter

REFUSED = "r" * 32
GOOD = "g" * 32
DROPPED = "d" * 32
CARD = "4111111111111111"


async def test_the_later_rows_of_a_refused_call_are_dropped_with_one_log_line(
        db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    engine = make_engine(db_url)
    codes: list[str] = []
    writer = EventWriter(engine, flush_seconds=0.01, on_error=codes.append)
    runner = asyncio.create_task(writer.run())
    try:
        with caplog.at_level(logging.WARNING, logger="ivr.store.writer"):
            refused = CallRecorder(writer, REFUSED)
            refused.start(route="hotline")  # no transport: NOT NULL refuses the row
            good = CallRecorder(writer, GOOD)
            good.start(transport="agi", route="hotline")
            for n in range(200):
                refused.event("dtmf", digits=str(n % 10))
                good.event("dtmf", digits=str(n % 10))
            refused.event("turn", node="menu", result="ok", transcript="hello")
            assert await writer.wait_idle(15)
            assert not await writer.ensure_written(REFUSED, 1.0)
            for n in range(50):  # rows the call sends after its row was refused
                refused.event("dtmf", digits=str(n % 10))
            refused.update(outcome="abandoned")
            assert await writer.wait_idle(5)
        assert writer.healthy and writer.rejected == 1
        assert codes == ["store-row-rejected", "store-rows-orphaned"]
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 2, lines
        assert "call row of call " + REFUSED in lines[0]
        assert "store-rows-orphaned" in lines[1] and REFUSED in lines[1]
        assert len(await CallQueries(engine).events(GOOD)) == 200
        assert await writer.ensure_written(GOOD, 1.0)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await engine.dispose()


async def test_a_call_dropped_by_a_full_backlog_is_not_reported_written(db_url: str) -> None:
    engine = make_engine(db_url)
    writer = EventWriter(engine, flush_seconds=0.01, max_pending=3)
    try:
        for n in range(3):
            CallRecorder(writer, f"{n:032d}").start(transport="agi", route="hotline")
        CallRecorder(writer, DROPPED).start(transport="agi", route="hotline")
        assert writer.pending == 3
        assert not await writer.ensure_written(DROPPED, 0.5)
        assert await writer.flush() and await writer.ensure_written("0" * 32, 0.5)
        CallRecorder(writer, DROPPED).event("prompt", text="orphan")  # dropped, not sent
        assert writer.pending == 0 and not await writer.ensure_written(DROPPED, 0.5)
    finally:
        await engine.dispose()


async def test_a_refused_value_is_never_logged(
        db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    engine = make_engine(db_url)
    writer = EventWriter(engine, flush_seconds=0.01)
    try:
        with caplog.at_level(logging.DEBUG, logger="ivr.store.writer"):
            # An integer column given text the driver cannot encode (PostgreSQL refuses it;
            # SQLite stores it): whatever happens, the value is not in the log.
            CallRecorder(writer, REFUSED).start(transport="agi", route="hotline", priority=CARD)
            assert await writer.flush()
        assert CARD not in caplog.text
        if writer.rejected:
            assert "store-row-rejected" in caplog.text
    finally:
        await engine.dispose()
