"""N concurrent simulated Asterisk calls through the keypad flow against `ivr serve`.

The server runs as its own process (`python -m ivr serve`, SQLite, prompts pre-rendered);
other processes play N callers at once (their first calls spread over 3 s), each call
followed by the next, for a fixed time.
Prompts are "played" by holding the reply to STREAM FILE and GET DATA for a while
(scaled-down real durations), so N calls are really in flight at once.

The callers are bench/fast_agi_caller.py, as in bench.scale: each of the three calls
(English lost card, English agent, Mandarin lost card) is placed once with `run_call`'s
full simulated Asterisk and recorded, and the callers replay those recordings, checking
every command's verb and the queue each call ends in. `run_call` itself costs so much CPU
per call that, at 500 calls, its own event loops made the tail: the null FastAGI responder
(bench/null_agi.py), which does no work at all, measured 32 ms at p99 through it. The same
load against the null responder is measured at each level, through the same callers, and
reported next to Hotline's (``null_reply_p99_ms``): what this machine and the callers cost.

Reported: calls completed per second, Hotline's reply time per AGI command (from the peer
sending a reply to it receiving the next command, so network and both event loops count
against us) as p50/p95/p99, the server's peak RSS, the callers' CPU per call, and calls
lost (errors, a call that left its recording, or one that did not end in the expected
queue).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.fast_agi_caller import FastCaller, RecordedCall, in_processes, record, run_counting_cpu
from bench.null_agi import NullResponder, free_port
from ivr.testing.agi_peer import run_call
from ivr.testing.agi_script import CallerScript

ROOT = Path(__file__).resolve().parents[1]
RAMP_SECONDS = 3.0
"""The callers' first calls start spread over this long, as in bench.scale: 500 calls
dialled in the same millisecond queue behind each other even on the null responder."""
SCRIPTS = [(("1", "3"), "card_services"), (("1", "0"), "customer_service"),
           (("2", "3"), "card_services")]


def _prompt_time(command: str) -> float:
    if command.startswith(("STREAM FILE", "GET DATA")):
        return random.uniform(0.2, 0.8)
    return 0.0


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _server_histogram_p(port: int, q: float) -> float:
    """Upper bound (ms) of the server-side reply-time bucket holding the q-th percentile."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    buckets = []
    for line in text.splitlines():
        if line.startswith("ivr_agi_reply_seconds_bucket"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(bound), float(line.rsplit(" ", 1)[1])))
    total = buckets[-1][1] if buckets else 0
    for bound, count in buckets:
        if total and count >= total * q / 100:
            return bound * 1000
    return float("nan")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    """`ivr serve` in a subprocess on free loopback ports, in a throwaway data dir."""

    def __init__(self, data_dir: Path, sounds_dir: Path, env: dict[str, str] | None = None) -> None:
        self.agi_port, self.http_port = free_port(), free_port()
        env = {**os.environ, "IVR_PROMPTS__SOUNDS_DIR": str(sounds_dir), "IVR_LOG_LEVEL": "WARNING",
               "IVR_AGI__MAX_CALLS": "5000", **(env or {})}
        # Its log goes to a file: a pipe nobody reads would fill up and stop the server
        # at its next log line once it is under load.
        self.log_path = data_dir.with_name(f"{data_dir.name}.log")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ivr", "--data-dir", str(data_dir), "serve",
             "--agi-bind", f"127.0.0.1:{self.agi_port}",
             "--http-bind", f"127.0.0.1:{self.http_port}"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
        log.close()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ivr serve exited: {self.log_path.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("ivr serve did not become ready")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


async def _caller(port: int, until: float, stats: dict[str, Any], worker: int) -> None:
    rng = random.Random(worker)
    while time.monotonic() < until:
        steps, queue = rng.choice(SCRIPTS)
        try:
            result = await run_call("127.0.0.1", port, script_actions=CallerScript.of(*steps),
                                    reply_delay=_prompt_time, idle_timeout=30)
        except (OSError, TimeoutError) as err:
            stats["lost"] += 1
            stats["errors"].append(repr(err))
            continue
        stats["reply_times"].extend(result.reply_times)
        if result.variables.get("IVR_QUEUE") == queue:
            stats["completed"] += 1
        else:
            stats["lost"] += 1
            stats["errors"].append(f"unexpected end: {result.variables}")


async def _callers(port: int, workers: range, seconds: float) -> dict[str, Any]:
    stats: dict[str, Any] = {"completed": 0, "lost": 0, "reply_times": [], "errors": []}
    until = time.monotonic() + seconds
    await asyncio.gather(*(_caller(port, until, stats, i) for i in workers))
    return stats


def _callers_process(port: int, first: int, last: int, seconds: float) -> dict[str, Any]:
    return asyncio.run(_callers(port, range(first, last), seconds))


def _run_level(port: int, concurrency: int, seconds: float, processes: int) -> dict[str, Any]:
    """Callers spread over a few processes, so the callers' own event loops do not queue
    replies and inflate Hotline's measured reply time."""
    from concurrent.futures import ProcessPoolExecutor

    share = -(-concurrency // processes)
    started = time.monotonic()
    with ProcessPoolExecutor(processes) as pool:
        parts = list(pool.map(_callers_process, [port] * processes,
                              range(0, concurrency, share),
                              [min(concurrency, i + share) for i in range(0, concurrency, share)],
                              [seconds] * processes))
    elapsed = time.monotonic() - started
    stats: dict[str, Any] = {
        "completed": sum(p["completed"] for p in parts), "lost": sum(p["lost"] for p in parts),
        "errors": [e for p in parts for e in p["errors"]]}
    times = [t for p in parts for t in p["reply_times"]]
    return {
        "concurrent_calls": concurrency,
        "caller_processes": processes,
        "seconds": round(elapsed, 1),
        "calls_completed": stats["completed"],
        "calls_per_second": round(stats["completed"] / elapsed, 1),
        "calls_lost": stats["lost"],
        "agi_commands": len(times),
        "reply_p50_ms": round(_percentile(times, 50) * 1000, 2),
        "reply_p95_ms": round(_percentile(times, 95) * 1000, 2),
        "reply_p99_ms": round(_percentile(times, 99) * 1000, 2),
        "errors": stats["errors"][:5],
    }


async def _replaying(port: int, workers: range, seconds: float,
                     calls: list[tuple[RecordedCall, str]]) -> dict[str, Any]:
    """Callers ``workers`` replaying ``calls`` (a recording and the queue it must end in),
    chosen at random, one call after the other for ``seconds``."""
    callers = [(FastCaller(recorded), queue) for recorded, queue in calls]
    stats: dict[str, Any] = {"completed": 0, "lost": 0, "errors": []}
    until = time.monotonic() + seconds

    async def caller(worker: int) -> None:
        rng = random.Random(worker)
        await asyncio.sleep(rng.uniform(0, RAMP_SECONDS))  # callers arrive, not all at once
        n = 0
        while time.monotonic() < until:
            fast, queue = rng.choice(callers)
            uniqueid = f"bench.{worker}.{n}"
            n += 1
            try:
                variables, diverged = await fast.place(port, uniqueid, rng)
            except (OSError, TimeoutError) as err:
                stats["lost"] += 1
                stats["errors"].append(repr(err))
                continue
            if not diverged and variables.get("IVR_QUEUE") == queue:
                stats["completed"] += 1
            else:
                stats["lost"] += 1
                stats["errors"].append(f"{uniqueid} left the recorded call at {diverged!r}"
                                       if diverged else f"unexpected end: {variables}")

    await asyncio.gather(*(caller(i) for i in workers))
    stats["reply_times"] = [t for fast, _ in callers for t in fast.times]
    return stats


def _replaying_process(first: int, last: int, port: int, seconds: float,
                       calls: list[tuple[RecordedCall, str]]) -> dict[str, Any]:
    return run_counting_cpu(_replaying(port, range(first, last), seconds, calls))


def _replay_level(port: int, concurrency: int, seconds: float, processes: int,
                  calls: list[tuple[RecordedCall, str]]) -> dict[str, Any]:
    """Like :func:`_run_level`, with the recorded calls replayed (bench/fast_agi_caller.py)."""
    started = time.monotonic()
    parts = in_processes(_replaying_process, concurrency, processes, port, seconds, calls)
    elapsed = time.monotonic() - started
    completed = sum(p["completed"] for p in parts)
    lost = sum(p["lost"] for p in parts)
    times = [t for p in parts for t in p["reply_times"]]
    return {
        "concurrent_calls": concurrency,
        "caller_processes": len(parts),
        "seconds": round(elapsed, 1),
        "calls_completed": completed,
        "calls_per_second": round(completed / elapsed, 1),
        "calls_lost": lost,
        "agi_commands": len(times),
        "reply_p50_ms": round(_percentile(times, 50) * 1000, 2),
        "reply_p95_ms": round(_percentile(times, 95) * 1000, 2),
        "reply_p99_ms": round(_percentile(times, 99) * 1000, 2),
        "generator_cpu_ms_per_call": round(
            sum(p["cpu_seconds"] for p in parts) * 1000 / max(1, completed + lost), 2),
        "errors": [e for p in parts for e in p["errors"]][:5],
    }


def _record_calls(port: int) -> list[tuple[RecordedCall, str]]:
    """Each of SCRIPTS placed once with `run_call` and recorded; each must reach its queue."""
    calls = []
    for i, (steps, queue) in enumerate(SCRIPTS):
        recorded = asyncio.run(record("127.0.0.1", port, steps, f"bench.record.{i}"))
        if recorded.variables.get("IVR_QUEUE") != queue:
            raise RuntimeError(f"the recorded call {steps} did not reach {queue}: "
                               f"{recorded.variables}")
        calls.append((recorded, queue))
    return calls


def run(levels: tuple[int, ...] = (50, 500), seconds: float = 20.0,
        processes: int = 2) -> list[dict[str, Any]]:
    """Run each concurrency level against a fresh server, then the same callers against the
    null responder; return one row per level."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="ivr-bench-") as tmp:
        sounds = Path(tmp) / "sounds"
        for level in levels:
            server = Server(Path(tmp) / f"data{level}", sounds)
            procs = max(1, min(processes, level // 25))
            try:
                calls = _record_calls(server.agi_port)
                row = _replay_level(server.agi_port, level, seconds, procs, calls)
                row["server_peak_rss_mb"] = round(_peak_rss_mb(server.proc.pid), 1)
                row["server_side_p99_ms_at_most"] = _server_histogram_p(server.http_port, 99)
            finally:
                row_exit = server.stop()
            row["server_exit_code"] = row_exit
            # The null responder answers with one recorded call's commands: the agent call.
            agent_call = next(c for c in calls if c[1] == "customer_service")
            commands = Path(tmp) / f"commands{level}.txt"
            commands.write_text("".join(f"{c}\n" for c in agent_call[0].commands))
            null = NullResponder(commands)
            try:
                baseline = _replay_level(null.agi_port, level, seconds, procs, [agent_call])
            finally:
                null.stop()
            row["null_reply_p99_ms"] = baseline["reply_p99_ms"]
            row["null_calls_lost"] = baseline["calls_lost"]
            rows.append(row)
    return rows


FLOOR_P99_MS = 20.0


def bench(args: Any) -> dict[str, Any]:
    """Entry point for ``python -m bench``."""
    levels = tuple(int(x) for x in str(args.levels).split(","))
    rows = run(levels, args.seconds)
    return {
        "title": "FastAGI keypad flow: N concurrent simulated Asterisk calls vs `ivr serve`",
        "rows": rows,
        "floor": f"p99 reply <= {FLOOR_P99_MS:g} ms at 500 concurrent calls, no call lost",
        "floor_met": all(r["reply_p99_ms"] <= FLOOR_P99_MS and r["calls_lost"] == 0
                         for r in rows),
    }
