"""bench/null_agi.py, the floor of `make bench`'s scale-out run, answers the simulated
Asterisk with exactly the recorded command sequence, so the peer sees a whole call."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from bench.null_agi import serve
from ivr.testing.agi_peer import run_call
from ivr.testing.agi_script import CallerScript

RECORDED = ["ANSWER", 'STREAM FILE /srv/sounds/welcome ""', 'STREAM FILE /srv/sounds/menu "0123"',
            "SET VARIABLE IVR_QUEUE customer_service", "SET VARIABLE IVR_OUTCOME queued"]


async def test_null_responder_replays_the_recorded_call() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = asyncio.create_task(serve(port, [f"{c}\n".encode() for c in RECORDED]))
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            await asyncio.sleep(0.05)
        results = await asyncio.gather(*(
            run_call("127.0.0.1", port, script_actions=CallerScript.of("0"), uniqueid=f"n.{i}",
                     idle_timeout=5) for i in range(3)))
    finally:
        server.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await server
    for result in results:
        assert result.commands == RECORDED and result.closed_by_server
        assert result.variables == {"IVR_QUEUE": "customer_service", "IVR_OUTCOME": "queued"}
