"""`ivr call` as a user runs it: a separate process against a running Hotline."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from ivr.app import Hotline
from ivr.commands.call import local_url

from .conftest import base_url


async def run_cli(*args: str, data_dir: Path | None = None,
                  env: dict[str, str] | None = None) -> tuple[int, str, str]:
    where = ["--data-dir", str(data_dir)] if data_dir else []
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ivr", *where, "call", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, **(env or {})})
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


async def test_ivr_call_without_url_calls_the_local_server_from_the_settings(
        hotline: Hotline, tmp_path: Path) -> None:
    assert hotline.http_address is not None
    host, port = hotline.http_address
    # A new user's `ivr call --press …`: the address comes from http.bind (here from the
    # environment, as ivr.toml or IVR_HTTP__BIND would give it to `ivr serve` too).
    code, out, err = await run_cli("--press", "1", "--press", "3", "--max-seconds", "40",
                                   "--json", data_dir=tmp_path,
                                   env={"IVR_HTTP__BIND": f"{host}:{port}"})
    assert code == 0, err
    report = json.loads(out)
    assert (report["outcome"], report["queue"]) == ("queued", "card_services")


def test_the_default_url_reaches_a_wildcard_bind_over_loopback() -> None:
    assert local_url("127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert local_url("0.0.0.0:8081") == "http://127.0.0.1:8081"
    assert local_url("[::]:8082") == "http://[::1]:8082"
    assert local_url("[::1]:8083") == "http://[::1]:8083"
