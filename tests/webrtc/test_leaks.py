"""Fifty calls come and go: every socket, task and thread they used is freed."""

from __future__ import annotations

import asyncio
import gc
import os
import threading

from sqlalchemy.pool import QueuePool

from ivr.app import Hotline
from ivr.telephony.headless import HeadlessCaller

from .conftest import base_url


def open_fds(database: str = "") -> int:
    """Open file descriptors, but for the database's own files when ``database`` is given:
    its connection pool is bounded (``pool_size``) and grows with how many calls happen to
    write at once (recordings add their own rows), which is not a leak."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += not (database and target.startswith(database))
    return count


def udp_sockets() -> int:
    """UDP sockets of this process (ICE); /proc/net/udp lists inodes, fds point at them."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/self/net/udp", "/proc/self/net/udp6"):
        try:
            lines = open(table).read().splitlines()[1:]  # noqa: SIM115
        except OSError:
            continue
        count += sum(1 for line in lines if line.split()[9] in inodes)
    return count


def call_threads() -> int:
    """Threads other than the loop's default executor (a bounded pool aiortc's encoder and
    ``asyncio.to_thread`` share: it grows to its maximum once, then is reused). aiortc's
    per-call decoder threads are counted."""
    return sum(1 for t in threading.enumerate() if not t.name.startswith("asyncio_"))


def pool_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("asyncio_"))


async def settle(ready: object, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if callable(ready) and ready():
            return
        await asyncio.sleep(0.05)


async def test_fifty_calls_leave_nothing_behind(hotline: Hotline) -> None:
    url = base_url(hotline)
    gateway = hotline.webrtc
    assert gateway is not None
    # Warm up with a batch: pools that live for the process (the loop's executor, the
    # database's connections) grow to their working size first; they are not leaks.
    await asyncio.gather(*(HeadlessCaller(url, [], max_seconds=0.8).run() for _ in range(10)))
    await settle(lambda: not gateway.sessions)
    gc.collect()
    database = hotline.engine.url.database or ""
    fds, udp, threads = open_fds(database), udp_sockets(), call_threads()
    tasks = len(asyncio.all_tasks())
    total = gateway.calls_total

    for _ in range(5):  # ten at a time
        reports = await asyncio.gather(*(HeadlessCaller(url, [], max_seconds=0.8).run()
                                         for _ in range(10)))
        assert all(r.dtls and r.first_audio_ms is not None for r in reports), [
            r.error for r in reports]
    await settle(lambda: not gateway.sessions and udp_sockets() <= udp)
    await settle(lambda: call_threads() <= threads)
    pool = hotline.engine.pool
    # the event writer may be flushing the last calls' rows right now: a held connection
    # is one that does not come back
    await settle(lambda: isinstance(pool, QueuePool) and pool.checkedout() == 0)
    gc.collect()

    assert gateway.calls_total - total == 50
    assert not gateway.sessions
    assert udp_sockets() <= udp, "ICE sockets left open"
    assert call_threads() <= threads, sorted(t.name for t in threading.enumerate())[:6]
    assert pool_threads() <= min(32, (os.cpu_count() or 1) + 4)
    assert open_fds(database) <= fds + 2
    assert isinstance(pool, QueuePool) and pool.checkedout() == 0  # no connection held
    assert len(asyncio.all_tasks()) <= tasks
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("webrtc-")]
