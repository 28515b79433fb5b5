"""Softphone calls on the default settings are recorded, and recording trouble never
costs the caller their call (issue 13, item 1)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import aiohttp

from ivr.app import Hotline
from ivr.telephony.headless import HeadlessCaller, Step

from .conftest import base_url, make_settings, stored

APOLOGY = "Sorry"


async def walk_to_card_services(app: Hotline) -> Any:
    report = await HeadlessCaller(base_url(app), [Step("press", keys="1"),
                                                  Step("press", keys="3")],
                                  max_seconds=40, step_timeout=20).run()
    assert report.error is None, report.error
    assert (report.outcome, report.queue) == ("queued", "card_services"), report.prompts
    assert not any(p.startswith(APOLOGY) for p in report.prompts), report.prompts
    return report


async def test_a_softphone_call_on_default_settings_is_served_and_recorded(
        hotline: Hotline) -> None:
    assert hotline.settings.recording.enabled  # the default, as `make run` has it
    report = await walk_to_card_services(hotline)
    row, events = await stored(hotline, report.call_id)
    assert (row.outcome, row.queue, row.error_code) == ("queued", "card_services", None)
    assert not [e for e in events if e.kind in ("error", "alert")]
    for _ in range(50):  # the recording is sealed as the call ends
        recordings = await hotline.recordings.list(call_id=report.call_id)
        if recordings and recordings[0].complete:
            break
        await asyncio.sleep(0.1)
    [info] = recordings
    assert info.complete and info.duration > 1.0
    sealed = (hotline.settings.recordings_dir / f"{info.id}.rec").read_bytes()
    assert not sealed.startswith(b"RIFF") and b"WAVEfmt" not in sealed


async def test_recording_trouble_is_an_alert_and_the_call_goes_on(
        tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> None:
    settings = make_settings(tmp_path, sounds_dir, dialplan_dir)
    # A disk problem no recording code expects: the recordings folder is a file.
    shutil.rmtree(settings.recordings_dir)
    settings.recordings_dir.write_text("not a folder")
    app = Hotline(settings)
    async with app.running():
        report = await walk_to_card_services(app)
        row, events = await stored(app, report.call_id)
        async with aiohttp.ClientSession() as http, \
                http.get(base_url(app) + "/metrics") as resp:
            metrics = await resp.text()
    assert (row.outcome, row.queue, row.error_code) == ("queued", "card_services", None)
    alerts = [e.data for e in events if e.kind == "alert"]
    assert [a["code"] for a in alerts] == ["rec-start-failed"]
    assert "call not recorded" in alerts[0]["message"]
    assert not [e for e in events if e.kind == "error"]
    assert 'ivr_errors_total{code="rec-start-failed"} 1.0' in metrics
