"""The metrics operators alert and autoscale on (deploy/kubernetes/monitoring), through a real
call on `ivr serve`: store health, callers' answers (the no-match rate), the time a caller
spent in Hotline before it handed them to an agent queue, the event loop's lag and the pauses
of full garbage collections."""

from __future__ import annotations

import asyncio
import gc
import time
from pathlib import Path

import aiohttp

from ivr.app import Hotline
from ivr.gc_pacing import NEVER
from ivr.testing.agi_peer import run_call
from ivr.testing.agi_script import CallerScript
from ivr.testing.server import server_settings


def sample(text: str, name: str) -> float | None:
    """The value of the one sample ``name`` (with its labels, as Prometheus prints them)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_answers_time_to_queue_store_health_loop_lag_and_gc_pauses_reach_metrics(
        tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> None:
    settings = server_settings(tmp_path, sounds_dir, dialplan_dir)
    assert settings.gc_full_seconds == 30.0  # what `make run` runs with; here a shorter clock
    thresholds = gc.get_threshold()
    app = Hotline(settings.model_copy(update={"gc_full_seconds": 0.1}))
    async with app.running():
        assert app.agi_address is not None and app.http_address is not None
        base = f"http://{app.http_address[0]}:{app.http_address[1]}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/metrics") as resp:
                before = await resp.text()
            # English, then 9 (no option of the main menu), then 3: card services.
            result = await run_call(*app.agi_address, script_actions=CallerScript.of("1", "9", "3"),
                                    sounds_root=app.settings.sounds_dir, idle_timeout=10)
            assert result.variables["IVR_QUEUE"] == "card_services"
            # Python's own schedule starts no full collection (each pauses every call)...
            assert gc.get_threshold()[2] == NEVER
            async with http.get(f"{base}/metrics") as resp:
                after = await resp.text()
            time.sleep(0.4)  # noqa: ASYNC251 - a stalled loop, as an operator must see it
            await asyncio.sleep(0.25)  # the probe that woke late reports it
            async with http.get(f"{base}/metrics") as resp:
                stalled = await resp.text()
    assert sample(before, "ivr_store_healthy") == 1.0
    # Event-loop tasks and the process's own figures, for soak runs and dashboards.
    assert (sample(before, "ivr_asyncio_tasks") or 0) >= 1
    assert (sample(before, "process_open_fds") or 0) > 0
    assert (sample(before, "process_resident_memory_bytes") or 0) > 0
    assert sample(before, 'ivr_caller_answers_total{result="no_match"}') is None
    assert sample(after, 'ivr_caller_answers_total{result="no_match"}') == 1.0
    assert sample(after, 'ivr_caller_answers_total{result="matched"}') == 2.0  # 1 and 3
    assert sample(after, 'ivr_time_to_queue_seconds_count{queue="card_services"}') == 1.0
    spent = sample(after, 'ivr_time_to_queue_seconds_sum{queue="card_services"}')
    assert spent is not None and spent > 0
    # The loop-lag probe wakes every 0.1 s; the stall above made one wake-up 0.3 s late.
    assert (sample(stalled, "ivr_event_loop_lag_seconds_count") or 0) >= 2
    assert _late(stalled, "0.25") - _late(after, "0.25") >= 1
    # ... the server's clock does, and operators see how long each one paused the calls.
    assert (sample(stalled, "ivr_gc_full_collection_seconds_count") or 0) >= 2
    assert gc.get_threshold() == thresholds


def _late(text: str, bound: str) -> float:
    """Loop-lag samples later than ``bound`` seconds."""
    count = sample(text, "ivr_event_loop_lag_seconds_count") or 0.0
    return count - (sample(text, f'ivr_event_loop_lag_seconds_bucket{{le="{bound}"}}') or 0.0)

