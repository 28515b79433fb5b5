"""The dialplan editor (issue 16 item 3): how long a live check and a simulation take through
the web server, and how late the server's event loop runs while it checks a big dialplan.

A real web server (the test harness: SQLite, users, the editor's desk) runs in this process;
an admin's client posts the shipped hotline.yaml to ``/api/dialplans/hotline/check`` 20
times, then a 1 MB dialplan (parsed in the parser thread, never on the loop) while a 5 ms
timer measures the loop's lag, then simulates one caller twice (the first run prepares the
demo sandbox). Floors: a hotline check answers in 500 ms at p95, the loop never lags
50 ms.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from ivr.dialplans import publish
from ivr.store.db import upgrade
from ivr.store.repo import DialplanRepository
from ivr.testing.big_dialplan import big_dialplan
from ivr.testing.loop_lag import LoopLag
from ivr.testing.web_harness import PASSWORD, login, make_server
from ivr.web.passwords import hash_password

ROOT = Path(__file__).resolve().parents[1]
FLOOR_CHECK_MS = 500.0
FLOOR_LAG_MS = 50.0


async def _post(http: aiohttp.ClientSession, url: str, body: dict[str, Any],
                csrf: str) -> tuple[float, Any]:
    started = time.perf_counter()
    async with http.post(url, json=body, headers={"X-CSRF-Token": csrf}) as resp:
        data = await resp.json()
        assert resp.status == 200, data
    return time.perf_counter() - started, data


async def _run(folder: Path) -> list[dict[str, Any]]:
    url = f"sqlite+aiosqlite:///{folder / 'ivr.db'}"
    await asyncio.to_thread(upgrade, url)
    rows: list[dict[str, Any]] = []
    async for server in make_server(url, hash_password(PASSWORD), store="none"):
        await publish(DialplanRepository(server.engine), ROOT / "dialplans" / "hotline.yaml")
        api = f"{server.base}/api/dialplans/hotline"
        text = (ROOT / "dialplans" / "hotline.yaml").read_text(encoding="utf-8")
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            csrf = (await login(http, server.base, "ada")).csrf
            times = [(await _post(http, f"{api}/check", {"text": text}, csrf))[0]
                     for _ in range(20)]
            rows.append({"case": "check hotline.yaml", "bytes": len(text.encode()),
                         "p50_ms": round(statistics.median(times) * 1000, 1),
                         "p95_ms": round(sorted(times)[18] * 1000, 1), "worst_lag_ms": None})
            big = big_dialplan(1_000_000, "hotline")
            lag = LoopLag()
            gc.collect()
            gc.freeze()  # as ivr serve does once started
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(lag.run())
                    try:
                        took, data = await _post(http, f"{api}/check", {"text": big}, csrf)
                    finally:
                        lag.stop()
            finally:
                gc.unfreeze()
            assert data["ok"], data["problems"][:3]
            rows.append({"case": "check a 1 MB dialplan", "bytes": len(big.encode()),
                         "p50_ms": round(took * 1000, 1), "p95_ms": round(took * 1000, 1),
                         "worst_lag_ms": round(lag.worst * 1000, 1)})
            body = {"text": text, "inputs": "1\n3\n4242\n1\n1\n5", "language": "en-US"}
            for case in ("simulate (first: prepares the sandbox)", "simulate"):
                took, data = await _post(http, f"{api}/simulate", body, csrf)
                rows.append({"case": case, "bytes": len(text.encode()),
                             "p50_ms": round(took * 1000, 1), "p95_ms": round(took * 1000, 1),
                             "worst_lag_ms": None,
                             "outcome": data["simulation"]["outcome"]})
    return rows


def bench(args: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ivr-bench-editor-") as tmp:
        rows = asyncio.run(_run(Path(tmp)))
    check, big = rows[0], rows[1]
    return {"title": "Dialplan editor: live checks and simulations through the web server",
            "rows": rows,
            "floor": f"hotline check p95 < {FLOOR_CHECK_MS:.0f} ms; worst loop lag < "
                     f"{FLOOR_LAG_MS:.0f} ms while a 1 MB dialplan is checked",
            "floor_met": check["p95_ms"] < FLOOR_CHECK_MS and big["worst_lag_ms"] < FLOOR_LAG_MS}
