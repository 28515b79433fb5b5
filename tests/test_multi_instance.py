"""Issue 19 items 1 and 4 through two real ``ivr serve`` processes sharing one PostgreSQL.

Both instances take FastAGI calls and write them, each with its own ``instance_id``, to the
same database. ``kill -9`` of one mid-call: the survivor closes that call as ``failed`` with
``instance-lost`` (the lease is short here: a tuning value, the feature is the default), and
when the killed instance comes back, the plaintext its call left in the spool is sealed. A
rolling restart (SIGTERM: drain, then stop) lets the call in progress finish.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ivr.store.db import make_engine
from ivr.store.models import (
    CallEventRow,
    CallRow,
    DialplanVersionRow,
    InstanceRow,
    RecordingRow,
)
from ivr.testing.agi_peer import PeerResult, run_call
from ivr.testing.agi_script import CallerScript
from ivr.testing.postgres import reset_postgres
from ivr.testing.processes import free_port, ivr_command, wait_until_live

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("IVR_TEST_PG_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="IVR_TEST_PG_URL not set (make test "
                                "starts PostgreSQL and sets it)")


@dataclass
class Instance:
    """One ``ivr serve`` of the pair."""

    name: str
    data_dir: Path
    env: dict[str, str]
    log: Path
    agi_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*ivr_command(), "--data-dir", str(self.data_dir), "serve",
                 "--agi-bind", f"127.0.0.1:{self.agi_port}",
                 "--http-bind", f"127.0.0.1:{self.http_port}"],
                cwd=ROOT, env={**self.env, "IVR_INSTANCE_ID": self.name}, stdout=log,
                stderr=subprocess.STDOUT)

    def wait_live(self) -> None:
        assert self.proc is not None
        wait_until_live(self.proc, self.url, self.log)

    def get(self, path: str) -> str:
        with urllib.request.urlopen(self.url + path, timeout=5) as resp:
            return str(resp.read().decode())

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@dataclass
class Pair:
    a: Instance
    b: Instance
    sounds: Path


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, dialplan_dir: Path,
         sounds_dir: Path) -> Iterator[Pair]:
    assert PG_URL is not None
    reset_postgres(PG_URL)
    shared = tmp_path_factory.mktemp("shared")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IVR_")}
    env |= {"IVR_STORE__URL": PG_URL, "IVR_DIALPLANS__DIR": str(dialplan_dir),
            "IVR_PROMPTS__SOUNDS_DIR": str(sounds_dir),
            # One key folder for both (docs/scale-out.md: a Secret mounted on every pod).
            "IVR_RECORDING__KEYS_DIR": str(shared / "keys"),
            "IVR_STORE__LEASE_SECONDS": "1.0"}
    logs = tmp_path_factory.mktemp("logs")
    a = Instance("call-a", tmp_path_factory.mktemp("a"), env, logs / "a.log")
    b = Instance("call-b", tmp_path_factory.mktemp("b"), env, logs / "b.log")
    seeded = subprocess.run([*ivr_command(), "--data-dir", str(a.data_dir), "demo", "seed"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                            check=False)
    assert seeded.returncode == 0, seeded.stderr
    a.start()
    b.start()
    try:
        a.wait_live()
        b.wait_live()
        yield Pair(a, b, sounds_dir)
    finally:
        for inst in (a, b):
            if inst.proc is not None and inst.proc.poll() is None:
                inst.stop()


def query(stmt: Any) -> list[Any]:
    async def run() -> list[Any]:
        assert PG_URL is not None
        engine = make_engine(PG_URL)
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(stmt)).all())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def running(pid: int) -> bool:
    """``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(what: str, check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if got := check():
            return got
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout} s")


def call(inst: Instance, sounds: Path, *, hold: float = 0.0, callerid: str,
         mixmonitor: bool = False) -> PeerResult:
    """A FastAGI caller keying 1 (English) then 3 (lost card); every reply held ``hold`` s
    (prompts take time to play), so the call is in progress for a while."""
    return asyncio.run(run_call("127.0.0.1", inst.agi_port, callerid=callerid,
                                script_actions=CallerScript.of("1", "3"), sounds_root=sounds,
                                reply_delay=lambda _cmd: hold, mixmonitor=mixmonitor,
                                idle_timeout=60))


def open_call_of(instance: str, callerid: str) -> str | None:
    rows = query(select(CallRow.id).where(CallRow.instance_id == instance,
                                          CallRow.caller == callerid,
                                          CallRow.outcome.is_(None)))
    return str(rows[0][0]) if rows else None


