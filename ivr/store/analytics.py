"""Hotline analytics over a date range: the figures of ``GET /api/analytics``, the analytics
page, its CSV and ``ivr report``.

Days are calendar days in the hotline's timezone, both ends included. The figures come
from the running totals every finished call adds to (:mod:`ivr.store.rollup`), kept per
day in that timezone: a report reads a few dozen rows per day, however many calls there
were.

Rates are fractions 0..1 of the calls Hotline finished (calls in progress are not counted);
a node's no-match (no-input) rate is the share of its visits in which the caller was not
understood (said nothing) at least once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.store.models import AnalyticsDayRow

KEYS = ("calls", "containment_rate", "abandonment_rate", "avg_ivr_seconds", "transfers",
        "intents", "nodes", "escalations", "survey")
"""The figures, in the order of the API, the CSV and the report (plus ``by_day``)."""
MAX_DAYS = 366 * 3


@dataclass(frozen=True, slots=True)
class Period:
    """What a report covers: ``start``..``end`` inclusive (days in the hotline's timezone)."""

    start: date
    end: date
    dialplan: str | None = None
    language: str | None = None

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


class _Tally:
    """Counts of one day (or the whole range)."""

    def __init__(self) -> None:
        self.calls = self.self_served = self.abandoned = self.escalations = 0
        self.seconds, self.timed = 0.0, 0
        self.transfers: dict[str, int] = defaultdict(int)
        self.intents: dict[str, int] = defaultdict(int)
        self.nodes: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        self.survey_sum, self.survey_n = 0.0, 0

    def add(self, metric: str, key: str, n: int, amount: float) -> None:
        """Fold one summed figure in (see :func:`ivr.store.rollup.call_rows`)."""
        if metric == "calls":
            self.calls += n
            self.self_served += n if key == "self_served" else 0
            self.abandoned += n if key == "abandoned" else 0
        elif metric == "transfer":
            self.transfers[key] += n
        elif metric == "intent":
            self.intents[key] += n
        elif metric == "escalated":
            self.escalations += n
        elif metric == "ivr_seconds":
            self.seconds, self.timed = self.seconds + amount, self.timed + n
        elif metric.startswith("node_"):
            index = ("node_visits", "node_no_match", "node_no_input").index(metric)
            self.nodes[key][index] += n
        elif metric == "survey":
            self.survey_sum, self.survey_n = self.survey_sum + amount, self.survey_n + n

    def figures(self) -> dict[str, Any]:
        n = self.calls
        return {
            "calls": n,
            "containment_rate": round(self.self_served / n, 4) if n else None,
            "abandonment_rate": round(self.abandoned / n, 4) if n else None,
            "avg_ivr_seconds": round(self.seconds / self.timed, 2) if self.timed else None,
            "transfers": dict(sorted(self.transfers.items(), key=lambda kv: (-kv[1], kv[0]))),
            "intents": dict(sorted(self.intents.items(), key=lambda kv: (-kv[1], kv[0]))),
            "nodes": {node: {"no_match_rate": round(nm / v, 4), "no_input_rate": round(ni / v, 4)}
                      for node, (v, nm, ni) in sorted(self.nodes.items()) if v},
            "escalations": self.escalations,
            "survey": {"responses": self.survey_n,
                       "mean": round(self.survey_sum / self.survey_n, 2) if self.survey_n
                       else None},
        }


async def analytics(engine: AsyncEngine, period: Period) -> dict[str, Any]:
    """The figures for ``period``, overall and ``by_day`` (every day, empty ones too)."""
    total, days = _Tally(), {d: _Tally() for d in period.days}
    t = AnalyticsDayRow
    query = sa.select(t.day, t.metric, t.key, sa.func.sum(t.n), sa.func.sum(t.total)).where(
        t.day >= period.start, t.day <= period.end)
    if period.dialplan:
        query = query.where(t.dialplan_id == period.dialplan)
    if period.language:
        query = query.where(t.language == period.language)
    async with engine.connect() as conn:
        result = await conn.execute(query.group_by(t.day, t.metric, t.key))
        for day, metric, key, n, amount in result:
            if day in days:
                for tally in (total, days[day]):
                    tally.add(metric, key, int(n or 0), float(amount or 0))
    return {**total.figures(),
            "by_day": {d.isoformat(): tally.figures() for d, tally in days.items()}}


def parse_period(start: str, end: str, *, dialplan: str | None = None,
                 language: str | None = None) -> Period:
    """A :class:`Period` from ``YYYY-MM-DD`` strings; ``ValueError`` with a sentence the user
    can act on when they are wrong."""
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as err:
        raise ValueError(f"dates are YYYY-MM-DD (got from={start!r}, to={end!r})") from err
    if last < first:
        raise ValueError(f"'to' ({last}) is before 'from' ({first})")
    if (last - first).days >= MAX_DAYS:
        raise ValueError(f"at most {MAX_DAYS} days at once; pick a shorter range")
    return Period(first, last, dialplan, language)


def csv_rows(figures: dict[str, Any]) -> list[list[str]]:
    """One row per day and a total row; transfers, intents and nodes flattened to columns."""
    days = figures["by_day"]
    queues = sorted({q for f in days.values() for q in f["transfers"]})
    intents = sorted({i for f in days.values() for i in f["intents"]})
    nodes = sorted({n for f in days.values() for n in f["nodes"]})
    head = ["day", "calls", "containment_rate", "abandonment_rate", "avg_ivr_seconds",
            "escalations", "survey_responses", "survey_mean",
            *(f"transfers:{q}" for q in queues), *(f"intent:{i}" for i in intents),
            *(f"no_match_rate:{n}" for n in nodes), *(f"no_input_rate:{n}" for n in nodes)]

    def row(label: str, f: dict[str, Any]) -> list[str]:
        cells = [label, f["calls"], f["containment_rate"], f["abandonment_rate"],
                 f["avg_ivr_seconds"], f["escalations"], f["survey"]["responses"],
                 f["survey"]["mean"], *(f["transfers"].get(q, 0) for q in queues),
                 *(f["intents"].get(i, 0) for i in intents),
                 *(f["nodes"].get(n, {}).get("no_match_rate") for n in nodes),
                 *(f["nodes"].get(n, {}).get("no_input_rate") for n in nodes)]
        return ["" if c is None else str(c) for c in cells]

    return [head, *(row(d, f) for d, f in days.items()), row("total", figures)]
