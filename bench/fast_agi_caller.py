"""The scale bench's load generator: a lean simulated Asterisk that replays a recorded call.

`ivr.testing.agi_peer.run_call` simulates Asterisk command by command (a channel object,
a simulated clock, a reply list and a ``PeerResult`` per call, a coroutine reading lines
through a StreamReader); at 1,000 concurrent calls on 2 cores that costs more CPU per call
than the two Hotline instances it measures, so Hotline's replies waited for a CPU.

This caller is faithful to `run_call` for the bench's one call because it replays it:
``record`` places the call once with `run_call` against a real Hotline and keeps, per
command, the exact reply lines the simulated Asterisk sent (replies of STREAM FILE, GET
DATA, SET VARIABLE... do not depend on the call's identity). Each bench call then sends
`run_call`'s environment block (with its own ``agi_uniqueid``), answers the k-th command
with the k-th recorded reply bytes, holds the reply to STREAM FILE and GET DATA 0.2-0.8 s
(``loop.call_later``, no coroutine), and measures each reply time as `run_call` does: from
sending the previous reply (or the environment block) to receiving the next command line.
A command whose verb differs from the recorded one, or one more than recorded, ends the
call as lost (``diverged``); so does a call that lasts longer than ``call_timeout``. The
variables a call set (``SET VARIABLE``) are parsed as `run_call`'s channel does, so the
lost-call accounting (no ``IVR_OUTCOME``) is the same.
"""

from __future__ import annotations

import asyncio
import random
import resource
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

from ivr.testing.agi_peer import run_call
from ivr.testing.agi_script import CallerScript
from ivr.testing.agi_wire import ENCODING, ERRORS, agi_environment, encode_environment, parse_args

try:  # the callers' loop only; Hotline runs the stock asyncio loop
    import uvloop as UVLOOP
except ImportError:  # pragma: no cover - a dev extra
    UVLOOP = None

HELD = (b"STREAM FILE", b"GET DATA")


@dataclass(frozen=True)
class RecordedCall:
    """One call as `run_call` played it: the commands and, per command, the reply bytes."""

    commands: list[str]
    replies: list[bytes]
    variables: dict[str, str]


async def record(host: str, port: int, steps: tuple[str, ...], uniqueid: str,
                 idle_timeout: float = 60.0) -> RecordedCall:
    """Place one call with `run_call` and keep each command's reply lines as bytes."""
    pairs: list[tuple[str, list[str]]] = []

    def keep(command: str, replies: list[str]) -> list[str]:
        pairs.append((command, replies))
        return replies

    result = await run_call(host, port, script_actions=CallerScript.of(*steps),
                            uniqueid=uniqueid, idle_timeout=idle_timeout, tamper=keep)
    replies = [''.join(f"{r}\n" for r in lines).encode(ENCODING, ERRORS) for _, lines in pairs]
    return RecordedCall(result.commands, replies, dict(result.variables))


def _verb(line: bytes) -> bytes:
    """The command's first two words (``STREAM FILE``, ``SET VARIABLE``, ``ANSWER``)."""
    return b" ".join(line.split(None, 2)[:2])


class _Call(asyncio.Protocol):
    """One call: the protocol answers each command line from the recording."""

    __slots__ = ("loop", "call", "verbs", "rng", "times", "done", "transport", "buffer",
                 "index", "sent_at", "variables", "diverged", "env", "seen")

    def __init__(self, loop: asyncio.AbstractEventLoop, call: RecordedCall, verbs: list[bytes],
                 rng: random.Random, times: list[float], env: bytes) -> None:
        self.loop, self.call, self.verbs, self.rng, self.times = loop, call, verbs, rng, times
        self.done: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.index = 0
        self.sent_at = 0.0
        self.variables: dict[str, str] = {}
        self.diverged = ""
        self.env = env
        self.seen: list[str] | None = None  # every command line, when asked (tests)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        transport = self.transport
        transport.write(self.env)
        self.sent_at = time.perf_counter()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\n")) >= 0:
            line, self.buffer = self.buffer[:end], self.buffer[end + 1:]
            self._command(line)

    def _command(self, line: bytes) -> None:
        self.times.append(time.perf_counter() - self.sent_at)
        k = self.index
        self.index += 1
        if self.seen is not None:
            self.seen.append(line.decode(ENCODING, ERRORS))
        if k >= len(self.verbs) or _verb(line) != self.verbs[k]:
            self.diverged = line.decode(ENCODING, ERRORS)
            assert self.transport is not None
            self.transport.close()
            return
        if line.startswith(b"SET VARIABLE"):
            args = parse_args(line.decode(ENCODING, ERRORS))
            if len(args) >= 4:
                self.variables[args[2]] = args[3]
        if line.startswith(HELD):
            self.loop.call_later(self.rng.uniform(0.2, 0.8), self._reply, k)
        else:
            self._reply(k)

    def _reply(self, k: int) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(self.call.replies[k])
            self.sent_at = time.perf_counter()

    def eof_received(self) -> bool:
        return False  # the server closed: close our side too (Asterisk leaves AGI())

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.done.done():
            self.done.set_result(None)


class FastCaller:
    """Places recorded calls; ``times`` collects every reply time (seconds)."""

    def __init__(self, call: RecordedCall, host: str = "127.0.0.1",
                 keep_commands: bool = False) -> None:
        self.call, self.host, self.keep_commands = call, host, keep_commands
        self.commands: dict[str, list[str]] = {}  # per uniqueid, with keep_commands
        self.verbs = [_verb(c.encode(ENCODING, ERRORS)) for c in call.commands]
        self.times: list[float] = []

    async def place(self, port: int, uniqueid: str, rng: random.Random,
                    call_timeout: float = 60.0) -> tuple[dict[str, str], str]:
        """One call; returns its variables and, if it went off the recording, the command."""
        loop = asyncio.get_running_loop()
        env = encode_environment(agi_environment(self.host, port, uniqueid=uniqueid))

        def protocol() -> _Call:
            call = _Call(loop, self.call, self.verbs, rng, self.times, env)
            if self.keep_commands:
                call.seen = self.commands[uniqueid] = []
            return call

        transport, call = await loop.create_connection(protocol, self.host, port)
        try:
            async with asyncio.timeout(call_timeout):
                await call.done
        except TimeoutError:
            transport.close()
            raise TimeoutError(f"call {uniqueid} still running after {call_timeout}s") from None
        return call.variables, call.diverged


def run_counting_cpu(work: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """Run the callers' coroutine on their loop (uvloop when installed); its stats gain
    ``cpu_seconds``, the CPU this process spent on them."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    stats = asyncio.run(work) if UVLOOP is None else UVLOOP.run(work)
    after = resource.getrusage(resource.RUSAGE_SELF)
    stats["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return stats


def in_processes(callers: Callable[..., dict[str, Any]], concurrency: int, processes: int,
                 *args: Any) -> list[dict[str, Any]]:
    """``callers(first, last, *args)`` for each share of ``range(concurrency)``, one process
    per share (at most ``processes``), so no one caller loop queues the replies it times."""
    share = -(-concurrency // processes)
    starts = list(range(0, concurrency, share))
    with ProcessPoolExecutor(len(starts)) as pool:
        return list(pool.map(callers, starts, [min(concurrency, s + share) for s in starts],
                             *([arg] * len(starts) for arg in args)))
