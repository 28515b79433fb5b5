"""Issue 19 item 5: faults under a running Hotline (FastAGI callers, PostgreSQL, Redis, an
HTTP payment backend). Callers are served, or get a clean apology and the default queue;
nothing acknowledged is lost; each fault is alerted.

- PostgreSQL restarted under load: its connections drop and new ones are refused for two
  seconds (a relay in front of it, cut and restored), while calls run.
- Redis down: the payment breaker falls back to the instance's own memory.
- The payment backend slow, then down: the breaker opens; callers hear the apology.
- A full disk under the spool: Asterisk loses audio, the call goes on, no plaintext stays.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.engine import make_url

from ivr.app import Hotline
from ivr.store.models import CallEventRow, CallRow, RecordingRow
from ivr.testing.agi_peer import PeerResult, run_call
from ivr.testing.agi_script import CallerScript
from ivr.testing.postgres import reset_postgres
from ivr.testing.server import server_settings
from ivr.testing.tcp_relay import TcpRelay

PG_URL = os.environ.get("IVR_TEST_PG_URL")
REDIS_URL = os.environ.get("IVR_TEST_REDIS_URL")
pytestmark = [
    pytest.mark.skipif(not (PG_URL and REDIS_URL), reason="IVR_TEST_PG_URL and "
                       "IVR_TEST_REDIS_URL not set (make test starts both and sets them)"),
    pytest.mark.asyncio(loop_scope="module"),
]
APOLOGY = "Sorry, our systems are not answering right now."
FEES = """id: fees
languages: [en-US]
start: quote
nodes:
  quote:
    action:
      do: fee_quote
      params: {amount: "100", currency: "USD", kind: transfer_international}
      say: {en-US: "International transfers cost {result_percent} percent."}
      ok: bye
      unavailable: platform_down
  bye:
    hangup: {}
  platform_down:
    queue:
      name: customer_service
      prompt: {en-US: "@APOLOGY@ Please hold for an agent."}
""".replace("@APOLOGY@", APOLOGY)


class Upstream:
    """The payment backend: ``up``, ``slow`` (past the timeout) or ``down`` (503)."""

    def __init__(self) -> None:
        self.mode = "up"
        self.seen = 0

    async def handle(self, _request: web.Request) -> web.Response:
        self.seen += 1
        if self.mode == "down":
            return web.Response(status=503)
        if self.mode == "slow":
            await asyncio.sleep(2.0)
        return web.json_response({"outcome": "ok", "values": {"percent": "1.5"}})


@dataclass
class Rig:
    app: Hotline
    upstream: Upstream
    pg: TcpRelay
    redis: TcpRelay
    spool_mounted: bool
    uniqueids: dict[int, str] = field(default_factory=dict)
    _calls: int = 0

    async def call(self, script: str, *steps: str, hold: float = 0.0,
                   mixmonitor: bool = False) -> PeerResult:
        """One FastAGI call; its ``agi_uniqueid`` is ``result.uniqueid``."""
        assert self.app.agi_address is not None
        host, port = self.app.agi_address
        self._calls += 1
        uniqueid = f"{time.time():.0f}.{self._calls}"
        result = await run_call(host, port, script=script, script_actions=CallerScript.of(*steps),
                              sounds_root=self.app.settings.sounds_dir, idle_timeout=30,
                              reply_delay=lambda _cmd: hold, mixmonitor=mixmonitor,
                              uniqueid=uniqueid)
        self.uniqueids[id(result)] = uniqueid
        return result

    async def said(self, result: PeerResult) -> list[str]:
        """The prompts the caller heard, as the call's stored events tell them."""
        assert await self.app.writer.wait_idle(10)
        uniqueid = self.uniqueids[id(result)]
        async with self.app.engine.connect() as conn:
            texts = (await conn.execute(select(CallEventRow.data).join(
                CallRow, CallRow.id == CallEventRow.call_id).where(
                CallRow.uniqueid == uniqueid, CallEventRow.kind == "prompt")
                .order_by(CallEventRow.seq))).scalars()
            return [str(d.get("text")) for d in texts]

    def errors(self, code: str) -> float:
        value = self.app.metrics.registry.get_sample_value("ivr_errors_total", {"code": code})
        return value or 0.0


