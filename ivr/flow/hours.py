"""Business hours: a weekly schedule in a timezone plus holidays. Pure: the caller passes the time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Schedule:
    """Compiled opening hours."""

    zone: ZoneInfo
    ranges: tuple[tuple[int, time, time], ...]
    """(weekday 0=Monday, opens, closes); closes <= opens means past midnight."""
    holidays: frozenset[date]

    def is_open(self, now: datetime) -> bool:
        """Whether the line is open at ``now`` (an aware datetime)."""
        local = now.astimezone(self.zone)
        today, clock = local.date(), local.time()
        yesterday = today - timedelta(days=1)
        for weekday, opens, closes in self.ranges:
            overnight = closes <= opens
            opened_today = weekday == local.weekday() and today not in self.holidays
            if opened_today and opens <= clock and (overnight or clock < closes):
                return True
            opened_yesterday = weekday == yesterday.weekday() and yesterday not in self.holidays
            if overnight and opened_yesterday and clock < closes:
                return True
        return False


def parse_days(spec: str) -> list[int]:
    """``mon-fri``, ``sat,sun``, ``daily`` -> weekday numbers."""
    spec = spec.strip().lower()
    if spec in ("daily", "all", "every day"):
        return list(range(7))
    out: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if "-" in part:
            first, last = (p.strip()[:3] for p in part.split("-", 1))
            if first not in DAYS or last not in DAYS:
                raise ValueError(f"unknown day range {part!r} (use mon..sun)")
            a, b = DAYS.index(first), DAYS.index(last)
            out.extend(DAYS.index(d) % 7 for d in (DAYS * 2)[a : a + (b - a) % 7 + 1])
        elif part[:3] in DAYS:
            out.append(DAYS.index(part[:3]))
        else:
            raise ValueError(f"unknown day {part!r} (use mon..sun, ranges like mon-fri)")
    return out


def parse_range(spec: str) -> tuple[time, time]:
    """``"09:00-18:00"`` -> (09:00, 18:00); ``24:00`` closes at midnight."""
    try:
        start, end = (s.strip() for s in spec.split("-", 1))
        opens = time.fromisoformat(start)
        closes = time(0, 0) if end == "24:00" else time.fromisoformat(end)
    except ValueError as err:
        raise ValueError(f"bad time range {spec!r} (use HH:MM-HH:MM)") from err
    return opens, closes


def compile_schedule(timezone: str, weekly: dict[str, str | list[str]], holidays: list[str]) -> Schedule:
    """Validate and compile; raises ValueError with a message for admins."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown timezone {timezone!r} (use an IANA name like Asia/Shanghai)") from err
    ranges: list[tuple[int, time, time]] = []
    for days, spans in weekly.items():
        for span in [spans] if isinstance(spans, str) else spans:
            opens, closes = parse_range(span)
            ranges.extend((day, opens, closes) for day in parse_days(days))
    try:
        dates = frozenset(date.fromisoformat(str(h)) for h in holidays)
    except ValueError as err:
        raise ValueError(f"bad holiday date: {err} (use YYYY-MM-DD)") from err
    return Schedule(zone, tuple(ranges), dates)
