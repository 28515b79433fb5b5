"""Scale-out: N concurrent FastAGI calls spread over two `ivr serve` instances sharing one
PostgreSQL, and the same load against a null FastAGI responder (bench/null_agi.py).

The call: one path through dialplans/hotline.yaml, English (1), main menu 0, the queue
``customer_service``. Each prompt (STREAM FILE, GET DATA) is held 0.2-0.8 s. The command
sequence Hotline sends on that call is recorded first; the null responder sends exactly
that sequence, so both servers face the same callers with the same replies.

The callers (the simulated Asterisk, ``--caller-processes`` processes) replay that recorded
call with bench/fast_agi_caller.py rather than running `run_call` per call: the recording
is `run_call`'s own call (its env block, and per command the exact reply bytes its
simulated channel sent), the holds and the reply-time clock are the same, a command off
the recording ends the call as lost, and tests/testing/test_fast_agi_caller.py checks both
play the same commands, replies and variables. It costs about half the CPU per call, and
on 2 cores every CPU-millisecond the callers spend is one Hotline's replies wait for
(``generator_cpu_ms_per_call`` in each row). The soak still runs `run_call`.

Per server: calls per second, calls lost (no row in ``calls``, or the call ended without
``IVR_OUTCOME``), reply time per AGI command from the caller's side (from the caller's reply
to the next command: both event loops and TCP count) as p50/p95/p99; for Hotline also the
server-side p99 (its histogram, summed over both instances), RSS per instance, and
PostgreSQL write transactions and inserted rows per second. Floor: Hotline's caller-side
p99 at most twice the null responder's, and no call lost.

``--soak-minutes M`` (not in CI): M minutes at ``--soak-calls`` concurrent calls, then 30 s
idle: RSS, open files and event-loop tasks of each instance sampled every 30 s must be flat
after the calls end.

PostgreSQL: ``IVR_BENCH_PG_URL`` (default the ``ivr_bench`` database that
scripts/start-postgres.sh creates); its ``public`` schema is emptied first.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import subprocess
import tempfile
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import bench_pg_url
from bench.agi_calls import Server, _percentile
from bench.fast_agi_caller import FastCaller, RecordedCall, in_processes, record, run_counting_cpu
from bench.null_agi import NullResponder
from ivr.store.db import make_engine
from ivr.testing.agi_peer import run_call
from ivr.testing.agi_script import CallerScript
from ivr.testing.postgres import reset_postgres

CALL = ("1", "0")
QUEUE = "customer_service"
RAMP_SECONDS = 3.0
PG_STATS_SECONDS = 11.0
"""PostgreSQL 15 backends report their statistics at most 10 s late once idle."""
FLOOR_RATIO = 2.0
LOOP_LAG = "ivr_event_loop_lag_seconds"
GC_FULL = "ivr_gc_full_collection_seconds"
"""Each instance's loop-lag histogram: how late its event loop ran a timer during the calls."""


def _prompt_time(command: str) -> float:
    if command.startswith(("STREAM FILE", "GET DATA")):
        return random.uniform(0.2, 0.8)
    return 0.0


# The load generator ---------------------------------------------------------------------

async def _caller(ports: list[int], until: float, worker: int, run: str,
                  stats: dict[str, Any], fast: FastCaller | None) -> None:
    rng = random.Random(worker)
    await asyncio.sleep(rng.uniform(0, RAMP_SECONDS))  # callers arrive, not all at once
    n = 0
    while time.monotonic() < until:
        port = ports[(worker + n) % len(ports)]
        uniqueid = f"{run}.{worker}.{n}"
        n += 1
        try:
            if fast is not None:
                variables, diverged = await fast.place(port, uniqueid, rng)
                if diverged:
                    stats["errors"].append(f"{uniqueid} left the recorded call at {diverged!r}")
                    variables = {}
            else:
                result = await run_call("127.0.0.1", port, script_actions=CallerScript.of(*CALL),
                                        uniqueid=uniqueid, reply_delay=_prompt_time,
                                        idle_timeout=60)
                stats["reply_times"].extend(result.reply_times)
                variables = result.variables
        except (OSError, TimeoutError) as err:
            stats["calls"].append((uniqueid, None))
            stats["errors"].append(repr(err))
            continue
        stats["calls"].append((uniqueid, variables.get("IVR_OUTCOME")))


