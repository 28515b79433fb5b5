"""ARI calls over real RTP on loopback: reply latency, barge-in stop, talking calls per core.

A real :class:`ivr.app.Hotline` (SQLite, whisper for en-US, prompts pre-rendered) serves the
fake Asterisk of ``ivr.testing.ari_peer`` (REST, events websocket, µ-law RTP on 127.0.0.1),
both in this process so the outbound 20 ms clock can be read directly.

Reported: reply p50/p95 (the last frame of the caller's answer leaves → the first audible
frame of Hotline's reply arrives), barge-in stop p50/p95 (the caller's first speech frame
leaves during a long prompt → the last audible prompt frame before the prompt goes quiet),
and per level of talking calls (each says a 2 s sentence every 6 s, recognised and
answered) the outbound frame intervals: p99 and the share outside 20 ± 5 ms; calls per core
is the highest level with 99 % of frames within 20 ± 5 ms, divided by the cores. CPU: the
process's CPU seconds per call-second, and where it went, per thread from
``/proc/self/task``: the event loop (speech detection, the flow, RTP in, and the fake
Asterisk), the media clock, the decode threads' Python side, and native threads (Whisper's
CTranslate2 and other compute libraries' own threads).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

PHRASES = """      dtmf: {"1": refund, "0": agent}
      phrases:
        refund: {en-US: [refund, money back]}
        agent: {en-US: [agent, operator, representative]}
"""
HEAD = """languages: [en-US]
start: main
fallback: agent
defaults: {timeout: 5, retries: 1,
  no_input: {en-US: "Sorry, I didn't hear you."},
  no_match: {en-US: "Sorry, I didn't get that."}}
nodes:
"""
TAIL = """  refund:
    say: {en-US: "Refunds take five business days."}
    next: done
  done:
    hangup: {prompt: {en-US: "Goodbye."}}
  agent:
    queue: {name: customer_service, prompt: {en-US: "Please hold for an agent."}}
"""
PLANS = {
    "voice": HEAD + """  main:
    ask:
      prompt: {en-US: "Welcome to Acme Pay. Say refund, or say agent."}
