"""Issue 13 item 2: no caller id, name or event data stops the call store, on SQLite and on
PostgreSQL; a database that goes away is told apart from a row it refuses."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from ivr.store.db import make_engine
from ivr.store.models import CallRow
from ivr.store.repo import CallQueries
from ivr.store.writer import CallRecorder, EventWriter
from ivr.testing.tcp_relay import TcpRelay

HOSTILE = "a" * 32
GOOD = "b" * 32
LATER = "c" * 32


def _deep(levels: int) -> dict[str, Any]:
    data: dict[str, Any] = {"leaf": 1}
    for _ in range(levels):
        data = {"inner": data}
    return data


def _hostile_call(writer: EventWriter) -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    rec = CallRecorder(writer, HOSTILE)
    rec.start(transport="agi", route="hotline", caller="+1" + "5" * 200,
              caller_name="Eve\x00\x1b[31mRed\x07" + "n" * 300, dialed="12\ud83d34\x00",
              channel="PJSIP/" + "x" * 500, language="en-US\x00\x00\x00\x00\x00\x00\x00",
              uniqueid=12345.5)
    rec.event("dtmf", node="main_menu\x00", digits="1\x00", blob="z" * 1_000_000,
              nan=float("nan"), inf=float("-inf"), raw=b"\x00\x01", deep=_deep(100),
              cycle=cycle, many=list(range(100_000)), surrogate="\udc80", obj=object())
    rec.event("prompt", **{f"k{i}": "t\x00" * 3000 for i in range(30)})
    rec.update(outcome="self_served", error_code="e" * 100, queue="\x00" * 100)


async def test_hostile_values_and_refused_rows_never_stop_the_writer(
        db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    engine = make_engine(db_url)
    codes: list[str] = []
    writer = EventWriter(engine, flush_seconds=0.01, instance_id="test-a", on_error=codes.append)
    runner = asyncio.create_task(writer.run())
    try:
        with caplog.at_level(logging.ERROR, logger="ivr.store.writer"):
            _hostile_call(writer)
            # Rows the database must refuse, whatever the cleaning: an event of a call that
            # does not exist (foreign key), a second call with the same id (primary key).
            CallRecorder(writer, "f" * 32).event("prompt", text="orphan event")
            CallRecorder(writer, HOSTILE).start(transport="agi", route="hotline")
            good = CallRecorder(writer, GOOD)
            good.start(transport="agi", route="hotline", caller="+15551234567")
            good.event("prompt", text="Welcome")
            good.update(outcome="queued", queue="payments")
            assert await writer.wait_idle(15), "the writer is stuck on a refused batch"
        assert writer.healthy
        assert await writer.ensure_written(HOSTILE, 1)  # a duplicate's row is there
        later = CallRecorder(writer, LATER)
        later.start(transport="webrtc", route="hotline", caller="+15550000000")
        later.update(outcome="abandoned")
        assert await writer.wait_idle(5)

        calls = CallQueries(engine)
        row = await calls.get(GOOD)
        assert row is not None and (row.outcome, row.queue) == ("queued", "payments")
        assert [e.data["text"] for e in await calls.events(GOOD)] == ["Welcome"]
        assert (later_row := await calls.get(LATER)) and later_row.outcome == "abandoned"

        bad = await calls.get(HOSTILE)
        assert bad is not None and bad.outcome == "self_served"
        assert bad.caller == ("+1" + "5" * 200)[:64]
        assert bad.caller_name is not None and len(bad.caller_name) == 128
        assert not any(c in (bad.caller_name or "") + (bad.dialed or "") + (bad.queue or "")
                       for c in "\x00\x1b\x07\ud83d")
        assert bad.caller_name.startswith("Eve\ufffd\ufffd[31mRed\ufffd")
        assert (len(bad.channel or ""), len(bad.error_code or "")) == (128, 64)
        assert (bad.language, bad.uniqueid, bad.instance_id) == (
            "en-US" + "\ufffd" * 7, "12345.5", "test-a")
        dtmf, prompt = await calls.events(HOSTILE)
        assert dtmf.node == "main_menu\ufffd" and dtmf.data["digits"] == "1\ufffd"
        assert len(dtmf.data["blob"]) == 4000 and dtmf.data["nan"] is None
        assert dtmf.data["raw"] == "(2 bytes)" and len(dtmf.data["many"]) == 200
        assert dtmf.data["surrogate"] == "\ufffd"
        assert prompt.data["truncated"] is True and prompt.data["bytes"] > 64 * 1024
        assert prompt.data["keys"] == [f"k{i}" for i in range(20)]

        # The two refused rows were dropped, each said so, and nothing else was.
        assert writer.rejected == 2 and codes == ["store-row-rejected"] * 2
        rejected = [r.getMessage() for r in caplog.records if "store-row-rejected" in r.message]
        assert len(rejected) == 2
        assert any("event row of call " + "f" * 32 in m for m in rejected)
        assert any("call row of call " + HOSTILE in m for m in rejected)
        async with engine.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(CallRow)) == 3
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await engine.dispose()


async def test_stopping_in_the_middle_of_a_flush_writes_every_row_once(db_url: str) -> None:
    engine = make_engine(db_url)
    calls = CallQueries(engine)
    try:
        for n in range(20):  # the server stops at a different moment of the flush each time
            writer = EventWriter(engine, flush_seconds=0.01)
            runner = asyncio.create_task(writer.run())
            call_id = f"{n:032d}"
            rec = CallRecorder(writer, call_id)
            rec.start(transport="agi", route="hotline")
            for digit in range(300):
                rec.event("dtmf", digits=str(digit % 10))
            rec.update(outcome="queued", queue="payments")
            while writer.pending:  # the writer has taken the batch: it is writing it now
                await asyncio.sleep(0)
            await asyncio.sleep(n * 0.002)
            runner.cancel()  # the server stops
            await asyncio.gather(runner, return_exceptions=True)
            row = await calls.get(call_id)
            assert row is not None and row.outcome == "queued" and writer.rejected == 0
            assert len(await calls.events(call_id)) == 300
    finally:
        await engine.dispose()


async def test_rows_that_cannot_be_written_at_shutdown_are_counted_in_the_log(
        caplog: pytest.LogCaptureFixture) -> None:
    engine = make_engine("postgresql+asyncpg://ivr:ivr@127.0.0.1:1/nowhere")
    writer = EventWriter(engine, flush_seconds=0.01)
    runner = asyncio.create_task(writer.run())
    try:
        rec = CallRecorder(writer, "d" * 32)
        rec.start(transport="agi", route="hotline")
        rec.event("prompt", text="hello")
        await asyncio.sleep(0.2)
        assert not writer.healthy and writer.rejected == 0  # down is not refused: rows kept
        with caplog.at_level(logging.ERROR, logger="ivr.store.writer"):
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        assert "store-rows-lost: 2 call row(s) could not be written before shutdown" in caplog.text
    finally:
        await engine.dispose()


async def test_a_database_that_goes_away_keeps_every_row_until_it_is_back(db_url: str) -> None:
    url = make_url(db_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("a network database is needed to cut the connection")
    relay = TcpRelay(url.host or "127.0.0.1", url.port or 5432)
    engine = make_engine(url.set(host="127.0.0.1", port=await relay.start())
                         .render_as_string(hide_password=False))
    writer = EventWriter(engine, flush_seconds=0.01)
    runner = asyncio.create_task(writer.run())
    try:
        CallRecorder(writer, GOOD).start(transport="agi", route="hotline")
        assert await writer.wait_idle(5) and writer.healthy
        relay.cut()
        rec = CallRecorder(writer, LATER)
        rec.start(transport="agi", route="hotline", caller="+1" + "9" * 100)
        for n in range(20):
            rec.event("dtmf", digits=str(n % 10))
        assert not await writer.wait_idle(1)
        assert not writer.healthy and writer.rejected == 0 and writer.pending
        relay.restore()
        assert await writer.wait_idle(15) and writer.healthy
        assert len(await CallQueries(engine).events(LATER)) == 20
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await engine.dispose()
        await relay.close()
