"""agi.allow: FastAGI connections only from listed addresses or networks (loopback by default);
anything else is closed before a byte is read, logged (rate-limited) and counted."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ivr.app import Hotline
from ivr.config import load_settings
from ivr.errors import ConfigError
from ivr.telephony.agi_allow import AllowList, RefusalLog
from ivr.telephony.settings import AgiSettings
from ivr.testing.agi_peer import PeerResult, run_call
from ivr.testing.agi_script import CallerScript
from ivr.testing.server import server_settings


def test_default_admits_loopback_only() -> None:
    allow = AllowList(AgiSettings().allow)
    assert allow.admits("127.0.0.1") and allow.admits("127.8.9.10") and allow.admits("::1")
    assert allow.admits("::ffff:127.0.0.1")  # IPv4 through a dual-stack socket
    for peer in ("10.0.0.5", "192.168.1.10", "::2", "fe80::1%eth0", "", None, "not-an-ip"):
        assert not allow.admits(peer), peer


def test_addresses_and_networks_mix() -> None:
    allow = AllowList(["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"])
    assert allow.admits("10.200.1.1") and allow.admits("192.0.2.7")
    assert allow.admits("2001:db8::42") and allow.admits("::ffff:10.1.2.3")
    assert not allow.admits("192.0.2.8") and not allow.admits("127.0.0.1")
    assert not allow.admits("11.0.0.1") and not allow.admits("2001:db9::1")


def test_refusal_log_keeps_one_line_per_interval_and_counts_the_rest() -> None:
    log = RefusalLog(interval=10.0)
    assert log.note(100.0) == (True, 0)
    assert [log.note(100.0 + i / 1000) for i in range(500)] == [(False, 0)] * 500
    assert log.note(110.5) == (True, 500)  # the next line tells the size of the flood
    assert log.note(111.0) == (False, 0)


def test_allow_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv("IVR_AGI__ALLOW", '["10.0.0.0/8", "192.0.2.7", "::1"]')
    settings = load_settings(tmp_path)
    assert settings.agi.allow == ["10.0.0.0/8", "192.0.2.7/32", "::1/128"]


@pytest.mark.parametrize("entry", ["10.0.0.1/8", "10.0.0.0/33", "asterisk.example", ""])
def test_a_bad_entry_stops_start_up_with_a_clear_error(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, entry: str) -> None:
    monkeypatch.setenv("IVR_AGI__ALLOW", f'["127.0.0.1", "{entry}"]')
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path)
    assert err.value.code == "config-invalid"
    assert "agi.allow" in err.value.message and repr(entry) in err.value.message


def test_an_empty_list_is_refused_at_start(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setenv("IVR_AGI__ALLOW", "[]")
    with pytest.raises(ConfigError, match="agi.allow"):
        load_settings(tmp_path)


async def call(app: Hotline, *steps: str) -> PeerResult:
    assert app.agi_address is not None
    host, port = app.agi_address
    return await run_call(host, port, script_actions=CallerScript.of(*steps),
                          sounds_root=app.settings.sounds_dir, idle_timeout=10)


async def refused_count(app: Hotline) -> str:
    assert app.http_address is not None
    host, port = app.http_address
    async with aiohttp.ClientSession() as http, http.get(f"http://{host}:{port}/metrics") as resp:
        text = await resp.text()
    return next(line for line in text.splitlines() if line.startswith("ivr_agi_refused_total"))


def hotline(tmp_path: Path, sounds_dir: Path, dialplan_dir: Path, allow: list[str]) -> Hotline:
    settings: Any = server_settings(tmp_path, sounds_dir, dialplan_dir, agi={"allow": allow})
    return Hotline(settings)


async def test_a_peer_outside_the_list_gets_no_command_and_is_counted(
        tmp_path: Path, sounds_dir: Path, dialplan_dir: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    app = hotline(tmp_path, sounds_dir, dialplan_dir, ["10.0.0.0/8"])
    caplog.set_level(logging.WARNING)
    async with app.running():
        before = await refused_count(app)
        results = [await call(app, "1", "3") for _ in range(3)]
        after = await refused_count(app)
        assert await app.writer.wait_idle(5)
        rows = await app.calls.recent(limit=5)
    assert before == "ivr_agi_refused_total 0.0"
    assert after == "ivr_agi_refused_total 3.0"
    for result in results:
        assert result.closed_by_server and result.commands == [] and result.variables == {}
    assert rows == []  # refused before the environment block: no call at all
    lines = [r.getMessage() for r in caplog.records if "agi-refused" in r.getMessage()]
    assert len(lines) == 1 and "127.0.0.1" in lines[0]  # three refusals, one line


async def test_a_listed_peer_is_served(tmp_path: Path, sounds_dir: Path,
                                       dialplan_dir: Path) -> None:
    app = hotline(tmp_path, sounds_dir, dialplan_dir, ["10.0.0.0/8", "127.0.0.1"])
    async with app.running():
        result = await call(app, "1", "3")
        count = await refused_count(app)
    assert result.commands[0] == "ANSWER"
    assert result.variables["IVR_QUEUE"] == "card_services"
    assert count == "ivr_agi_refused_total 0.0"
