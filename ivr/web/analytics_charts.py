"""Geometry of the analytics charts (inline SVG drawn by the template; no script needed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class DayBar:
    """One day: a bar of its calls, the self-served part of it, and the survey mean."""

    label: str
    x: float
    width: float
    calls: int
    y_calls: float
    y_served: float
    survey: float | None
    y_survey: float | None


@dataclass(frozen=True, slots=True)
class DayChart:
    width: int
    height: int
    top: int
    bottom: int
    left: int
    right_x: int
    peak: int
    bars: list[DayBar]
    survey_line: str
    """``x,y`` points of the survey mean (1..5 on the right axis)."""
    ticks: list[tuple[float, int]]
    every: int
    """Label every n-th day (long ranges)."""


def day_chart(by_day: dict[str, dict[str, Any]], *, width: int = 760, height: int = 240,
              survey_scale: int = 5) -> DayChart:
    """Calls per day (bars; the self-served part darker) and the survey mean (line)."""
    left, right, top, bottom = 44, 40, 14, height - 28
    days = list(by_day.items())
    peak = max([f["calls"] for _, f in days] + [1])
    step = (width - left - right) / max(len(days), 1)
    bar_w = max(2.0, step * 0.7)

    def y(value: float) -> float:
        return round(bottom - value / peak * (bottom - top), 1)

    bars, points = [], []
    for i, (day, f) in enumerate(days):
        x = round(left + i * step + (step - bar_w) / 2, 1)
        served = round((f["containment_rate"] or 0) * f["calls"])
        mean = f["survey"]["mean"]
        y_survey = (round(bottom - (mean - 1) / (survey_scale - 1) * (bottom - top), 1)
                    if mean is not None else None)
        if y_survey is not None:
            points.append(f"{x + bar_w / 2:.1f},{y_survey}")
        bars.append(DayBar(day[5:], x, round(bar_w, 1), f["calls"], y(f["calls"]), y(served),
                           mean, y_survey))
    ticks = [(y(v), v) for v in sorted({0, peak // 2, peak})]
    return DayChart(width, height, top, bottom, left, width - right, peak, bars,
                    " ".join(points), ticks, max(1, len(days) // 15))


@dataclass(frozen=True, slots=True)
class Share:
    label: str
    count: int
    fraction: float
    """Of the largest (bar length 0..1)."""


def shares(counts: dict[str, int]) -> list[Share]:
    """Horizontal bars, largest first."""
    top = max(counts.values(), default=0) or 1
    return [Share(k, n, n / top) for k, n in counts.items()]