def mount_small_fs(path: Path) -> bool:
    """A 1 MiB tmpfs (root only; where mounting is not allowed, that test is skipped)."""
    path.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs",
                           str(path)], capture_output=True, check=False)
    return done.returncode == 0


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory, dialplan_dir: Path,
              sounds_dir: Path) -> AsyncIterator[Rig]:
    assert PG_URL and REDIS_URL
    await asyncio.to_thread(reset_postgres, PG_URL)
    plans = tmp_path_factory.mktemp("plans")
    shutil.copy(dialplan_dir / "hotline.yaml", plans / "hotline.yaml")
    (plans / "fees.yaml").write_text(FEES, encoding="utf-8")
    url = make_url(PG_URL)
    pg = TcpRelay(url.host or "127.0.0.1", url.port or 5432)
    redis = TcpRelay("127.0.0.1", int(REDIS_URL.rsplit(":", 1)[1].split("/")[0]))
    upstream = Upstream()
    web_app = web.Application()
    web_app.router.add_post("/ivr/v1/actions/{action}", upstream.handle)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    up_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    data = tmp_path_factory.mktemp("data")
    spool = data / "small-spool"
    mounted = await asyncio.to_thread(mount_small_fs, spool)
    pg_url = url.set(port=await pg.start(), host="127.0.0.1").render_as_string(False)
    # In a thread: migrating goes through the relay, which this loop serves.
    settings = await asyncio.to_thread(
        server_settings, data, sounds_dir, plans, store={"url": pg_url},
        redis={"url": f"redis://127.0.0.1:{await redis.start()}/0", "retry_seconds": 0.5},
        platform={"backend": "http", "http": {
            "url": f"http://127.0.0.1:{up_port}/ivr/v1", "timeout": 0.5, "retries": 0,
            "breaker_failures": 2, "breaker_reset_seconds": 60}},
        recording={"spool_dir": str(spool)})
    app = Hotline(settings)
    try:
        async with app.running():
            yield Rig(app, upstream, pg, redis, mounted)
    finally:
        await runner.cleanup()
        await pg.close()
        await redis.close()
        if mounted:
            await asyncio.to_thread(subprocess.run, ["umount", "-l", str(spool)], check=False)


async def test_redis_down_the_call_goes_on_and_it_is_alerted(rig: Rig) -> None:
    rig.upstream.mode = "up"
    rig.redis.cut()
    try:
        result = await rig.call("fees")
    finally:
        rig.redis.restore()
    assert "International transfers cost 1.5 percent." in await rig.said(result)
    assert "IVR_QUEUE" not in result.variables
    assert rig.errors("redis-unavailable") >= 1


async def test_a_slow_then_dead_payment_backend_gets_an_apology_and_the_default_queue(
        rig: Rig) -> None:
    await asyncio.sleep(0.6)  # Redis is back in use (retry_seconds)
    rig.upstream.mode = "slow"
    for mode in ("slow", "down", "down"):
        rig.upstream.mode = mode
        seen = rig.upstream.seen
        result = await rig.call("fees")
        said = await rig.said(result)
        assert any(APOLOGY in t for t in said), said
        assert result.variables["IVR_QUEUE"] == "customer_service"
    # Two failures opened the breaker: the last caller was not kept waiting on the backend.
    assert rig.upstream.seen == seen


async def test_postgresql_restarted_under_load_loses_no_acknowledged_call(rig: Rig) -> None:
    async def one() -> PeerResult:
        return await rig.call("hotline", "1", "3", hold=0.15)

    calls = [asyncio.create_task(one()) for _ in range(12)]
    await asyncio.sleep(0.8)
    rig.pg.cut()  # connections dropped, new ones refused: the server restarting
    noticed = False
    for _ in range(20):
        await asyncio.sleep(0.1)
        noticed = noticed or not rig.app.writer.healthy
    rig.pg.restore()
    assert noticed, "the writer never met the outage"
    late = [asyncio.create_task(one()) for _ in range(4)]
    results = await asyncio.gather(*calls, *late)
    assert all(r.variables.get("IVR_OUTCOME") == "queued" for r in results), [
        r.variables for r in results]
    assert await rig.app.writer.wait_idle(30) and rig.app.writer.healthy
    async with rig.app.engine.connect() as conn:
        rows = (await conn.execute(select(CallRow.outcome, CallRow.queue).where(
            CallRow.route == "hotline"))).all()
    assert len(rows) >= len(results)
    assert sorted((o, q) for o, q in rows)[-len(results):] == sorted(
        ("queued", r.variables["IVR_QUEUE"]) for r in results)


async def test_a_full_disk_under_the_spool_is_alerted_and_the_call_goes_on(rig: Rig) -> None:
    if not rig.spool_mounted:
        pytest.skip("mounting a small tmpfs needs root (make test runs as root)")
    spool = rig.app.settings.spool_dir
    filler = spool / ".filler"
    free = shutil.disk_usage(spool).free
    filler.write_bytes(bytes(max(0, free - 24 * 1024)))  # ~1.5 s of audio left
    try:
        async with asyncio.timeout(10):
            while rig.errors("rec-spool-full") < 1:
                await asyncio.sleep(0.1)
        result = await rig.call("hotline", "1", "3", mixmonitor=True)
        assert result.variables["IVR_QUEUE"] == "card_services"
        call_id = next(c for c in result.commands if c.startswith("EXEC MixMonitor ")
                       ).split(" ", 2)[2].rsplit("/", 1)[1].rsplit("-", 1)[0]
        async with asyncio.timeout(20):  # sealed: encrypted elsewhere, plaintext removed
            while list(spool.glob("*.wav")) or not await recordings_of(rig, call_id):
                await asyncio.sleep(0.2)
    finally:
        filler.unlink(missing_ok=True)


async def recordings_of(rig: Rig, call_id: str) -> list[str]:
    async with rig.app.engine.connect() as conn:
        return list((await conn.execute(select(RecordingRow.id).where(
            RecordingRow.call_id == call_id))).scalars())