async def _callers(ports: list[int], workers: range, seconds: float, run: str,
                   recorded: RecordedCall | None) -> dict[str, Any]:
    fast = FastCaller(recorded) if recorded is not None else None
    stats: dict[str, Any] = {"calls": [], "reply_times": fast.times if fast else [], "errors": []}
    until = time.monotonic() + seconds
    await asyncio.gather(*(_caller(ports, until, i, run, stats, fast) for i in workers))
    return stats


def _callers_process(first: int, last: int, ports: list[int], seconds: float, run: str,
                     recorded: RecordedCall | None) -> dict[str, Any]:
    return run_counting_cpu(_callers(ports, range(first, last), seconds, run, recorded))


def load(ports: list[int], concurrency: int, seconds: float, processes: int,
         run: str, recorded: RecordedCall | None = None) -> dict[str, Any]:
    """``concurrency`` callers in ``processes`` processes, each placing one call after the
    other for ``seconds``, alternating over ``ports``; every call started is finished.
    With ``recorded`` the callers replay it (bench/fast_agi_caller.py), else they run
    `run_call`'s full simulated Asterisk."""
    started = time.monotonic()
    parts = in_processes(_callers_process, concurrency, processes, ports, seconds, run, recorded)
    calls = [c for p in parts for c in p["calls"]]
    return {"elapsed": time.monotonic() - started,
            "calls": calls,
            "reply_times": [t for p in parts for t in p["reply_times"]],
            "errors": [e for p in parts for e in p["errors"]],
            "generator_cpu_ms_per_call": round(
                sum(p["cpu_seconds"] for p in parts) * 1000 / max(1, len(calls)), 2)}


def _row(name: str, concurrency: int, result: dict[str, Any], lost: int) -> dict[str, Any]:
    times = result["reply_times"]
    completed = len(result["calls"]) - lost
    return {
        "server": name, "concurrent_calls": concurrency,
        "seconds": round(result["elapsed"], 1),
        "calls": len(result["calls"]),
        "calls_per_second": round(completed / result["elapsed"], 1),
        "calls_lost": lost,
        "agi_commands": len(times),
        "reply_p50_ms": round(_percentile(times, 50) * 1000, 2),
        "reply_p95_ms": round(_percentile(times, 95) * 1000, 2),
        "reply_p99_ms": round(_percentile(times, 99) * 1000, 2),
        "generator_cpu_ms_per_call": result["generator_cpu_ms_per_call"],
        "errors": result["errors"][:5],
    }


# What the servers and PostgreSQL say ---------------------------------------------------

def _metrics(port: int) -> str:
    """The instance's /metrics; empty when it does not answer within a minute (a machine
    this loaded is a result too: the figures that need it show nan)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as resp:
            return resp.read().decode()
    except OSError:
        return ""


def _log_summary(servers: list[Server]) -> dict[str, int]:
    """How many log lines of each kind (``code:`` or the logger's first word) the instances
    wrote: a bench run should log next to nothing."""
    counts: dict[str, int] = {}
    for server in servers:
        for line in server.log_path.read_text(errors="replace").splitlines():
            match = re.search(r"\b([a-z]+(?:-[a-z]+)+):", line)
            key = match.group(1) if match else (line.split() or ["(blank)"])[0][:40]
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1])[:10])


def _stop(server: Server) -> None:
    try:
        server.stop()
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


def _sample(metrics: str, name: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return float("nan")


def _buckets(ports: list[int], name: str) -> dict[float, float]:
    """The histogram ``name``'s cumulative buckets, summed over the instances."""
    buckets: dict[float, float] = {}
    for port in ports:
        for line in _metrics(port).splitlines():
            if line.startswith(f"{name}_bucket"):
                bound = float(line.split('le="', 1)[1].split('"', 1)[0])
                buckets[bound] = buckets.get(bound, 0.0) + float(line.rsplit(" ", 1)[1])
    return buckets


def _bucket_p99_ms(buckets: dict[float, float], since: dict[float, float] | None = None) -> float:
    """Upper bound (ms) of the bucket holding the 99th percentile (of what came ``since``)."""
    ordered = sorted((b, n - (since or {}).get(b, 0.0)) for b, n in buckets.items())
    total = ordered[-1][1] if ordered else 0
    for bound, count in ordered:
        if total and count >= total * 0.99:
            return bound * 1000
    return float("nan")


def _bucket_max_ms(buckets: dict[float, float], since: dict[float, float]) -> float:
    """Upper bound (ms) of the bucket holding the longest sample that came ``since``."""
    gained = {b: n - since.get(b, 0.0) for b, n in buckets.items()}
    total = max(gained.values(), default=0.0)
    if not total:
        return 0.0
    return min(b for b, n in gained.items() if n >= total) * 1000  # cumulative buckets


def _server_p99_ms(ports: list[int]) -> float:
    """Upper bound of the reply-time bucket holding the 99th percentile, both instances."""
    return _bucket_p99_ms(_buckets(ports, "ivr_agi_reply_seconds"))


def _proc(pid: int) -> dict[str, float]:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if ":" in line)
    return {"rss_mb": int(status["VmRSS"].split()[0]) / 1024,
            "peak_rss_mb": int(status["VmHWM"].split()[0]) / 1024,
            "fds": float(len(os.listdir(f"/proc/{pid}/fd")))}


