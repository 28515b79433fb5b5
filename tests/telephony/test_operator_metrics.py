"""The metrics operators alert and autoscale on (deploy/kubernetes/monitoring), through a real
call on `ivr serve`: store health, callers' answers (the no-match rate) and the time a caller
spent in Hotline before it handed them to an agent queue."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from ivr.app import Hotline
from ivr.testing.agi_peer import run_call
from ivr.testing.agi_script import CallerScript
from ivr.testing.server import server_settings


def sample(text: str, name: str) -> float | None:
    """The value of the one sample ``name`` (with its labels, as Prometheus prints them)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_answers_time_to_queue_and_store_health_reach_metrics(
        tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> None:
    app = Hotline(server_settings(tmp_path, sounds_dir, dialplan_dir))
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
            async with http.get(f"{base}/metrics") as resp:
                after = await resp.text()
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

