"""FastAGI under faults, through `ivr serve`'s server: too many calls, an Asterisk that stops
answering, and replies no Asterisk sends. Every caller is stored, counted and reaches a queue
where the channel still works; nothing is logged as our own bug."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ivr.app import Hotline
from ivr.testing.agi_peer import PeerResult, run_call
from ivr.testing.agi_script import CallerScript
from ivr.testing.server import server_settings


async def call(app: Hotline, *steps: str | None, **kwargs: Any) -> PeerResult:
    assert app.agi_address is not None
    host, port = app.agi_address
    return await run_call(host, port, script_actions=CallerScript.of(*steps),
                          sounds_root=app.settings.sounds_dir, idle_timeout=10, **kwargs)


async def stored_calls(app: Hotline) -> list[Any]:
    assert await app.writer.wait_idle(5)
    return list(await app.calls.recent(limit=10))


async def metrics_text(app: Hotline) -> str:
    assert app.http_address is not None
    host, port = app.http_address
    async with aiohttp.ClientSession() as http, http.get(f"http://{host}:{port}/metrics") as resp:
        return await resp.text()


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    crashes = [r.getMessage() for r in caplog.records
               if r.exc_info or "flow-internal" in r.getMessage()]
    assert crashes == []


async def test_a_call_over_capacity_is_stored_counted_and_queued(
        tmp_path: Path, sounds_dir: Path, dialplan_dir: Path, db_url: str) -> None:
    app = Hotline(server_settings(tmp_path, sounds_dir, dialplan_dir, agi={"max_calls": 1},
                                  store={"url": db_url}))
    answering = asyncio.Event()

    def hold_answer(command: str) -> float:  # the first caller is mid-call meanwhile
        if command == "ANSWER":
            answering.set()
            return 3.0
        return 0.0

    async with app.running():
        first = asyncio.create_task(call(app, "1", "3", reply_delay=hold_answer))
        await asyncio.wait_for(answering.wait(), 10)
        second = await call(app, "1", "3", callerid="+15550000002")
        served = await first
        rows = await stored_calls(app)
        metrics = await metrics_text(app)
    assert served.variables["IVR_QUEUE"] == "card_services"
    # No flow and no prompt for the overflow call: straight to the default queue.
    assert second.variables == {"IVR_QUEUE": "customer_service", "IVR_PRIORITY": "0",
                                "IVR_OUTCOME": "queued"}
    assert not any(c.startswith(("ANSWER", "STREAM", "GET DATA")) for c in second.commands)
    over = [r for r in rows if r.caller == "+15550000002"]
    assert len(rows) == 2 and len(over) == 1
    assert (over[0].transport, over[0].outcome, over[0].queue, over[0].error_code) == (
        "agi", "queued", "customer_service", "agi-over-capacity")
    assert over[0].ended_at is not None
    assert 'ivr_calls_total{outcome="queued",transport="agi"} 2.0' in metrics
    assert 'ivr_errors_total{code="agi-over-capacity"} 1.0' in metrics
    assert 'ivr_active_calls{transport="agi"} 0.0' in metrics
    # What an admin sees afterwards.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ivr", "--data-dir", str(tmp_path), "calls", "list", "--json",
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, env={**os.environ, "IVR_STORE__URL": db_url})
    stdout, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0
    listed = {c["id"]: c for c in json.loads(stdout)["calls"]}
    assert listed[over[0].id]["error_code"] == "agi-over-capacity"
    assert listed[over[0].id]["queue"] == "customer_service"


async def test_a_silent_asterisk_frees_the_call_slot_after_one_reply_timeout(
        tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> None:
    timeout = 2.0  # long enough that one timeout and three are far apart on a loaded machine
    app = Hotline(server_settings(tmp_path, sounds_dir, dialplan_dir,
                                  agi={"max_calls": 1, "reply_timeout": timeout}))
    unanswered: list[float] = []

    def go_silent(command: str, replies: list[str]) -> list[str]:
        if command.startswith("STREAM FILE") and not unanswered:
            unanswered.append(time.perf_counter())
            return []  # this Asterisk never answers again
        return [] if unanswered else replies

    async with app.running():
        silent = await call(app, "1", "3", tamper=go_silent)
        closed_after = time.perf_counter() - unanswered[0]
        deadline = time.perf_counter() + 10
        while app.agi.active and time.perf_counter() < deadline:
            await asyncio.sleep(0.02)
        assert app.agi.active == 0
        served = await call(app, "1", "3")  # the only slot is free again
        rows = await stored_calls(app)
    # Closed by the server after one reply timeout: the unanswered command was the last one
    # sent (no fallback command waited for a reply of its own), and well before 3 timeouts.
    assert silent.closed_by_server
    assert silent.commands[-1].startswith("STREAM FILE")
    assert sum(c.startswith("STREAM FILE") for c in silent.commands) == 1
    assert timeout <= closed_after + 0.05 and closed_after < 2 * timeout + 1.5 < 3 * timeout
    assert served.variables["IVR_QUEUE"] == "card_services"
    by_caller = {r.outcome: r for r in rows}
    assert set(by_caller) == {"failed", "queued"}
    assert by_caller["failed"].error_code == "agi-reply-timeout"
    assert by_caller["queued"].error_code is None


def _garbage_once(command_prefix: str, garbage: list[str]) -> Any:
    sent: list[str] = []

    def tamper(command: str, replies: list[str]) -> list[str]:
        if command.startswith(command_prefix) and not sent:
            sent.append(command)
            return garbage
        return replies

    return tamper


@pytest.mark.parametrize("prefix,garbage", [
    ("STREAM FILE", ["200 result=0 endpos=" + "9" * 5000]),
    ("STREAM FILE", ["200 result=99999999 endpos=3404"]),
    ("STREAM FILE", ["200 result=-7 endpos=3404"]),
    ("ANSWER", ["520-Invalid command syntax.  Proper usage follows:", "Usage: ANSWER"]),
], ids=["long-endpos", "huge-key", "negative-key", "unterminated-520"])
async def test_protocol_garbage_is_an_agi_protocol_error_and_the_caller_is_queued(
        hotline_app: Hotline, caplog: pytest.LogCaptureFixture, prefix: str,
        garbage: list[str]) -> None:
    caplog.set_level(logging.INFO)
    result = await call(hotline_app, "1", "3", tamper=_garbage_once(prefix, garbage))
    rows = await stored_calls(hotline_app)
    # The caller still hears the apology and reaches the default queue.
    assert result.variables["IVR_QUEUE"] == "customer_service"
    assert result.variables["IVR_OUTCOME"] == "queued"
    assert [(r.outcome, r.error_code) for r in rows] == [("queued", "agi-protocol")]
    no_tracebacks(caplog)


@pytest.fixture
async def hotline_app(tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> Any:
    app = Hotline(server_settings(tmp_path, sounds_dir, dialplan_dir))
    async with app.running():
        yield app
