"""The store on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.dialplans import DialplanRegistry, publish, rollback
from ivr.errors import DialplanError
from ivr.store.db import current_revision, make_engine, upgrade
from ivr.store.repo import CallQueries, DialplanRepository
from ivr.store.writer import CallRecorder, EventWriter

ROOT = Path(__file__).resolve().parents[2]
HOTLINE = ROOT / "dialplans" / "hotline.yaml"


def test_upgrade_is_idempotent_and_history_is_linear(db_url: str) -> None:
    from alembic.script import ScriptDirectory

    from ivr.store.db import alembic_config

    script = ScriptDirectory.from_config(alembic_config(db_url))
    assert len(script.get_heads()) == 1  # one linear history
    assert current_revision(db_url) == script.get_current_head()
    assert upgrade(db_url) == []


async def test_publish_history_rollback(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    repo = DialplanRepository(engine)
    try:
        v1 = await publish(repo, HOTLINE)
        assert v1.version == 1
        assert (await publish(repo, HOTLINE)).version == 1  # unchanged text: no new version
        edited = tmp_path / "hotline.yaml"
        edited.write_text(HOTLINE.read_text().replace("Welcome to Acme Pay.", "Hello from Acme."))
        assert (await publish(repo, edited)).version == 2
        registry = DialplanRegistry(repo)
        await registry.refresh()
        live = registry.get("hotline")
        assert live is not None and live.version == 2
        back = await rollback(repo, "hotline", None)
        assert back.version == 3 and back.sha256 == v1.sha256
        assert "rollback of v2 to v1" in (back.note or "")
        assert await registry.refresh()
        assert registry.get("hotline").version == 3  # type: ignore[union-attr]
        assert [v.version for v in await repo.history("hotline")] == [3, 2, 1]
        assert live.version == 2  # a call holding the old plan keeps it
        with pytest.raises(DialplanError) as err:
            await rollback(repo, "hotline", 9)
        assert err.value.code == "dialplan-no-version"
    finally:
        await engine.dispose()


async def test_invalid_dialplan_is_never_published(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    repo = DialplanRepository(engine)
    try:
        bad = tmp_path / "bad.yaml"
        bad.write_text(HOTLINE.read_text().replace("next: choose_language", "next: choose_languag"))
        with pytest.raises(DialplanError) as err:
            await publish(repo, bad)
        assert "choose_languag" in err.value.message and f"{bad}:" in err.value.message
        assert await repo.history("hotline") == []
    finally:
        await engine.dispose()


async def test_writer_stores_calls_and_events_in_order(db_url: str) -> None:
    engine = make_engine(db_url)
    writer = EventWriter(engine, flush_seconds=0.01)
    try:
        rec = CallRecorder(writer, "c" * 32)
        rec.start(transport="agi", route="hotline", caller="+15551234567")
        for i in range(50):
            rec.event("dtmf", node="main_menu", digits=str(i % 10))
        rec.update(outcome="queued", queue="payments")
        assert await writer.flush()
        calls = CallQueries(engine)
        row = await calls.get("c" * 32)
        assert row is not None and (row.outcome, row.queue) == ("queued", "payments")
        events = await calls.events(row.id)
        assert [e.seq for e in events] == list(range(1, 51))
        assert events[3].data == {"digits": "3"}
        assert (await calls.recent(outcome="queued"))[0].id == row.id
    finally:
        await engine.dispose()


async def test_call_search_takes_wildcards_literally(db_url: str) -> None:
    """A supervisor typing ``%`` or ``_`` finds calls with that text, not every call."""
    engine = make_engine(db_url)
    writer = EventWriter(engine, flush_seconds=0.01)
    try:
        rec = CallRecorder(writer, "d" * 32)
        rec.start(transport="agi", route="hotline", caller="+15551234567")
        assert await writer.flush()
        calls = CallQueries(engine)
        assert (await calls.get("dddddd")) is not None
        assert await calls.get("%%%%%%") is None
        assert await calls.get("______") is None
        assert [c.id for c in await calls.recent(caller="4567")] == ["d" * 32]
        assert await calls.recent(caller="%") == []
        assert await calls.recent(caller="_") == []
    finally:
        await engine.dispose()


async def test_writer_keeps_rows_while_the_database_is_down() -> None:
    engine = make_engine("postgresql+asyncpg://ivr:ivr@127.0.0.1:1/nowhere")
    writer = EventWriter(engine, flush_seconds=0.01)
    try:
        CallRecorder(writer, "d" * 32).start(transport="agi", route="hotline")
        assert not await writer.flush()
        assert not writer.healthy and writer.last_error
        assert not await writer.wait_idle(timeout=0.05)  # nothing was lost or dropped
    finally:
        await engine.dispose()
