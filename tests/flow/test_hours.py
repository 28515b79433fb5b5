from datetime import UTC, datetime

from ivr.flow.hours import compile_schedule


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_weekday_hours_in_the_schedules_timezone() -> None:
    s = compile_schedule("Asia/Shanghai", {"mon-fri": "08:00-22:00"}, [])
    assert s.is_open(at("2026-11-25T09:00:00+08:00"))  # Wednesday
    assert not s.is_open(at("2026-11-25T22:00:00+08:00"))
    assert not s.is_open(at("2026-11-25T23:30:00+00:00"))  # 07:30 Thursday in Shanghai
    assert not s.is_open(at("2026-11-28T10:00:00+08:00"))  # Saturday


def test_holidays_close_all_day() -> None:
    s = compile_schedule("Europe/Berlin", {"daily": "00:00-24:00"}, ["2026-12-25"])
    assert s.is_open(at("2026-12-24T12:00:00+01:00"))
    assert not s.is_open(at("2026-12-25T12:00:00+01:00"))


def test_overnight_range() -> None:
    s = compile_schedule("UTC", {"fri": ["22:00-02:00"]}, [])
    assert s.is_open(at("2026-11-27T23:00:00+00:00"))  # Friday night
    assert s.is_open(at("2026-11-28T01:00:00+00:00"))  # early Saturday
    assert not s.is_open(at("2026-11-28T03:00:00+00:00"))
