"""Full garbage collections on the server's clock (``gc_full_seconds``)."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from ivr.gc_pacing import NEVER, FullCollections


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


async def test_cyclic_garbage_waits_at_most_one_interval_and_pauses_are_measured() -> None:
    before = gc.get_threshold()
    pauses: list[float] = []
    collector = FullCollections(0.05, pauses.append)
    task = asyncio.create_task(collector.run())
    await asyncio.sleep(0)
    try:
        assert gc.get_threshold()[2] == NEVER  # Python starts no full collection itself
        assert gc.get_threshold()[:2] == before[:2]  # young ones as before
        gc.disable()  # nothing but the clock may collect the cycle
        try:
            ref = _cycle()
            assert ref() is not None
            for _ in range(100):
                if ref() is None:
                    break
                await asyncio.sleep(0.01)
        finally:
            gc.enable()
        assert ref() is None, "the cycle outlived several intervals"
        assert collector.collections >= 1 and len(pauses) == collector.collections
        assert all(p >= 0 for p in pauses)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert gc.get_threshold() == before  # Python's schedule is back


def test_a_zero_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        FullCollections(0)
