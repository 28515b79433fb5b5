"""bench/null_agi.py, the floor of `make bench`'s scale-out run, answers the simulated
Asterisk with exactly the recorded command sequence, so the peer sees a whole call."""

from __future__ import annotations

import asyncio

from bench.null_agi import serving
from ivr.testing.agi_peer import run_call
from ivr.testing.agi_script import CallerScript

RECORDED = ["ANSWER", 'STREAM FILE /srv/sounds/welcome ""', 'STREAM FILE /srv/sounds/menu "0123"',
            "SET VARIABLE IVR_QUEUE customer_service", "SET VARIABLE IVR_OUTCOME queued"]


async def test_null_responder_replays_the_recorded_call() -> None:
    async with serving(RECORDED) as port:
        results = await asyncio.gather(*(
            run_call("127.0.0.1", port, script_actions=CallerScript.of("0"), uniqueid=f"n.{i}",
                     idle_timeout=5) for i in range(3)))
    for result in results:
        assert result.commands == RECORDED and result.closed_by_server
        assert result.variables == {"IVR_QUEUE": "customer_service", "IVR_OUTCOME": "queued"}
