"""Analytics from what the store writer records, on SQLite and PostgreSQL: days in the
hotline's timezone, both dates included, per dialplan and language."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ivr.events import EventKind
from ivr.store.analytics import KEYS, analytics, csv_rows, parse_period
from ivr.store.db import make_engine, upgrade
from ivr.store.writer import CallRecorder, EventWriter

ZONE = "Asia/Shanghai"  # UTC+8: 20:00 UTC on Dec 1 is Dec 2 there


def place(writer: EventWriter, n: int, at: datetime, outcome: str, *, plan: str = "hotline",
          queue: str | None = None, intent: str | None = None, misses: tuple[str, ...] = (),
          survey: int | None = None, escalated: bool = False, language: str = "en-US",
          choose: str | None = None) -> None:
    """One finished call as the flow would record it."""
    log = CallRecorder(writer, f"call{n:028d}")
    log.start(started_at=at, transport="agi", route="hotline", dialplan_id=plan,
              language=language)
    if choose:
        log.event(EventKind.SET, node="lang", values={"language": choose})
    log.event(EventKind.NODE_ENTERED, node="main", node_kind="ask")
    for kind in misses:
        log.event(EventKind(kind), node="main", attempt=1)
    if intent:
        log.event(EventKind.INTENT, node="main", intent=intent, confidence=0.9, band="accept")
    log.event(EventKind.NODE_ENTERED, node="main", node_kind="ask")  # a second visit
    if escalated:
        log.event(EventKind.ESCALATION, node="main", action="queue", queue="senior_agents")
    if survey is not None:
        log.event(EventKind.SURVEY, node="survey", score=survey, scale=5, mode="keypad")
    log.event(EventKind.CALL_ENDED, outcome=outcome, queue=queue, seconds=30.0 + n)
    log.update(ended_at=at, outcome=outcome, queue=queue)


@pytest.fixture
async def recorded(db_url: str):  # type: ignore[no-untyped-def]
    upgrade(db_url)
    engine = make_engine(db_url)
    writer = EventWriter(engine, flush_seconds=0.01, timezone=ZONE)
    place(writer, 1, datetime(2026, 12, 1, 1, 0, tzinfo=UTC), "self_served", intent="fees",
          misses=("no_match", "no_match"), survey=4)
    place(writer, 2, datetime(2026, 12, 1, 20, 0, tzinfo=UTC), "queued", queue="refunds",
          intent="refund", misses=("no_input",), survey=2, escalated=True, choose="zh-CN")
    place(writer, 3, datetime(2026, 12, 2, 10, 0, tzinfo=UTC), "abandoned", language="zh-CN")
    place(writer, 4, datetime(2026, 12, 2, 11, 0, tzinfo=UTC), "self_served", plan="promo")
    place(writer, 5, datetime(2026, 12, 3, 16, 30, tzinfo=UTC), "self_served")  # Dec 4 there
    assert await writer.flush()
    yield engine
    await engine.dispose()


async def test_figures_match_the_calls_placed(recorded) -> None:  # type: ignore[no-untyped-def]
    figures = await analytics(recorded, parse_period("2026-12-01", "2026-12-03"))
    assert list(figures) == [*KEYS, "by_day"]
    assert figures["calls"] == 4  # the fifth call is on Dec 4 in Shanghai
    assert figures["containment_rate"] == 0.5 and figures["abandonment_rate"] == 0.25
    assert figures["avg_ivr_seconds"] == pytest.approx((31 + 32 + 33 + 34) / 4)
    assert figures["transfers"] == {"refunds": 1}
    assert figures["intents"] == {"fees": 1, "refund": 1}
    # main: 8 visits (2 per call); one visit with no-matches (two of them), one with no-input
    assert figures["nodes"] == {"main": {"no_match_rate": 0.125, "no_input_rate": 0.125}}
    assert figures["escalations"] == 1
    assert figures["survey"] == {"responses": 2, "mean": 3.0}
    by_day = figures["by_day"]
    assert list(by_day) == ["2026-12-01", "2026-12-02", "2026-12-03"]
    assert [d["calls"] for d in by_day.values()] == [1, 3, 0]
    assert by_day["2026-12-02"]["survey"] == {"responses": 1, "mean": 2.0}
    assert by_day["2026-12-03"]["containment_rate"] is None
    assert set(by_day["2026-12-01"]) == set(KEYS)


async def test_dialplan_and_language_filters(recorded) -> None:  # type: ignore[no-untyped-def]
    promo = await analytics(recorded, parse_period("2026-12-01", "2026-12-04",
                                                   dialplan="promo"))
    assert promo["calls"] == 1 and promo["containment_rate"] == 1.0
    # Call 2 chose Mandarin during the call: it counts as zh-CN.
    zh = await analytics(recorded, parse_period("2026-12-01", "2026-12-04", language="zh-CN"))
    assert zh["calls"] == 2 and zh["transfers"] == {"refunds": 1}
    day = await analytics(recorded, parse_period("2026-12-04", "2026-12-04"))
    assert day["calls"] == 1 and list(day["by_day"]) == ["2026-12-04"]


async def test_csv_has_a_row_per_day_and_a_total(recorded) -> None:  # type: ignore[no-untyped-def]
    rows = csv_rows(await analytics(recorded, parse_period("2026-12-01", "2026-12-03")))
    assert rows[0][:3] == ["day", "calls", "containment_rate"]
    assert "transfers:refunds" in rows[0] and "no_match_rate:main" in rows[0]
    assert [r[0] for r in rows[1:]] == ["2026-12-01", "2026-12-02", "2026-12-03", "total"]
    assert rows[-1][1] == "4"


@pytest.mark.parametrize(("start", "end", "message"), [
    ("2026-12-05", "2026-12-01", "before"), ("12/01/2026", "2026-12-02", "YYYY-MM-DD"),
    ("2020-01-01", "2026-12-01", "at most")])
def test_bad_periods_say_what_is_wrong(start: str, end: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_period(start, end)


def test_days_are_inclusive() -> None:
    assert parse_period("2026-12-01", "2026-12-03").days == [
        date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)]
