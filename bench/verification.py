"""Verification step latency on one core: PIN check (argon2id at the shipped cost), and a
one-time code issued (stored, sent through the embedded outbox) then checked.

Each PIN check is the real service path: claim an attempt, load the customer, run the KDF in
a worker thread, reset the counter, write the audit row; SQLite in a throwaway data dir. The
process is pinned to one CPU where the OS allows it.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ivr.security.api import VerifyContext
from ivr.security.customers import CustomerRepository
from ivr.security.demo import seed
from ivr.security.pins import PinHasher
from ivr.security.service import VerificationService
from ivr.security.settings import SecuritySettings
from ivr.security.wiring import make_notifier
from ivr.store.db import make_engine, upgrade

FLOOR_PIN_P95_MS = 250.0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def _row(step: str, times: list[float], settings: SecuritySettings) -> dict[str, Any]:
    p = settings.pin
    return {"step": step, "runs": len(times),
            "p50_ms": round(_pct(times, 50) * 1000, 1), "p95_ms": round(_pct(times, 95) * 1000, 1),
            "mean_ms": round(statistics.fmean(times) * 1000, 1),
            "kdf": f"argon2id m={p.memory_kib // 1024}MiB t={p.time_cost} p={p.parallelism}"}


async def _measure(folder: Path, runs: int) -> list[dict[str, Any]]:
    url = f"sqlite+aiosqlite:///{folder / 'var' / 'ivr.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    settings = SecuritySettings()
    settings.lockout.max_failures = 10 ** 6  # measure the check, not the lock
    try:
        service = VerificationService(engine, settings,
                                      make_notifier(settings, engine, folder / "var"),
                                      pins=PinHasher(settings.pin))
        await seed(CustomerRepository(engine), service.pins)
        ctx = VerifyContext("bench", "bench", "+15551234567")
        pin_times, otp_times = [], []
        for i in range(runs):
            started = time.perf_counter()
            result = await service.check(ctx, ("C1001",), "pin", "2580" if i % 2 else "1111")
            pin_times.append(time.perf_counter() - started)
            assert result.outcome in ("ok", "wrong")
        settings.otp.max_sends = 10 ** 6
        log = folder / "var" / "otp-outbox.log"
        for _ in range(runs):
            started = time.perf_counter()
            sent = await service.send_code(ctx, "C1003")
            code = log.read_text().splitlines()[-1].split("code is ")[1][:6]
            checked = await service.check(ctx, ("C1003",), "otp", code)
            otp_times.append(time.perf_counter() - started)
            assert sent.outcome == "sent" and checked.outcome == "ok"
    finally:
        await engine.dispose()
    return [_row("PIN check (claim + KDF + audit)", pin_times, settings),
            _row("OTP issue + send (embedded) + check", otp_times, settings)]


def run(runs: int = 40) -> list[dict[str, Any]]:
    """Pin to one CPU (if allowed) and measure; one row per step."""
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        except OSError:
            pass
    with tempfile.TemporaryDirectory(prefix="ivr-bench-verify-") as tmp:
        return asyncio.run(_measure(Path(tmp), runs))


def bench(args: Any) -> dict[str, Any]:
    """Entry point for ``python -m bench``."""
    rows = run(int(getattr(args, "verify_runs", 40) or 40))
    pin = rows[0]
    return {
        "title": "Caller verification step latency on one core",
        "rows": rows,
        "floor": f"PIN check p95 <= {FLOOR_PIN_P95_MS:g} ms with argon2id at the shipped cost",
        "floor_met": pin["p95_ms"] <= FLOOR_PIN_P95_MS,
    }
