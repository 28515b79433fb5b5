"""``ivr report --from DATE --to DATE [--dialplan ID] [--language TAG] [--json]``: the
analytics figures of the web console, in a terminal."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ivr.commands import HELP
from ivr.config import Settings
from ivr.store.analytics import analytics, parse_period


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def human(figures: dict[str, Any], title: str) -> str:
    """The figures as a few aligned lines (what the analytics page shows)."""
    survey = figures["survey"]
    lines = [title,
             f"  calls               {figures['calls']}",
             f"  containment         {_pct(figures['containment_rate'])}  (self-served / all)",
             f"  abandoned in IVR    {_pct(figures['abandonment_rate'])}",
             f"  avg time in IVR     {'—' if figures['avg_ivr_seconds'] is None else figures['avg_ivr_seconds']} s",  # noqa: E501
             f"  escalations         {figures['escalations']}",
             f"  survey              {survey['responses']} answers, mean "
             f"{'—' if survey['mean'] is None else survey['mean']}"]
    for name, label in (("transfers", "transfers by queue"), ("intents", "intents")):
        if figures[name]:
            lines.append(f"  {label}:")
            lines += [f"    {key:<24} {n}" for key, n in figures[name].items()]
    if figures["nodes"]:
        lines.append("  nodes                    no-match  no-input")
        lines += [f"    {node:<24} {_pct(r['no_match_rate']):>8}  {_pct(r['no_input_rate']):>8}"
                  for node, r in figures["nodes"].items()]
    lines.append("  by day                   calls  contained  abandoned  survey")
    for day, f in figures["by_day"].items():
        mean = f["survey"]["mean"]
        lines.append(f"    {day:<24} {f['calls']:>5}  {_pct(f['containment_rate']):>9}  "
                     f"{_pct(f['abandonment_rate']):>9}  {'—' if mean is None else mean:>6}")
    return "\n".join(lines)


def cmd_report(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    start = args.start or (today - timedelta(days=6)).isoformat()
    end = args.end or today.isoformat()
    try:
        period = parse_period(start, end, dialplan=args.dialplan, language=args.language)
    except ValueError as err:
        out.say(f"ivr report: {err}")
        return 2

    async def run() -> dict[str, Any]:
        from ivr.store.db import make_engine

        engine = make_engine(settings.database_url)
        try:
            return await analytics(engine, period)
        finally:
            await engine.dispose()

    figures = asyncio.run(run())
    scope = f"dialplan {args.dialplan}" if args.dialplan else "all dialplans"
    if args.language:
        scope += f", {args.language}"
    out.result(figures, human(figures, f"Hotline {period.start} to {period.end} "
                                       f"({settings.timezone} days; {scope})"))
    return 0


def register(sub: Any, add_command: Any) -> None:
    report = add_command(sub, "report", cmd_report, HELP["report"])
    report.add_argument("--from", dest="start", metavar="YYYY-MM-DD",
                        help="first day, in the hotline's timezone (default: 6 days ago)")
    report.add_argument("--to", dest="end", metavar="YYYY-MM-DD",
                        help="last day, included (default: today)")
    report.add_argument("--dialplan", metavar="ID", help="only calls of this dialplan")
    report.add_argument("--language", metavar="TAG", help="only calls in this language (zh-CN)")
