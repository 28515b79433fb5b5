"""Whole ARI calls: a fake Asterisk (REST, events, RTP) against `ivr serve`'s controller."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import numpy as np

from ivr.app import Hotline
from ivr.testing.ari_peer import FakeAsterisk

from .conftest import press_when_armed, stored, until


async def test_caller_keys_through_the_hotline_and_continues_to_route(
        hotline: Hotline, asterisk: FakeAsterisk) -> None:
    caller = await asterisk.call("+15550100999")
    await caller.wait_media()
    await until(lambda: len(caller.loud_times()) > 10)  # the welcome is heard
    await press_when_armed(hotline, caller, "1")
    await asyncio.sleep(0.5)
    await press_when_armed(hotline, caller, "3")
    await caller.wait_gone()
    channel = caller.channel
    assert channel.continued == ("hotline", "route", 1)
    assert channel.variables["IVR_QUEUE"] == "card_services"
    assert channel.variables["IVR_PRIORITY"] == "7"
    assert channel.variables["IVR_OUTCOME"] == "queued"
    await until(lambda: not asterisk.leftovers())
    rows = await hotline.calls.recent(limit=1)
    row, events = await stored(hotline, str(rows[0].id))
    assert (row.transport, row.outcome, row.queue, row.caller) == (
        "ari", "queued", "card_services", "+15550100999")
    assert row.dialed == "8005550100"
    heard = caller.heard()
    assert len(heard) > 8000 and np.abs(heard).max() > 1000  # real prompt audio, not silence
    assert not [e for e in events if e.kind in ("error", "alert")]
    recordings: list[Any] = []
    for _ in range(50):  # recorded and encrypted like every call, sealed as it ends
        recordings = await hotline.recordings.list(call_id=row.id)
        if recordings and recordings[0].complete:
            break
        await asyncio.sleep(0.1)
    [info] = recordings
    assert info.complete and info.duration > 1.0
    sealed = (hotline.settings.recordings_dir / f"{info.id}.rec").read_bytes()
    assert not sealed.startswith(b"RIFF") and b"WAVEfmt" not in sealed


async def test_caller_hangs_up_mid_prompt(hotline: Hotline, asterisk: FakeAsterisk) -> None:
    caller = await asterisk.call()
    await caller.wait_media()
    await until(lambda: len(caller.loud_times()) > 5)
    await caller.hangup()
    await until(lambda: hotline.ari is not None and not hotline.ari.sessions)
    await until(lambda: not asterisk.leftovers())
    rows = await hotline.calls.recent(limit=1)
    row, events = await stored(hotline, str(rows[0].id))
    assert row.outcome == "abandoned"
    assert "caller_hung_up" in [e.kind for e in events]
    assert caller.channel.continued is None


async def test_key_barges_in_during_the_long_menu(hotline: Hotline,
                                                 asterisk: FakeAsterisk) -> None:
    caller = await asterisk.call()
    await caller.wait_media()
    await press_when_armed(hotline, caller, "1")  # English
    await press_when_armed(hotline, caller, "0")  # an agent, early in the 14 s main menu
    pressed = time.monotonic()
    await caller.wait_gone()
    # The menu stopped at the key: only "Please hold..." (about 3 s) played after it.
    assert time.monotonic() - pressed < 7.0
    assert caller.channel.variables["IVR_QUEUE"] == "customer_service"
    heard_after = caller.heard(since=pressed + 0.3)
    assert len(heard_after) / 8000 < 6.0
