"""Loading dialplans on a running server: how long, and how late the event loop runs meanwhile.

Each size is published to a throwaway SQLite store and loaded by the server's
``DialplanRegistry`` while a 5 ms timer measures the loop's lag (what every call feels). The
heap is frozen first, as ``ivr serve`` does once started. A 9-level alias bomb is checked too.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import tempfile
import time
from pathlib import Path
from typing import Any

from ivr.dialplans import DialplanRegistry
from ivr.flow.loader import load_text
from ivr.flow.safe_yaml import DialplanLimits
from ivr.store.db import make_engine, upgrade
from ivr.store.repo import DialplanRepository
from ivr.testing.big_dialplan import big_dialplan
from ivr.testing.loop_lag import LoopLag

FLOOR_LAG_MS = 50.0
SIZES = (200_000, 1_000_000, DialplanLimits().max_bytes - 1)


async def _load(folder: Path, size: int) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{folder / f'{size}.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    try:
        repo = DialplanRepository(engine)
        text = big_dialplan(size)
        await repo.publish("big", text, hashlib.sha256(text.encode()).hexdigest(), "bench")
        registry, lag = DialplanRegistry(repo), LoopLag()
        gc.collect()
        gc.freeze()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(lag.run())
                started = time.perf_counter()
                try:
                    await registry.refresh()
                finally:
                    lag.stop()
            took = time.perf_counter() - started
        finally:
            gc.unfreeze()
        live = registry.get("big")
        return {"case": "load", "bytes": len(text.encode()),
                "nodes": len(live.plan.nodes) if live else 0, "seconds": round(took, 2),
                "worst_lag_ms": round(lag.worst * 1000, 1)}
    finally:
        await engine.dispose()


def _bomb() -> dict[str, Any]:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    text = "\n".join(lines) + "\n"
    started = time.perf_counter()
    _, problems = load_text(text, "bomb.yaml")
    return {"case": "alias bomb refused", "bytes": len(text), "nodes": 0,
            "seconds": round(time.perf_counter() - started, 4), "worst_lag_ms": 0.0,
            "message": str(problems[0]) if problems else "accepted!"}


def bench(args: Any) -> dict[str, Any]:
    """Rows for each dialplan size, then the bomb."""
    with tempfile.TemporaryDirectory(prefix="ivr-bench-dialplans-") as tmp:
        rows = [asyncio.run(_load(Path(tmp), size)) for size in SIZES]
    rows.append(_bomb())
    near_limit = [r for r in rows if r["case"] == "load"
                  and r["bytes"] <= DialplanLimits().max_bytes][-1]
    return {"title": "Dialplan loading on a running server", "rows": rows,
            "floor": f"worst loop lag < {FLOOR_LAG_MS:.0f} ms loading a dialplan just under "
                     "dialplans.max_bytes; a bomb refused",
            "floor_met": near_limit["worst_lag_ms"] < FLOOR_LAG_MS
            and rows[-1]["message"] != "accepted!"}