async def _pg_counters(url: str) -> tuple[float, float]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            commits = (await conn.execute(text(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"))
            ).scalar_one()
            rows = (await conn.execute(text(
                "SELECT coalesce(sum(n_tup_ins + n_tup_upd), 0) FROM pg_stat_user_tables"))
            ).scalar_one()
    finally:
        await engine.dispose()
    return float(commits), float(rows)


async def _lost(url: str, calls: list[tuple[str, str | None]], wait: float = 30.0) -> dict[str, int]:
    """Calls with no closed row (waiting up to ``wait`` s for the writers) or no outcome."""
    ids = [uid for uid, _ in calls]
    engine = make_engine(url)
    try:
        deadline = time.monotonic() + wait
        while True:
            async with engine.connect() as conn:
                found = (await conn.execute(
                    text("SELECT uniqueid, outcome FROM calls WHERE uniqueid = ANY(:ids)"),
                    {"ids": ids})).all()
            rows: dict[str, str | None] = {r[0]: r[1] for r in found}
            open_ = sum(1 for uid in ids if rows.get(uid) is None)
            if not open_ or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
    finally:
        await engine.dispose()
    no_row = sum(1 for uid in ids if uid not in rows)
    no_outcome = sum(1 for _, outcome in calls if not outcome)
    lost = sum(1 for uid, outcome in calls if rows.get(uid) is None or not outcome)
    return {"lost": lost, "no_row": no_row, "row_not_closed": open_ - no_row,
            "no_ivr_outcome": no_outcome}


# The two servers -------------------------------------------------------------------------

def _hotlines(tmp: Path, url: str) -> list[Server]:
    sounds = tmp / "sounds"
    # One recording key folder, as every instance sharing a database must have
    # (docs/scale-out.md): the first instance creates the key, the second uses it.
    env = {"IVR_STORE__URL": url, "IVR_RECORDING__KEYS_DIR": str(tmp / "keys")}
    # One after the other: the first renders the prompts the second then finds.
    return [Server(tmp / f"data-{name}", sounds, {**env, "IVR_INSTANCE_ID": f"bench-{name}"})
            for name in ("a", "b")]


def _record(port: int, out: Path) -> RecordedCall:
    """The call as `run_call` plays it against Hotline: the load generator replays it."""
    call = asyncio.run(record("127.0.0.1", port, CALL, "bench.record"))
    if call.variables.get("IVR_QUEUE") != QUEUE:
        raise RuntimeError(f"the recorded call did not reach {QUEUE}: {call.variables}")
    out.write_text("".join(f"{c}\n" for c in call.commands))
    return call


def run(concurrency: int = 1000, seconds: float = 30.0, processes: int = 4,
        url: str | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    url = url or bench_pg_url()
    reset_postgres(url)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ivr-scale-") as tmp:
        servers = _hotlines(Path(tmp), url)
        commands_file = Path(tmp) / "commands.txt"
        try:
            recorded = _record(servers[0].agi_port, commands_file)
            time.sleep(PG_STATS_SECONDS)
            commits0, rows0 = asyncio.run(_pg_counters(url))
            cpu0 = [_sample(_metrics(s.http_port), "process_cpu_seconds_total") for s in servers]
            lag0 = _buckets([s.http_port for s in servers], LOOP_LAG)
            gc0 = _buckets([s.http_port for s in servers], GC_FULL)
            result = load([s.agi_port for s in servers], concurrency, seconds, processes, "hot",
                          recorded)
            cpu1 = [_sample(_metrics(s.http_port), "process_cpu_seconds_total") for s in servers]
            lag1 = _buckets([s.http_port for s in servers], LOOP_LAG)
            gc1 = _buckets([s.http_port for s in servers], GC_FULL)
            load_average = os.getloadavg()
            lost = asyncio.run(_lost(url, result["calls"]))
            time.sleep(PG_STATS_SECONDS)  # idle backends report their counters this late
            commits1, rows1 = asyncio.run(_pg_counters(url))
            row = _row("hotline (2 instances, PostgreSQL)", concurrency, result, lost["lost"])
            row.update(lost_detail=lost,
                       server_side_p99_ms_at_most=_server_p99_ms([s.http_port for s in servers]),
                       pg_write_transactions_per_second=round((commits1 - commits0)
                                                              / result["elapsed"], 1),
                       pg_rows_written_per_second=round((rows1 - rows0) / result["elapsed"], 1))
            row["loop_lag_p99_ms_at_most"] = _bucket_p99_ms(lag1, lag0)
            row["load_average_1m"] = round(load_average[0], 2)
            row["gc_full_collections"] = max(gc1.values(), default=0) - max(gc0.values(), default=0)
            row["gc_full_longest_ms_at_most"] = _bucket_max_ms(gc1, gc0)
            row["server_cpu_ms_per_call"] = round(
                (sum(cpu1) - sum(cpu0)) * 1000 / max(1, len(result["calls"])), 1)
            row["server_log"] = _log_summary(servers)
            for name, server in zip("ab", servers, strict=True):
                mem = _proc(server.proc.pid)
                row[f"rss_mb_{name}"] = round(mem["rss_mb"], 1)
                row[f"peak_rss_mb_{name}"] = round(mem["peak_rss_mb"], 1)
            rows.append(row)
        finally:
            for server in servers:
                _stop(server)
        nulls = [NullResponder(commands_file) for _ in range(2)]
        try:
            result = load([n.agi_port for n in nulls], concurrency, seconds, processes, "null",
                          recorded)
            lost_null = sum(1 for _, outcome in result["calls"] if not outcome)
            rows.append(_row("null responder (2 processes)", concurrency, result, lost_null))
            rows[-1]["load_average_1m"] = round(os.getloadavg()[0], 2)
        finally:
            for null in nulls:
                null.stop()
    info = {"call": "hotline.yaml: language 1, main menu 0, queue customer_service",
            "agi_commands_per_call": len(recorded.commands), "commands": recorded.commands}
    return rows, info


SOAK_RSS_MB_PER_MIN = 1.0
"""Most RSS growth per minute over the second half of the soak's calls that counts as flat."""


def soak(concurrency: int, minutes: float, processes: int = 4,
         url: str | None = None) -> dict[str, Any]:
    """``concurrency`` calls for ``minutes``, then 30 s idle; samples every 30 s."""
    url = url or bench_pg_url()
    reset_postgres(url)
    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ivr-soak-") as tmp:
        servers = _hotlines(Path(tmp), url)
        try:
            def sample(phase: str) -> None:
                for name, server in zip("ab", servers, strict=True):
                    mem = _proc(server.proc.pid)
                    metrics = _metrics(server.http_port)
                    samples.append({"phase": phase, "instance": name, "at": round(time.time()),
                                    "rss_mb": round(mem["rss_mb"], 1), "fds": mem["fds"],
                                    "tasks": _sample(metrics, "ivr_asyncio_tasks"),
                                    "active_calls": _sample(
                                        metrics, 'ivr_active_calls{transport="agi"}')})

            sample("idle-before")
            with ProcessPoolExecutor(1) as pool:
                running = pool.submit(load, [s.agi_port for s in servers], concurrency,
                                      minutes * 60, processes, "soak")
                while not running.done():
                    time.sleep(30)
                    sample("calls")
                result = running.result()
            time.sleep(30)
            sample("idle-after")
            lost = asyncio.run(_lost(url, result["calls"]))
        finally:
            for server in servers:
                _stop(server)
    verdict = soak_verdict(samples)
    return {"concurrent_calls": concurrency, "minutes": minutes,
            "calls": len(result["calls"]), "lost": lost, "instances": verdict,
            "samples": samples}


def soak_verdict(samples: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per instance: is it flat after the soak? ``samples`` as :func:`soak` takes them
    (``phase`` idle-before, calls or idle-after; ``instance``, ``at``, ``rss_mb``, ``fds``,
    ``tasks``, ``active_calls``)."""
    verdict = {}
    for name in sorted({s["instance"] for s in samples}):
        mine = [s for s in samples if s["instance"] == name]
        during = [s for s in mine if s["phase"] == "calls"]
        warm = during[min(2, len(during) - 1)] if during else mine[0]  # after a minute
        before, after = mine[0], mine[-1]
        # Open files: each call in flight holds its FastAGI socket, and the first calls
        # start the TTS worker (its pipes) and more database connections, all kept: the
        # files to compare are those the instance holds besides its calls' sockets, a
        # minute in against after.
        in_flight = warm["active_calls"] if warm is not before else None
        warm_fds = warm["fds"] - (in_flight if in_flight and in_flight == in_flight else 0)
        # Growth per minute over the second half of the calls: a leak grows steadily, the
        # allocator settling does not (the after/warm ratio alone passed a 4 MB/min leak).
        late = during[len(during) // 2:] if len(during) >= 4 else []
        slope = ((late[-1]["rss_mb"] - late[0]["rss_mb"]) / ((late[-1]["at"] - late[0]["at"]) / 60)
                 if late and late[-1]["at"] > late[0]["at"] else 0.0)
        verdict[name] = {
            "rss_mb_warm": warm["rss_mb"], "rss_mb_after": after["rss_mb"],
            "rss_mb_per_min_late": round(slope, 2),
            "fds_before": before["fds"], "fds_warm_without_calls": warm_fds,
            "fds_after": after["fds"],
            "tasks_before": before["tasks"], "tasks_after": after["tasks"],
            "flat": (after["rss_mb"] <= warm["rss_mb"] * 1.10 + 20
                     and slope <= SOAK_RSS_MB_PER_MIN
                     and after["fds"] <= warm_fds + 5
                     and after["tasks"] <= before["tasks"] + 2)}
    return verdict


def bench(args: Any) -> dict[str, Any]:
    """Entry point for ``python -m bench``."""
    rows, info = run(int(args.scale_calls), float(args.scale_seconds),
                     int(args.caller_processes))
    hotline, null = rows
    ratio = hotline["reply_p99_ms"] / null["reply_p99_ms"] if null["reply_p99_ms"] else float("inf")
    hotline["p99_ratio_to_null"] = round(ratio, 2)
    out: dict[str, Any] = {
        "title": f"Scale-out: {args.scale_calls} concurrent FastAGI calls over 2 `ivr serve` "
                 "instances on PostgreSQL vs a null FastAGI responder",
        "rows": rows, "call": info,
        "floor": f"Hotline caller-side p99 <= {FLOOR_RATIO:g} x the null responder's, 0 lost",
        "floor_met": ratio <= FLOOR_RATIO and hotline["calls_lost"] == 0
        and null["calls_lost"] == 0,
    }
    if args.soak_minutes:
        out["soak"] = soak(int(args.soak_calls), float(args.soak_minutes),
                           int(args.caller_processes))
        out["floor_met"] = out["floor_met"] and all(
            v["flat"] for v in out["soak"]["instances"].values())
    return out
