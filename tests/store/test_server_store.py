"""Issue 13 items 2, 6 and 16 through a real Hotline, on SQLite and on PostgreSQL: hostile
caller ids, calls left open by a crash, and what /readyz tells a load balancer."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy.engine import make_url

from ivr.app import Hotline, serve
from ivr.config import Settings
from ivr.store.db import make_engine
from ivr.store.repo import CallQueries
from ivr.store.writer import CallRecorder, EventWriter
from ivr.testing.agi_peer import PeerResult, run_call
from ivr.testing.agi_script import CallerScript
from ivr.testing.server import server_settings
from ivr.testing.tcp_relay import TcpRelay


def settings_for(tmp_path: Path, sounds_dir: Path, dialplan_dir: Path, db_url: str,
                 **extra: Any) -> Settings:
    return server_settings(tmp_path, sounds_dir, dialplan_dir, store={"url": db_url}, **extra)


async def agi_call(address: tuple[str, int], settings: Settings, *steps: str | None,
                   **kwargs: Any) -> PeerResult:
    return await run_call(address[0], address[1], script_actions=CallerScript.of(*steps),
                          sounds_root=settings.sounds_dir, idle_timeout=10, **kwargs)


async def get_json(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.json()


async def until(check: Callable[[], Any], timeout: float, what: str) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not await check():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"no {what} within {timeout} s") from None


def base_url(app: Hotline) -> str:
    assert app.http_address is not None
    return f"http://{app.http_address[0]}:{app.http_address[1]}"


# Item 2 ---------------------------------------------------------------------------------
async def test_a_hostile_caller_id_never_stops_the_calls_after_it(
        db_url: str, tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> None:
    app = Hotline(settings_for(tmp_path, sounds_dir, dialplan_dir, db_url))
    async with app.running():
        assert app.agi_address is not None
        hostile = await agi_call(app.agi_address, app.settings, "1", "3",
                                 callerid="+1" + "5" * 100,
                                 calleridname="\x1b[2J\x1b[31mEvil\x07" + "n" * 300)
        assert hostile.variables["IVR_QUEUE"] == "card_services"
        assert await app.writer.wait_idle(10), "the store is stuck"
        later = await agi_call(app.agi_address, app.settings, "1", "3")
        # Served by the dialplan, not apologised to and sent to the default queue.
        assert later.variables["IVR_QUEUE"] == "card_services"
        assert await app.writer.wait_idle(10) and app.writer.healthy
        status, body = await get_json(f"{base_url(app)}/readyz")
        assert (status, body["ready"]) == (200, True)
        rows = await app.calls.recent(limit=5)
    assert sorted(r.caller or "" for r in rows) == ["+15551234567", "+1" + "5" * 62]
    assert all(r.outcome == "queued" and r.error_code is None for r in rows)


# Item 6 ---------------------------------------------------------------------------------
async def _crashed_run(db_url: str, instance_id: str, call_id: str) -> None:
    """What a server killed mid-call leaves: a call row and events, never an outcome."""
    engine = make_engine(db_url)
    writer = EventWriter(engine, flush_seconds=0.01, instance_id=instance_id)
    try:
        rec = CallRecorder(writer, call_id)
        rec.start(transport="agi", route="hotline", caller="+15550001111")
        rec.event("node_entered", node="welcome", node_kind="say")
        rec.event("prompt", node="welcome", text="Welcome")
        assert await writer.flush()
    finally:
        await engine.dispose()


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[list[str]]:
    """``ivr serve`` in this process: yields its console lines once it is ready; SIGTERM
    stops it."""
    lines: list[str] = []
    task = asyncio.create_task(serve(settings, announce=lines.append))

    async def ready() -> bool:
        if task.done():
            task.result()
        return any("Hotline is ready" in line for line in lines)

    await until(ready, 120, "ivr serve ready")
    try:
        yield lines
    finally:
        signal.raise_signal(signal.SIGTERM)  # serve's own handler: drain and stop
        assert await asyncio.wait_for(task, 30) == 0


def _address(lines: list[str], scheme: str) -> tuple[str, int]:
    found = next(m for line in lines if (m := re.search(scheme + r"://([\d.]+):(\d+)", line)))
    return found.group(1), int(found.group(2))


async def test_a_restarted_server_closes_its_calls_left_open_and_only_those(
        db_url: str, tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> None:
    settings = settings_for(tmp_path, sounds_dir, dialplan_dir, db_url)
    mine, theirs = "1" * 32, "2" * 32
    await _crashed_run(db_url, settings.instance_id, mine)
    await _crashed_run(db_url, "other-server", theirs)  # another instance, still running
    async with serving(settings) as lines:
        assert f"closed 1 call(s) left open by a previous run of instance " \
               f"{settings.instance_id} (outcome failed, server-restart)" in lines
        http = _address(lines, "http")
        status, health = await get_json(f"http://{http[0]}:{http[1]}/healthz")
        assert (status, health["instance_id"]) == (200, settings.instance_id)
        served = await agi_call(_address(lines, "agi"), settings, "1", "3")
        assert served.variables["IVR_QUEUE"] == "card_services"
    engine = make_engine(db_url)
    try:
        calls = CallQueries(engine)
        closed = await calls.get(mine)
        assert closed is not None and closed.ended_at is not None
        assert (closed.outcome, closed.error_code) == ("failed", "server-restart")
        kinds = [(e.seq, e.kind, e.data.get("code")) for e in await calls.events(mine)]
        assert kinds[2:] == [(3, "error", "server-restart"), (4, "call_ended", None)]
        other = await calls.get(theirs)
        assert other is not None and (other.outcome, other.ended_at) == (None, None)
        assert len(await calls.events(theirs)) == 2
        new = [r for r in await calls.recent(limit=5) if r.id not in (mine, theirs)]
        assert [(r.instance_id, r.outcome) for r in new] == [(settings.instance_id, "queued")]
    finally:
        await engine.dispose()


# Item 16 --------------------------------------------------------------------------------
@contextmanager
def sqlite_locked(url: str) -> Iterator[None]:
    """Another process holding the SQLite database's write lock."""
    conn = sqlite3.connect(make_url(url).database or "", isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


async def _ready(app: Hotline) -> tuple[int, dict[str, Any]]:
    return await get_json(f"{base_url(app)}/readyz")


async def test_readyz_answers_503_while_the_database_cannot_be_written(
        db_url: str, tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> None:
    settings = settings_for(tmp_path, sounds_dir, dialplan_dir, db_url)  # migrated
    url = make_url(db_url)
    relay = None
    if url.get_backend_name() == "postgresql":  # the database server goes away
        relay = TcpRelay(url.host or "127.0.0.1", url.port or 5432)
        port = await relay.start()
        settings.store.url = url.set(host="127.0.0.1", port=port).render_as_string(
            hide_password=False)
    app = Hotline(settings)
    try:
        async with app.running():
            assert app.agi_address is not None
            assert await _ready(app) == (200, {"ready": True, "not_ready": []})
            with outage(relay, db_url):
                await agi_call(app.agi_address, app.settings, "1", "3")  # its rows wait

                async def refused() -> bool:
                    return (await _ready(app))[0] == 503

                await until(refused, 20, "readyz 503")
                status, body = await _ready(app)
                assert body == {"ready": False, "not_ready": ["store-unavailable"]}
                health_status, health = await get_json(f"{base_url(app)}/healthz")
                assert (health_status, health["ready"], health["live"]) == (200, False, True)

            async def accepted() -> bool:
                return (await _ready(app))[0] == 200

            await until(accepted, 30, "readyz 200 again")
            assert await app.writer.wait_idle(10)
            assert len(await app.calls.recent(limit=5)) == 1  # nothing was lost
    finally:
        if relay is not None:
            await relay.close()


@contextmanager
def outage(relay: TcpRelay | None, db_url: str) -> Iterator[None]:
    """The PostgreSQL server unreachable, or the SQLite file locked by someone else."""
    if relay is None:
        with sqlite_locked(db_url):
            yield
        return
    relay.cut()
    try:
        yield
    finally:
        relay.restore()


async def test_readyz_answers_503_while_draining_and_healthz_stays_200(
        tmp_path: Path, sounds_dir: Path, dialplan_dir: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'ivr.db'}"
    app = Hotline(settings_for(tmp_path, sounds_dir, dialplan_dir, url))
    stop = asyncio.Event()

    async def run() -> None:
        async with app.running():
            await stop.wait()

    server = asyncio.create_task(run())

    async def started() -> bool:
        return app.ready

    await until(started, 120, "hotline ready")
    assert app.agi_address is not None
    slow = asyncio.create_task(agi_call(app.agi_address, app.settings, "1", "3",
                                        reply_delay=lambda _command: 0.3))

    async def in_call() -> bool:
        return app.agi.active == 1

    await until(in_call, 10, "a call in progress")
    stop.set()

    async def draining() -> bool:
        return (await _ready(app))[0] == 503

    await until(draining, 5, "readyz 503")
    assert (await _ready(app))[1] == {"ready": False, "not_ready": ["draining"]}
    status, health = await get_json(f"{base_url(app)}/healthz")
    assert (status, health["live"], health["ready"]) == (200, True, False)
    await slow
    await server
