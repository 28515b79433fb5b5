"""``ivr report``: the analytics figures in a terminal (the command's main on a data dir)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr.cli import main
from ivr.events import EventKind
from ivr.store.db import make_engine, upgrade
from ivr.store.writer import CallRecorder, EventWriter

ROOT = Path(__file__).resolve().parents[1]


async def _record(url: str) -> None:
    engine = make_engine(url)
    writer = EventWriter(engine, flush_seconds=0.01, timezone="Asia/Shanghai")
    for n, (hour, outcome, queue) in enumerate([(1, "self_served", None),
                                                (2, "queued", "refunds"),
                                                (20, "self_served", None)]):  # Dec 2 there
        log = CallRecorder(writer, f"report{n:026d}")
        log.start(started_at=datetime(2026, 12, 1, hour, tzinfo=UTC), transport="agi",
                  route="hotline", dialplan_id="hotline", language="en-US")
        log.event(EventKind.SURVEY, node="survey", score=3 + n, scale=5, mode="keypad")
        log.event(EventKind.CALL_ENDED, outcome=outcome, queue=queue, seconds=10.0)
    assert await writer.flush()
    await engine.dispose()


def test_report_prints_the_figures_in_the_hotline_timezone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "var").mkdir()
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'ivr.db'}"
    upgrade(url)
    asyncio.run(_record(url))
    monkeypatch.setenv("IVR_TIMEZONE", "Asia/Shanghai")
    assert main(["--data-dir", str(tmp_path), "report", "--from", "2026-12-01",
                 "--to", "2026-12-01", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["calls"] == 2 and figures["transfers"] == {"refunds": 1}
    assert figures["survey"] == {"responses": 2, "mean": 3.5}
    assert list(figures["by_day"]) == ["2026-12-01"]
    assert main(["--data-dir", str(tmp_path), "report", "--from", "2026-12-01",
                 "--to", "2026-12-02"]) == 0
    human = capsys.readouterr().out
    assert "containment         66.7%" in human
    assert "Asia/Shanghai days" in human and "2026-12-02" in human
    assert main(["--data-dir", str(tmp_path), "report", "--from", "2026-12-09",
                 "--to", "2026-12-01"]) == 2
    bad = capsys.readouterr()
    assert "before" in bad.err and bad.out == ""
