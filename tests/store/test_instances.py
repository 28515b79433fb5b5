"""Issue 13 item 6: every instance has a stable id, and closes only its own calls left open."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr.config import load_settings
from ivr.errors import ConfigError
from ivr.store.db import make_engine
from ivr.store.instances import close_left_open
from ivr.store.repo import CallQueries
from ivr.store.writer import CallRecorder, EventWriter


def test_instance_id_is_stable_per_data_dir_and_can_be_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IVR_INSTANCE_ID", raising=False)
    first = load_settings(tmp_path / "a").instance_id
    assert first == load_settings(tmp_path / "a").instance_id  # same after a restart
    assert first != load_settings(tmp_path / "b").instance_id
    assert first.startswith(socket.gethostname().split(".")[0][:8])
    monkeypatch.setenv("IVR_INSTANCE_ID", "call-server-1")
    assert load_settings(tmp_path / "a").instance_id == "call-server-1"
    monkeypatch.setenv("IVR_INSTANCE_ID", "two words")
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "a")
    assert "instance_id" in err.value.message


async def test_closing_left_open_calls_touches_only_this_instances_open_calls(
        db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        for instance, call_id, outcome in (("a", "1" * 32, None), ("a", "2" * 32, "queued"),
                                           ("b", "3" * 32, None)):
            writer = EventWriter(engine, instance_id=instance)
            rec = CallRecorder(writer, call_id)
            rec.start(transport="agi", route="hotline")
            rec.event("prompt", text="Welcome")
            if outcome:
                rec.update(outcome=outcome, ended_at=datetime.now(UTC))
            assert await writer.flush()
        now = datetime.now(UTC)
        assert await close_left_open(engine, "a", now) == ["1" * 32]
        assert await close_left_open(engine, "a") == []  # nothing left to close
        calls = CallQueries(engine)
        closed = await calls.get("1" * 32)
        assert closed is not None and closed.ended_at is not None
        assert (closed.outcome, closed.error_code) == ("failed", "server-restart")
        assert [(e.seq, e.kind) for e in await calls.events(closed.id)] == [
            (1, "prompt"), (2, "error"), (3, "call_ended")]
        ended = await calls.get("2" * 32)
        assert ended is not None and (ended.outcome, ended.error_code) == ("queued", None)
        other = await calls.get("3" * 32)
        assert other is not None and (other.outcome, other.ended_at) == (None, None)
        assert len(await calls.events(other.id)) == 1
    finally:
        await engine.dispose()
