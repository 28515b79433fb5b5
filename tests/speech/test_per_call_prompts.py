"""Answers that hold a caller's own figures, through the server `ivr serve` runs: rendered
during the call, played from a file that exists for the call only, never indexed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ivr.app import Hotline
from ivr.platform.seed import seed_demo
from ivr.security.customers import CustomerRepository
from ivr.security.demo import seed
from ivr.security.pins import PinHasher
from ivr.telephony.prompt_files import write_wav
from ivr.testing import mandarin
from ivr.testing.agi_peer import run_call
from ivr.testing.agi_script import CallerScript, Speak
from ivr.testing.speech_audio import espeak, silence


@pytest.fixture
def settings(hotline_settings: Any) -> Any:
    return hotline_settings


def _private_files(sounds: Path) -> list[Path]:
    return sorted((sounds / "calls").rglob("*.wav"))


def _caller_asking_for_the_balance(language: str, wav: Path) -> None:
    if language == "en-US":
        said = espeak("check my balance please")
    else:
        said = mandarin.speak("我要查账户余额", mandarin.NEURAL_VOICES[0])
    write_wav(wav, [*silence(0.3), *said, *silence(1.0)], 8000)


@pytest.mark.parametrize(("language", "key", "opening", "pieces"), [
    ("en-US", "1", "Your balance is", 1), ("zh-CN", "2", "您的账户余额为", 2)])
async def test_a_balance_is_spoken_to_its_caller_and_leaves_no_file_behind(
        settings: Any, tmp_path: Path, language: str, key: str, opening: str,
        pieces: int) -> None:
    asks = tmp_path / "balance.wav"
    _caller_asking_for_the_balance(language, asks)
    app = Hotline(settings)
    await seed(CustomerRepository(app.engine), PinHasher(settings.security.pin))
    await seed_demo(app.engine)  # as `ivr demo seed`: accounts and payments
    sounds = settings.sounds_dir
    async with app.running():
        assert app.agi_address is not None
        host, port = app.agi_address
        # The language's key, "what is my balance", the card's last four: the balance.
        heard = await run_call(host, port, sounds_root=sounds, idle_timeout=20,
                               script_actions=CallerScript.of(key, Speak(asks), "4242"))
        assert await app.writer.wait_idle(5)
        calls = await app.calls.recent(limit=1)
        events = await app.calls.events(calls[0].id)
        spoken = [e.data.get("text", "") for e in events if e.kind == "prompt"]
        answer = next(t for t in spoken if t.startswith(opening))
        # The caller heard it (in Mandarin clause by clause, the first while the second
        # rendered): the simulated Asterisk found each file and played it ...
        private = [name for name in heard.played if "/calls/" in name]
        assert len(private) == pieces, heard.played
        # ... which went with the call, and was never written down with its words.
        assert _private_files(sounds) == []
        index = json.loads((sounds / "index.json").read_text("utf-8"))
        assert answer not in json.dumps(index, ensure_ascii=False)
        assert not any(entry["text"].startswith(opening) for entry in index.values())
