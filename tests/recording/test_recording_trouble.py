"""Recording trouble a FastAGI caller must never notice (issue 13, item 1): the call is
served, the problem is an alert on the call and a count in ``ivr_errors``."""

from __future__ import annotations

import shutil
from pathlib import Path

import aiohttp

from ivr.app import Hotline
from ivr.testing.agi_peer import CallerScript, run_call
from ivr.testing.server import server_settings


async def test_a_broken_key_folder_is_an_alert_and_the_fastagi_call_goes_on(
        tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> None:
    app = Hotline(server_settings(tmp_path, sounds_dir, dialplan_dir))
    async with app.running():
        # The key folder turns into a file under the running server (a bad mount, a
        # mistaken copy): reading keys now fails with an OS error, not a recording error.
        keys = app.settings.keys_dir
        shutil.rmtree(keys)
        keys.write_text("not a folder")
        assert app.agi_address is not None
        result = await run_call(*app.agi_address, script_actions=CallerScript.of("1", "3"),
                                sounds_root=app.settings.sounds_dir, mixmonitor=True,
                                idle_timeout=10)
        assert await app.writer.wait_idle(5)
        [row] = await app.calls.recent(limit=5)
        events = await app.calls.events(row.id)
        assert app.http_address is not None
        host, port = app.http_address
        async with aiohttp.ClientSession() as http, \
                http.get(f"http://{host}:{port}/metrics") as resp:
            metrics = await resp.text()
    assert result.variables["IVR_QUEUE"] == "card_services"
    assert (row.outcome, row.queue, row.error_code) == ("queued", "card_services", None)
    assert not [c for c in result.commands if c.startswith("EXEC MixMonitor")]  # fail closed
    alerts = [e.data for e in events if e.kind == "alert"]
    assert [a["code"] for a in alerts] == ["rec-start-failed"]
    assert alerts[0]["message"].startswith("call not recorded")
    assert not [e for e in events if e.kind == "error"]
    assert 'ivr_errors_total{code="rec-start-failed"} 1.0' in metrics