""" + PHRASES + TAIL,
    "long": HEAD + """  main:
    ask:
      prompt: {en-US: "This is a long menu. You can say refund, or you can say agent, at any
        time while I am talking, and I will stop at once and listen to you instead."}
""" + PHRASES + TAIL,
    "talk": HEAD + """  main:
    ask:
      prompt: {en-US: "Say something."}
      timeout: 8
      retries: 5
      no_match: {en-US: "Again."}
""" + PHRASES + TAIL,
}
LOUD = 500.0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))], 1)


def _trim(samples: np.ndarray) -> np.ndarray:
    loud = np.nonzero(np.abs(samples) > 300)[0]
    return samples[: loud[-1] + 1] if len(loud) else samples


async def _wait_quiet(caller: Any, quiet: float = 0.4, timeout: float = 30.0) -> None:
    """Until Hotline has been silent for ``quiet`` seconds (its prompt is over)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        loud = caller.loud_times(LOUD)
        if loud and time.monotonic() - loud[-1] > quiet:
            return
        await asyncio.sleep(0.02)


async def _reply(asterisk: Any, said: np.ndarray) -> float | None:
    caller = await asterisk.call(args=("8005550100", "voice"))
    await caller.wait_media()
    await _wait_quiet(caller)
    caller.say(said)
    media = caller.media
    while media.said_ended_at is None:  # noqa: ASYNC110 (poll the fake's clock)
        await asyncio.sleep(0.01)
    ended = media.said_ended_at
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        after = [t for t in caller.loud_times(LOUD) if t > ended]
        if after:
            await caller.hangup()
            return (after[0] - ended) * 1000
        await asyncio.sleep(0.01)
    await caller.hangup()
    return None


async def _barge_in(asterisk: Any, said: np.ndarray) -> float | None:
    """Talk 1.5 s into the long prompt; when did the prompt go quiet for good?"""
    caller = await asterisk.call(args=("8005550100", "long"))
    await caller.wait_media()
    while len(caller.loud_times(LOUD)) < 75:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    caller.say(said)
    media = caller.media
    while media.said_started_at is None:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    onset = media.said_started_at
    await asyncio.sleep(1.5)
    loud = [t for t in caller.loud_times(LOUD) if t >= onset]
    await caller.hangup()
    stop = onset
    for before, after in zip(loud, [*loud[1:], float("inf")], strict=True):
        if after - before > 0.3:  # a gap longer than any pause between the prompt's words
            stop = before
            break
    return (stop - onset) * 1000


def _thread_cpu() -> dict[int, float]:
    """CPU seconds so far of each thread of this process (Linux), by thread id."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _thread_label(tid: int) -> str:
    import threading

    for thread in threading.enumerate():
        if thread.native_id == tid:
            if thread is threading.main_thread():
                return "event loop"
            name = thread.name
            if name.startswith("asr"):
                return "decode threads (Python side)"
            if name.startswith("ari-media-clock"):
                return "media clock"
            return "other Python threads"
    return "native threads (Whisper, VAD)"


def _cpu_shares(before: dict[int, float], after: dict[int, float]) -> dict[str, float]:
    used: dict[str, float] = {}
    for tid, cpu in after.items():
        label = _thread_label(tid)
        used[label] = used.get(label, 0.0) + cpu - before.get(tid, 0.0)
    total = sum(used.values()) or 1.0
    return {k: round(v / total, 3) for k, v in sorted(used.items(), key=lambda kv: -kv[1])}


async def _talkers(asterisk: Any, hotline: Any, level: int, seconds: float,
                   said: np.ndarray) -> dict[str, Any]:
    callers = [await asterisk.call(args=("8005550100", "talk")) for _ in range(level)]
    await asyncio.gather(*(c.wait_media() for c in callers))
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    threads0 = _thread_cpu()
    start = time.monotonic()

    async def talk(caller: Any, offset: float) -> None:
        await asyncio.sleep(offset)
        while time.monotonic() - start < seconds:
            caller.say(said)
            await asyncio.sleep(6.0)

    await asyncio.gather(*(talk(c, i * 6.0 / level) for i, c in enumerate(callers)))
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    shares = _cpu_shares(threads0, _thread_cpu())
    intervals: list[float] = []
    for session in list(hotline.ari.sessions.values()):
        intervals += list(session.call.track.pacing.intervals)[50:]
    for caller in callers:
        await caller.hangup()
    ms = [i * 1000 for i in intervals]
    outside = sum(1 for v in ms if abs(v - 20) > 5) / len(ms) if ms else float("nan")
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    return {"level": level, "frames": len(ms), "interval_p50_ms": _pct(ms, 50),
            "interval_p99_ms": _pct(ms, 99), "outside_20pm5": round(outside, 4),
            "cpu_s_per_call_s": round(cpu / (level * seconds), 4), "cpu_share": shares,
            "ok": bool(ms) and outside <= 0.01}


async def _run(args: Any) -> dict[str, Any]:
    from ivr.app import Hotline
    from ivr.config import load_settings
    from ivr.datadir import prepare
    from ivr.testing.ari_peer import FakeAsterisk
    from ivr.testing.speech_audio import espeak

    answer = _trim(espeak("I want to speak to an agent", "en-us", rate=8000))
    barge = _trim(espeak("I want a refund", "en-us", rate=8000))
    talk = espeak("I would like to know where my money went", "en-us", rate=8000)[:16000]
    calls = int(os.environ.get("IVR_BENCH_ARI_CALLS", "8"))
    levels = [int(x) for x in os.environ.get("IVR_BENCH_ARI_LEVELS", "5,10,20,30").split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        plans = Path(tmp) / "plans"
        plans.mkdir()
        for name, text in PLANS.items():
            (plans / f"{name}.yaml").write_text(f"id: {name}\n{text}", encoding="utf-8")
        async with FakeAsterisk() as asterisk:
            settings = load_settings(tmp, {
                "agi": {"bind": "127.0.0.1:0"}, "http": {"bind": "127.0.0.1:0"},
                "dialplans": {"dir": str(plans)}, "recording": {"enabled": False},
                "ari": {"url": asterisk.url, "password": asterisk.password,
                        "media_ports": "0", "max_calls": 1000},
                "speech": {"languages": {"en-US": {"engine": "whisper"}}}})
            prepare(settings)
            hotline = Hotline(settings)
            async with hotline.running():
                await asterisk.wait_connected()
                replies = [r for r in [await _reply(asterisk, answer) for _ in range(calls)]
                           if r is not None]
                stops = [s for s in [await _barge_in(asterisk, barge) for _ in range(calls)]
                         if s is not None]
                latency = {"reply_p50_ms": _pct(replies, 50), "reply_p95_ms": _pct(replies, 95),
                           "replies": len(replies), "barge_stop_p50_ms": _pct(stops, 50),
                           "barge_stop_p95_ms": _pct(stops, 95)}
                rows = []
                for level in levels:
                    row = await _talkers(asterisk, hotline, level, max(12.0, args.seconds),
                                         talk)
                    rows.append({**latency, **row})
                    if not row["ok"]:
                        break
                    await asyncio.sleep(1.0)
    good = [r["level"] for r in rows if r["ok"]]
    per_core = (max(good) if good else 0) / (os.cpu_count() or 1)
    for row in rows:
        row["calls_per_core"] = per_core
    met = (latency["reply_p95_ms"] <= 900 and latency["barge_stop_p95_ms"] <= 300
           and per_core >= 10)
    return {"title": "ARI over RTP: reply latency, barge-in stop, talking calls per core",
            "rows": rows,
            "floor": "reply p95 <= 900 ms; barge-in stop p95 <= 300 ms; >= 10 talking calls "
                     "per core with 99 % of frames in 20 +- 5 ms",
            "floor_met": met}


def bench(args: Any) -> dict[str, Any]:
    return asyncio.run(_run(args))


if __name__ == "__main__":
    import argparse

    print(json.dumps(bench(argparse.Namespace(seconds=20.0)), indent=2))
