"""bench/fast_agi_caller.py, the scale bench's simulated Asterisk, plays the same call as
`run_call`: same commands answered, same variables kept, and a server that goes off the
recorded call is noticed (the bench counts that call lost)."""

from __future__ import annotations

import random

from bench.fast_agi_caller import FastCaller, record
from bench.null_agi import serving
from ivr.testing.agi_peer import run_call
from ivr.testing.agi_script import CallerScript

RECORDED = ["ANSWER", 'STREAM FILE /srv/sounds/welcome ""', 'STREAM FILE /srv/sounds/lang "12"',
            'STREAM FILE /srv/sounds/menu "0123"', "SET VARIABLE IVR_QUEUE customer_service",
            'SET VARIABLE IVR_OUTCOME "queued"']


async def test_fast_caller_plays_the_call_run_call_plays() -> None:
    async with serving(RECORDED) as port:
        call = await record("127.0.0.1", port, ("1", "0"), "f.rec", idle_timeout=5)
        peer = await run_call("127.0.0.1", port, script_actions=CallerScript.of("1", "0"),
                              uniqueid="f.peer", idle_timeout=5)
        fast = FastCaller(call, keep_commands=True)
        variables, diverged = await fast.place(port, "f.fast", random.Random(1), call_timeout=10)
    assert call.commands == peer.commands == fast.commands["f.fast"] == RECORDED
    assert variables == dict(peer.variables) == {"IVR_QUEUE": "customer_service",
                                                 "IVR_OUTCOME": "queued"}
    assert diverged == ""
    # The replies are run_call's own, byte for byte: key 1 pressed during the language prompt.
    assert b"".join(call.replies).decode().splitlines() == peer.replies
    assert call.replies[2].startswith(b"200 result=49 ")
    assert len(fast.times) == len(RECORDED)  # one reply time per command


async def test_a_server_off_the_recording_is_noticed() -> None:
    async with serving(RECORDED) as port:
        call = await record("127.0.0.1", port, ("1", "0"), "f.rec", idle_timeout=5)
    other = [*RECORDED[:3], "HANGUP", *RECORDED[3:]]
    async with serving(other) as port:
        variables, diverged = await FastCaller(call).place(port, "f.off", random.Random(2),
                                                           call_timeout=10)
    assert diverged == "HANGUP" and "IVR_OUTCOME" not in variables
