"""``ivr callbacks list``: callers who asked to be called back instead of waiting."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from ivr.commands import HELP
from ivr.config import Settings
from ivr.store.callbacks import CallbackRepository
from ivr.store.db import make_engine

STATUSES = ("pending", "calling", "done", "failed")


def _mask(number: str) -> str:
    """Phones show their last 4 digits only."""
    return ("*" * max(0, len(number) - 4)) + number[-4:]


async def _list(settings: Settings, limit: int, status: str | None) -> list[Any]:
    engine = make_engine(settings.database_url)
    try:
        return await CallbackRepository(engine).recent(limit=limit, status=status)
    finally:
        await engine.dispose()


def cmd_list(settings: Settings, args: argparse.Namespace, out: Any) -> int:
    rows = asyncio.run(_list(settings, args.limit, args.status))
    doc = {"callbacks": [{"id": r.id, "call_id": r.call_id,
                          "created_at": r.created_at.isoformat(), "caller": _mask(r.caller),
                          "queue": r.queue, "language": r.language, "status": r.status,
                          "attempts": r.attempts, "last_error": r.last_error} for r in rows]}
    lines = [f"{r.created_at:%Y-%m-%d %H:%M}  {r.status:<8} {r.queue:<20} {r.language:<6} "
             f"{_mask(r.caller):<16} attempts {r.attempts}" for r in rows]
    out.result(doc, "\n".join(lines) if lines else "no callback requests")
    return 0


def register(sub: Any, add_command: Any) -> None:
    callbacks = sub.add_parser("callbacks", help=HELP["callbacks"])
    actions = callbacks.add_subparsers(dest="action", metavar="ACTION", required=True)
    lst = add_command(actions, "list", cmd_list, "callback requests, newest first, with status")
    lst.add_argument("--limit", type=int, default=50)
    lst.add_argument("--status", choices=STATUSES)
