"""Whole calls through `ivr serve`'s FastAGI server, driven by the recorded-Asterisk peer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ivr.app import Hotline
from ivr.testing.agi_peer import PeerResult, run_call, send_raw
from ivr.testing.agi_script import CallerScript
from ivr.testing.server import server_settings
from ivr.testing.web_harness import PASSWORD, login
from ivr.web.users import UserRepository


def make_settings(tmp_path: Path, sounds_dir: Path, dialplan_dir: Path, **extra: Any) -> Any:
    # Recorded calls have their own tests: tests/recording/test_agi_recording.py.
    return server_settings(tmp_path, sounds_dir, dialplan_dir, **extra)


@pytest.fixture
async def hotline(tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> AsyncIterator[Hotline]:
    app = Hotline(make_settings(tmp_path, sounds_dir, dialplan_dir))
    async with app.running():
        yield app


async def call(app: Hotline, *steps: str | None, sounds_root: Path | None = None,
               **kwargs: Any) -> PeerResult:
    assert app.agi_address is not None
    host, port = app.agi_address
    return await run_call(host, port, script_actions=CallerScript.of(*steps),
                          sounds_root=sounds_root or app.settings.sounds_dir, idle_timeout=10,
                          **kwargs)


async def stored(app: Hotline) -> tuple[Any, list[Any]]:
    """The one call row Hotline wrote (each of these tests places one call) and its events."""
    assert await app.writer.wait_idle(5)
    rows = await app.calls.recent(limit=5)
    assert len(rows) == 1, [r.id for r in rows]
    return rows[0], await app.calls.events(rows[0].id)


async def test_caller_reports_lost_card_and_reaches_card_services(hotline: Hotline) -> None:
    result = await call(hotline, "1", "3")
    assert result.closed_by_server and not result.hung_up
    assert result.commands[0] == "ANSWER"
    assert result.variables == {"IVR_QUEUE": "card_services", "IVR_PRIORITY": "7",
                                "IVR_OUTCOME": "queued"}
    # Every prompt came from the sounds folder Asterisk reads, keys armed while it played.
    assert all(p.startswith(str(hotline.settings.sounds_dir)) for p in result.played)
    # Keys are armed while prompts play (escape digits or GET DATA), or they would be lost.
    assert any(c.startswith("GET DATA ") or (c.startswith("STREAM FILE") and not c.endswith('""'))
               for c in result.commands)
    row, events = await stored(hotline)
    assert (row.outcome, row.queue, row.priority) == ("queued", "card_services", 7)
    assert (row.dialplan_id, row.dialplan_version, row.caller) == ("hotline", 1, "+15551234567")
    assert row.answered_at is not None and row.ended_at is not None
    kinds = [e.kind for e in events]
    assert kinds[0] == "node_entered" and kinds[-1] == "call_ended"
    assert {"node": "main_menu", "digits": "3"} in [
        {"node": e.node, "digits": e.data.get("digits")} for e in events if e.kind == "dtmf"]


async def test_invalid_key_then_silence_then_valid_choice(hotline: Hotline) -> None:
    # English; then 9 (not an option); the caller then stays silent through the whole
    # re-ask (re-prompt, menu prompt and the listening window that follows it: the main menu
    # also takes speech); then 1 while the next re-prompt plays (keys are armed throughout).
    result = await call(hotline, "1", "9", None, None, None, "1")
    assert result.variables["IVR_OUTCOME"] == "self_served"
    row, events = await stored(hotline)
    assert row.outcome == "self_served"
    menu = [e for e in events if e.node == "main_menu"]
    assert [e.kind for e in menu if e.kind in ("no_match", "no_input", "dtmf")] == [
        "no_match", "no_input", "dtmf"]
    prompts = [e.data["text"] for e in events if e.kind == "prompt"]
    assert "Sorry, that is not one of the options." in prompts
    assert "Sorry, I didn't hear a choice." in prompts
    assert prompts[-1] == "Thank you for calling Acme Pay. Goodbye."


async def test_caller_hangs_up_mid_prompt(hotline: Hotline) -> None:
    result = await call(hotline, "hangup")
    assert result.hung_up and result.closed_by_server
    # The run ends at once: nothing else is played after the hang-up (the recording's
    # MixMonitor commands aside: calls are recorded by default).
    played = [c for c in result.commands if not c.startswith("EXEC ")]
    assert [c.split(" ")[0] for c in played[:2]] == ["ANSWER", "STREAM"]
    assert not any(c.startswith(("STREAM", "GET DATA")) for c in played[2:])
    row, events = await stored(hotline)
    assert row.outcome == "abandoned" and row.ended_at is not None
    assert "caller_hung_up" in [e.kind for e in events]


async def test_unknown_route_gets_an_apology_and_the_default_queue(hotline: Hotline) -> None:
    result = await call(hotline, script="no_such_plan")
    assert result.variables["IVR_QUEUE"] == "customer_service"
    assert len(result.played) == 1  # the apology
    row, _ = await stored(hotline)
    assert (row.outcome, row.queue, row.error_code) == (
        "queued", "customer_service", "agi-unknown-route")


async def test_prompt_missing_where_asterisk_reads_is_told_apart_from_a_hangup(
        tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> None:
    settings = make_settings(tmp_path, sounds_dir, dialplan_dir,
                             prompts={"asterisk_dir": "/srv/elsewhere/sounds"})
    app = Hotline(settings)
    async with app.running():
        result = await call(app, "1")
        assert not result.hung_up
        row, events = await stored(app)
    # Asterisk answers result=-1 endpos=0 with no HANGUP line: not a hang-up. The caller
    # still reaches an agent.
    assert result.variables["IVR_QUEUE"] == "customer_service"
    assert (row.outcome, row.error_code) == ("queued", "agi-prompt-missing")
    assert any(e.kind == "error" and e.data["code"] == "agi-prompt-missing" for e in events)


async def test_garbage_and_early_closes_do_not_disturb_other_calls(hotline: Hotline) -> None:
    assert hotline.agi_address is not None
    host, port = hotline.agi_address
    garbage = send_raw(host, port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    early = send_raw(host, port, b"agi_network: yes\nagi_network_script: hotline\n",
                     half_close=True)
    stalled = send_raw(host, port, b"agi_network: yes\n", read_timeout=3)
    calls = [call(hotline, "1", "0", uniqueid=f"17956.{i}") for i in range(10)]
    outcomes = await asyncio.gather(garbage, early, stalled, *calls)
    assert outcomes[0] == b"" and outcomes[1] == b"" and outcomes[2] == b""
    for result in outcomes[3:]:
        assert isinstance(result, PeerResult)
        assert result.variables["IVR_QUEUE"] == "customer_service"
    assert await hotline.writer.wait_idle(5)
    rows = await hotline.calls.recent(limit=50)
    assert len(rows) == 10 and {r.outcome for r in rows} == {"queued"}


async def test_concurrent_calls_one_hanging_up(hotline: Hotline) -> None:
    scripts: list[tuple[str | None, ...]] = [("1", "3")] * 8 + [("1", "hangup")] + [("2", "0")]
    results = await asyncio.gather(*(call(hotline, *s, uniqueid=f"1.{i}")
                                     for i, s in enumerate(scripts)))
    assert [r.variables.get("IVR_OUTCOME") for r in results] == (
        ["queued"] * 8 + ["abandoned"] + ["queued"])
    assert results[-1].variables["IVR_QUEUE"] == "customer_service"


async def test_new_version_is_used_by_the_next_call_without_restart(
        hotline: Hotline, tmp_path: Path, dialplan_dir: Path) -> None:
    from ivr.dialplans import publish

    first = await call(hotline, "1", "0")
    edited = tmp_path / "hotline.yaml"
    edited.write_text((dialplan_dir / "hotline.yaml").read_text().replace(
        "Welcome to Acme Pay.", "Welcome to Acme Pay, version two."))
    await publish(hotline.dialplans, edited)
    for _ in range(50):
        if hotline.registry.get("hotline").version == 2:  # type: ignore[union-attr]
            break
        await asyncio.sleep(0.05)
    second = await call(hotline, "1", "0")
    assert first.played[0] != second.played[0]
    assert await hotline.writer.wait_idle(5)
    rows = await hotline.calls.recent(limit=5)
    assert sorted(r.dialplan_version for r in rows) == [1, 2]


async def test_health_and_metrics(hotline: Hotline) -> None:
    await call(hotline, "1", "3")
    assert hotline.http_address is not None
    base = f"http://{hotline.http_address[0]}:{hotline.http_address[1]}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/healthz") as resp:
            assert resp.status == 200
            assert (await resp.json())["dialplans"] == {"hotline": 1}
        async with http.get(f"{base}/metrics") as resp:
            text = await resp.text()
        assert 'ivr_calls_total{outcome="queued",transport="agi"} 1.0' in text
        assert "ivr_agi_reply_seconds_count" in text
        await hotline.writer.wait_idle(5)
        async with http.get(f"{base}/api/calls") as resp:
            assert resp.status == 401  # call data needs a supervisor's login
    await UserRepository(hotline.engine).add("sam", "supervisor", PASSWORD)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        await login(http, base, "sam")
        async with http.get(f"{base}/api/calls") as resp:
            calls = (await resp.json())["calls"]
        assert calls[0]["queue"] == "card_services"


async def test_over_capacity_calls_go_straight_to_the_default_queue(
        tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> None:
    app = Hotline(make_settings(tmp_path, sounds_dir, dialplan_dir, agi={"max_calls": 0}))
    async with app.running():
        result = await call(app, "1", "3")
    assert result.variables == {"IVR_QUEUE": "customer_service", "IVR_PRIORITY": "0",
                                "IVR_OUTCOME": "queued"}
    assert not any(c.startswith(("STREAM", "GET DATA")) for c in result.commands)
