"""Voice answers over FastAGI: prompts with keys armed, RECORD FILE into the shared folder,
whisper on the recorded turn, turns stored; and `ivr serve` refusing unheard languages."""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ivr.app import Hotline
from ivr.config import load_settings
from ivr.datadir import prepare
from ivr.errors import ConfigError
from ivr.store.models import TurnRow
from ivr.telephony.prompt_files import write_wav
from ivr.testing.agi_peer import run_call
from ivr.testing.agi_script import CallerScript, Speak
from ivr.testing.speech_audio import espeak, silence

PLAN = """\
id: hotline
languages: [en-US, zh-CN]
start: main
nodes:
  main:
    ask:
      prompt: {en-US: "Say refunds or agent.", zh-CN: "退款请按1。"}
      dtmf: {"1": refunds, "0": agent}
      phrases: {refunds: {en-US: [refund, refunds]}, agent: {en-US: [agent]}}
      endpointing: {end_silence: 0.6}
  refunds:
    queue: {name: refunds}
  agent:
    queue: {name: customer_service}
"""


def settings_for(tmp_path: Path, **speech: Any) -> Any:
    plans = tmp_path / "plans"
    plans.mkdir(exist_ok=True)
    (plans / "hotline.yaml").write_text(PLAN, encoding="utf-8")
    overrides: dict[str, Any] = {
        "agi": {"bind": "127.0.0.1:0", "header_timeout": 0.5, "hangup_grace": 0.3},
        "http": {"bind": "127.0.0.1:0"}, "dialplans": {"dir": str(plans)},
        "store": {"flush_seconds": 0.01}, "drain_seconds": 2.0, "recording": {"enabled": False},
        "speech": speech,
    }
    settings = load_settings(tmp_path, overrides)
    prepare(settings)
    return settings


async def test_caller_says_refunds_over_fastagi_and_the_turn_is_stored(
        tmp_path: Path, whisper: Any) -> None:
    wav = tmp_path / "caller.wav"
    write_wav(wav, [*silence(0.3), *espeak("refunds please"), *silence(1.0)], 8000)
    app = Hotline(settings_for(tmp_path))
    async with app.running():
        assert app.agi_address is not None
        result = await run_call(*app.agi_address, script_actions=CallerScript.of(Speak(wav)),
                                sounds_root=app.settings.sounds_dir, idle_timeout=20)
        assert result.variables.get("IVR_QUEUE") == "refunds"
        record = next(c for c in result.commands if c.startswith("RECORD FILE"))
        assert f"{app.settings.record_dir}/turn-" in record and " s=1" in record
        # Every key is armed while listening: a key that is no option is heard and re-prompted.
        assert '"' not in record and " 0123456789*# " in record
        assert not list(app.settings.record_dir.iterdir())  # turn audio deleted after use
        assert await app.writer.wait_idle(5)
        async with app.engine.connect() as conn:
            turns = (await conn.execute(select(TurnRow))).all()
    assert len(turns) == 1
    turn = turns[0]
    assert (turn.mode, turn.result, turn.engine) == ("speech", "match", "whisper")
    assert "refund" in turn.transcript.lower() and turn.confidence > 0.3
    assert turn.end_to_final_ms >= 1000  # FastAGI endpointing is whole seconds


async def test_a_slow_shared_folder_does_not_stall_other_calls(
        tmp_path: Path, whisper: Any) -> None:
    """Reading the turn's audio from a shared folder that answers slowly (NFS under load;
    here a pipe whose writer takes a second) runs off the event loop: the loop keeps
    ticking meanwhile, and the turn is still heard."""
    wav = tmp_path / "caller.wav"
    write_wav(wav, [*silence(0.3), *espeak("refunds please"), *silence(1.0)], 8000)
    app = Hotline(settings_for(tmp_path))
    window: list[float] = []

    def slow_disk(command: str, replies: list[str]) -> list[str]:
        if command.startswith("RECORD FILE") and not window:
            name = re.search(r"/(turn-\S+) wav", command)
            assert name is not None
            path = app.settings.record_dir / f"{name[1]}.wav"
            data = path.read_bytes()
            path.unlink()
            os.mkfifo(path)

            def write_later() -> None:
                window.append(time.perf_counter())
                time.sleep(1.0)
                window.append(time.perf_counter())
                path.write_bytes(data)  # blocks until the server opens the pipe

            threading.Thread(target=write_later, daemon=True).start()
        return replies

    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.02)

    ticker = asyncio.create_task(tick())
    try:
        async with app.running():
            assert app.agi_address is not None
            result = await run_call(*app.agi_address, script_actions=CallerScript.of(Speak(wav)),
                                    sounds_root=app.settings.sounds_dir, idle_timeout=20,
                                    tamper=slow_disk)
    finally:
        ticker.cancel()
    assert result.variables.get("IVR_QUEUE") == "refunds"
    start, end = window
    assert any(start + 0.3 < t < end - 0.3 for t in ticks), "the event loop was blocked"
    assert not list(app.settings.record_dir.iterdir())


async def test_keys_still_work_over_fastagi(tmp_path: Path, whisper: Any) -> None:
    app = Hotline(settings_for(tmp_path))
    async with app.running():
        assert app.agi_address is not None
        result = await run_call(*app.agi_address, script_actions=CallerScript.of("0"),
                                sounds_root=app.settings.sounds_dir, idle_timeout=20)
    assert result.variables.get("IVR_QUEUE") == "customer_service"
    assert not any(c.startswith("RECORD FILE") for c in result.commands)


async def test_serve_refuses_a_language_nobody_can_hear(tmp_path: Path) -> None:
    app = Hotline(settings_for(tmp_path, languages={"zh-CN": {"engine": None,
                                                              "dtmf_only": False}}))
    with pytest.raises(ConfigError) as err:
        async with app.running():
            pass
    assert err.value.code == "speech-language-unconfigured" and "zh-CN" in err.value.message
