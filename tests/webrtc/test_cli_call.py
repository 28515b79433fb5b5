"""`ivr call` as a user runs it: a separate process against a running Hotline."""

from __future__ import annotations

import asyncio
import json
import sys

from ivr.app import Hotline

from .conftest import base_url


async def run_cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ivr", "call", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(90):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_ivr_call_json_walks_the_menu(hotline: Hotline) -> None:
    code, out, err = await run_cli("--url", base_url(hotline), "--press", "1", "--press", "3",
                                   "--max-seconds", "40", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["dtls"] is True
    assert (report["outcome"], report["queue"]) == ("queued", "card_services")
    assert report["prompts"][0].startswith("Welcome to Acme Pay")


async def test_ivr_call_reports_a_server_that_is_not_there() -> None:
    code, out, err = await run_cli("--url", "http://127.0.0.1:9", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["outcome"] == "failed" and report["error"]["code"] == "webrtc-signalling-failed"