def test_two_instances_serve_calls_into_one_database(pair: Pair) -> None:
    results: dict[str, PeerResult] = {}

    def place(inst: Instance, caller: str) -> None:
        results[inst.name] = call(inst, pair.sounds, callerid=caller)

    import threading

    threads = [threading.Thread(target=place, args=(inst, caller))
               for inst, caller in ((pair.a, "+15550101001"), (pair.b, "+15550101002"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for name in ("call-a", "call-b"):
        assert results[name].variables["IVR_QUEUE"] == "card_services", results[name]
    rows = wait_for("both rows", lambda: (r := query(select(
        CallRow.caller, CallRow.instance_id, CallRow.outcome).where(
        CallRow.caller.in_(["+15550101001", "+15550101002"])))) and
        all(x.outcome for x in r) and len(r) == 2 and r)
    assert sorted((r.caller, r.instance_id, r.outcome) for r in rows) == [
        ("+15550101001", "call-a", "queued"), ("+15550101002", "call-b", "queued")]
    for inst in (pair.a, pair.b):
        health = json.loads(inst.get("/healthz"))
        assert health["instance_id"] == inst.name and health["ready"]
        assert f'ivr_instance{{instance_id="{inst.name}"}} 1.0' in inst.get("/metrics")
    leases = dict(query(select(InstanceRow.id, InstanceRow.state)))
    assert leases == {"call-a": "serving", "call-b": "serving"}
    # Both started on an empty database: the dialplan folder was published once.
    assert query(select(DialplanVersionRow.version).where(
        DialplanVersionRow.dialplan_id == "hotline")) == [(1,)]


def test_a_killed_instances_call_is_closed_by_the_survivor_and_its_spool_sealed(
        pair: Pair) -> None:
    caller = "+15550102001"
    result: list[PeerResult | BaseException] = []

    def place() -> None:
        try:
            result.append(call(pair.a, pair.sounds, hold=0.5, callerid=caller,
                               mixmonitor=True))
        except BaseException as err:  # the server vanishing is what this caller meets
            result.append(err)

    import threading

    caller_thread = threading.Thread(target=place)
    caller_thread.start()
    call_id = wait_for("call in progress on call-a", lambda: open_call_of("call-a", caller))
    time.sleep(1.0)  # a few prompts in: MixMonitor is writing into call-a's spool
    assert pair.a.proc is not None
    workers = wait_for("call-a's TTS worker process", lambda: children_of(pair.a.proc.pid))
    assert pair.a.stop(signal.SIGKILL) == -signal.SIGKILL
    # Its worker processes (the TTS worker holds its voices, hundreds of MB) end with it.
    wait_for("call-a's worker processes ending", lambda: not any(map(running, workers)), 10)
    caller_thread.join(60)
    assert result and not (isinstance(result[0], PeerResult) and
                           "IVR_OUTCOME" in result[0].variables)  # cut, Asterisk goes on
    spool = pair.a.data_dir / "var" / "spool"
    assert list(spool.glob(f"{call_id}*.wav")), "the killed call left no plaintext to seal"

    row = wait_for("the survivor closing the call", lambda: (r := query(select(
        CallRow.outcome, CallRow.error_code, CallRow.ended_at).where(
        CallRow.id == call_id))) and r[0].outcome and r[0])
    assert (row.outcome, row.error_code) == ("failed", "instance-lost") and row.ended_at
    kinds = [k for (k,) in query(select(CallEventRow.kind).where(
        CallEventRow.call_id == call_id).order_by(CallEventRow.seq))]
    assert kinds[-2:] == ["error", "call_ended"]
    assert "ivr_instances_lost_total 1.0" in pair.b.get("/metrics")
    assert dict(query(select(InstanceRow.id, InstanceRow.state)))["call-a"] == "lost"

    # call-a comes back: the plaintext its killed call left is sealed at start.
    pair.a.start()
    pair.a.wait_live()
    wait_for("the spool sealed", lambda: not list(spool.glob("*.wav")))
    sealed = query(select(RecordingRow.status).where(RecordingRow.call_id == call_id))
    assert sealed and all(s == "incomplete" for (s,) in sealed), sealed
    assert dict(query(select(InstanceRow.id, InstanceRow.state)))["call-a"] == "serving"


def test_a_rolling_restart_lets_the_call_in_progress_finish(pair: Pair) -> None:
    caller = "+15550103001"
    result: list[PeerResult] = []
    import threading

    caller_thread = threading.Thread(
        target=lambda: result.append(call(pair.b, pair.sounds, hold=0.3, callerid=caller)))
    caller_thread.start()
    wait_for("call in progress on call-b", lambda: open_call_of("call-b", caller))
    assert pair.b.stop(signal.SIGTERM) == 0  # drain, then stop
    caller_thread.join(60)
    assert result and result[0].variables["IVR_QUEUE"] == "card_services"
    rows = query(select(CallRow.outcome, CallRow.error_code).where(CallRow.caller == caller))
    assert [(r.outcome, r.error_code) for r in rows] == [("queued", None)]
    leases = dict(query(select(InstanceRow.id, InstanceRow.state)))
    assert leases["call-b"] == "stopped"
    time.sleep(2.0)  # past its lease: a cleanly stopped instance is never judged lost
    assert "ivr_instances_lost_total 0.0" in pair.a.get("/metrics")
