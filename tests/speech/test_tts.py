"""Prompt rendering with the real pyttsx3 + espeak-ng in a worker process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from ivr.errors import ConfigError, PromptError
from ivr.speech.tts import PromptAudio, PromptRenderer
from ivr.telephony.prompt_files import read_wav

VOICES = {"en-US": "en-us", "zh-CN": "cmn-latn-pinyin"}
ASTERISK_DIR = "/var/lib/asterisk/sounds/hotline"
WELCOME = "Welcome to the hotline, please press one for your account balance."
WELCOME_ZH = "欢迎致电客服热线，请按一查询余额。"


def _renderer(
    sounds: Path,
    *,
    voices: dict[str, str] = VOICES,
    rate: int = 165,
    render_timeout: float = 60.0,
) -> PromptRenderer:
    return PromptRenderer(
        sounds_dir=sounds,
        asterisk_dir=ASTERISK_DIR,
        voices=voices,
        rate=rate,
        render_timeout=render_timeout,
    )


@pytest.fixture
async def renderer(tmp_path: Path) -> AsyncIterator[PromptRenderer]:
    renderer = _renderer(tmp_path / "var" / "sounds")
    yield renderer
    await renderer.aclose()


def _assert_is_speech(audio: PromptAudio, min_seconds: float) -> None:
    with wave.open(str(audio.path)) as wav:  # the stdlib reads only PCM WAV
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        assert wav.getnframes() == audio.samples
    assert audio.duration == pytest.approx(audio.samples / 8000)
    assert audio.duration > min_seconds
    samples, _ = read_wav(audio.path)
    rms = np.sqrt(np.mean(samples.astype(np.float64) ** 2))
    assert rms > 500, f"near silence (rms {rms:.0f})"


async def test_english_prompt_is_8khz_mono_16bit_speech(renderer: PromptRenderer) -> None:
    audio = await renderer.ensure(WELCOME, "en-US")

    _assert_is_speech(audio, min_seconds=2.5)
    assert audio.path.is_absolute()
    assert audio.path.name == f"{audio.key}.wav"
    assert audio.asterisk_name == f"{ASTERISK_DIR}/{audio.key}"  # no extension for Asterisk
    assert len(audio.key) == 16 and int(audio.key, 16) >= 0
    index = json.loads((audio.path.parent / "index.json").read_text("utf-8"))
    assert index[audio.key] == {"text": WELCOME, "voice": "en-us", "rate": 165}


async def test_mandarin_prompt_is_spoken_from_pinyin(renderer: PromptRenderer,
                                                     tmp_path: Path) -> None:
    mandarin = await renderer.ensure(WELCOME_ZH, "zh-CN")
    english = await renderer.ensure(WELCOME_ZH, "en-US")
    old = _renderer(tmp_path / "old", voices={"zh-CN": "cmn"})
    try:
        letters = await old.ensure(WELCOME_ZH, "zh-CN")
    finally:
        await old.aclose()

    _assert_is_speech(mandarin, min_seconds=2.0)
    # en-us and plain cmn read each hanzi as English letter names ("Chinese letter ..."):
    # much longer than one syllable per character.
    assert english.duration > 1.3 * mandarin.duration
    assert letters.duration > 1.3 * mandarin.duration
    index = json.loads((mandarin.path.parent / "index.json").read_text("utf-8"))
    assert index[mandarin.key]["voice"] == "cmn-latn-pinyin"


async def test_second_ensure_does_not_render_again(
    renderer: PromptRenderer, tmp_path: Path
) -> None:
    first = await renderer.ensure(WELCOME, "en-US")
    written = first.path.stat().st_mtime_ns

    again = await renderer.ensure(WELCOME, "en-US")

    assert again == first
    assert renderer.render_count == 1
    assert first.path.stat().st_mtime_ns == written
    restarted = _renderer(tmp_path / "var" / "sounds")  # a new server process, same disk
    assert restarted.cached(WELCOME, "en-US") == first
    assert await restarted.ensure(WELCOME, "en-US") == first
    assert restarted.render_count == 0
    assert restarted.worker_pid is None  # a cache hit never starts a worker


async def test_cached_is_none_until_rendered(renderer: PromptRenderer) -> None:
    assert renderer.cached(WELCOME, "en-US") is None
    assert renderer.render_count == 0

    audio = await renderer.ensure(WELCOME, "en-US")

    assert renderer.cached(WELCOME, "en-US") == audio
    assert renderer.cached(WELCOME, "en-us") == audio  # language tags ignore case


async def test_rate_changes_key_and_speed(tmp_path: Path) -> None:
    slow = _renderer(tmp_path / "sounds", rate=100)
    fast = _renderer(tmp_path / "sounds", rate=300)
    try:
        assert slow.key(WELCOME, "en-US") != fast.key(WELCOME, "en-US")
        slow_audio = await slow.ensure(WELCOME, "en-US")
        fast_audio = await fast.ensure(WELCOME, "en-US")
    finally:
        await slow.aclose()
        await fast.aclose()

    assert slow_audio.path != fast_audio.path
    assert slow_audio.duration > 1.8 * fast_audio.duration  # the rate really reached espeak


async def test_concurrent_ensures_of_one_prompt_render_once(renderer: PromptRenderer) -> None:
    results = await asyncio.gather(*(renderer.ensure(WELCOME, "en-US") for _ in range(5)))

    assert renderer.render_count == 1
    assert all(result == results[0] for result in results)


async def test_render_all_skips_cached_and_reports_progress(renderer: PromptRenderer) -> None:
    await renderer.ensure(WELCOME, "en-US")
    progress: list[tuple[int, int]] = []
    items = [("Goodbye.", "en-US"), (WELCOME, "en-US"), ("再见。", "zh-CN")]

    audios = await renderer.render_all(
        items, on_progress=lambda done, total: progress.append((done, total))
    )

    assert renderer.render_count == 3  # WELCOME once, plus the two new prompts
    assert [a.key for a in audios] == [renderer.key(text, lang) for text, lang in items]
    assert progress == [(1, 3), (2, 3), (3, 3)]


async def test_unknown_language_is_refused_before_rendering(renderer: PromptRenderer) -> None:
    with pytest.raises(PromptError) as caught:
        await renderer.ensure(WELCOME, "fr-FR")
    assert caught.value.code == "prompt-no-voice"

    with pytest.raises(PromptError) as caught:
        await renderer.render_all([("Goodbye.", "en-US"), ("Au revoir.", "fr-FR")])
    assert caught.value.code == "prompt-no-voice"
    assert renderer.render_count == 0


async def test_voice_espeak_does_not_have_is_a_no_voice_error(tmp_path: Path) -> None:
    renderer = _renderer(tmp_path, voices={"xx-XX": "no-such-voice", "en-US": "en-us"})
    try:
        with pytest.raises(PromptError) as caught:
            await renderer.ensure("Hello.", "xx-XX")
        assert caught.value.code == "prompt-no-voice"
        await renderer.ensure("Hello.", "en-US")  # the worker is still fine
    finally:
        await renderer.aclose()


async def test_empty_text_is_refused(renderer: PromptRenderer) -> None:
    with pytest.raises(PromptError) as caught:
        await renderer.ensure("  ", "en-US")
    assert caught.value.code == "prompt-empty-text"


async def test_long_text_does_not_crash_the_worker(renderer: PromptRenderer) -> None:
    await renderer.ensure("Hello.", "en-US")
    pid = renderer.worker_pid
    # Unpatched pyttsx3 makes espeak copy 10x the text's size: a segfault at ~100 kB.
    long_text = " " * 200_000 + "Thank you for calling."

    audio = await renderer.ensure(long_text, "en-US")

    _assert_is_speech(audio, min_seconds=0.5)
    assert renderer.worker_pid == pid


async def test_rendering_keeps_the_event_loop_free(renderer: PromptRenderer) -> None:
    await renderer.ensure("Hello.", "en-US")  # worker start-up is not what we measure
    long_prompt = " ".join(f"Option {n}, press {n} for service number {n}." for n in range(30))
    gaps: list[float] = []
    loop = asyncio.get_running_loop()

    async def tick() -> None:
        last = loop.time()
        while True:
            await asyncio.sleep(0.005)
            gaps.append(loop.time() - last)
            last = loop.time()

    async with asyncio.TaskGroup() as tasks:
        ticker = tasks.create_task(tick())
        audio = await renderer.ensure(long_prompt, "en-US")
        ticker.cancel()

    assert audio.duration > 60
    assert len(gaps) > 10
    assert max(gaps) < 0.1, f"event loop blocked for {max(gaps):.3f} s"


async def test_a_dead_worker_is_replaced(renderer: PromptRenderer) -> None:
    await renderer.ensure(WELCOME, "en-US")
    pid = renderer.worker_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)

    audio = await asyncio.wait_for(renderer.ensure("Goodbye.", "en-US"), 30)

    _assert_is_speech(audio, min_seconds=0.3)
    assert renderer.worker_pid not in (None, pid)


async def test_a_render_past_its_timeout_kills_the_worker(tmp_path: Path) -> None:
    renderer = _renderer(tmp_path, render_timeout=3.0)
    try:
        await renderer.ensure("Hello.", "en-US")
        pid = renderer.worker_pid
        assert pid is not None
        endless = "One two three four five six seven eight nine ten. " * 50_000  # ~2 days

        with pytest.raises(PromptError) as caught:
            await renderer.ensure(endless, "en-US")

        assert caught.value.code == "prompt-render-timeout"
        assert renderer.worker_pid is None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # killed and reaped, not left rendering
        await renderer.ensure("Goodbye.", "en-US")
        assert renderer.worker_pid not in (None, pid)
    finally:
        await renderer.aclose()


async def test_closed_renderer_still_serves_the_cache(renderer: PromptRenderer) -> None:
    audio = await renderer.ensure(WELCOME, "en-US")
    await renderer.aclose()

    assert await renderer.ensure(WELCOME, "en-US") == audio
    with pytest.raises(PromptError) as caught:
        await renderer.ensure("Goodbye.", "en-US")
    assert caught.value.code == "prompt-renderer-closed"


def test_rate_outside_espeak_range_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        _renderer(tmp_path, rate=20)
    assert caught.value.code == "config-bad-prompt-rate"


async def test_english_prompts_default_to_the_packaged_neural_voice(tmp_path: Path) -> None:
    from ivr.speech.neural import default_voices, installed

    voices = default_voices()
    if not installed("joe-us"):  # without the neural extra: espeak-ng, as before
        assert voices["en-US"] == "en-us"
        return
    assert voices["en-US"] == "piper:joe-us"
    renderer = _renderer(tmp_path, voices=voices)
    try:
        neural = await renderer.ensure(WELCOME, "en-US")
        unknown = _renderer(tmp_path / "unknown", voices={"en-US": "piper:nobody"})
        with pytest.raises(PromptError) as caught:
            await unknown.ensure("Hello.", "en-US")
        await unknown.aclose()
    finally:
        await renderer.aclose()
    _assert_is_speech(neural, min_seconds=2.5)
    index = json.loads((neural.path.parent / "index.json").read_text("utf-8"))
    assert index[neural.key]["voice"] == "piper:joe-us"
    assert caught.value.code == "prompt-no-voice"
    assert "piper:joe-us" in caught.value.message


async def test_mandarin_prompts_default_to_the_packaged_kokoro_voice(tmp_path: Path) -> None:
    """With the neural extra (``make`` installs it) Mandarin is spoken by Kokoro; how well it
    is understood is tests/speech/test_prompt_intelligibility.py's job."""
    from ivr.speech import kokoro
    from ivr.speech.neural import default_voices

    voices = default_voices()
    if not kokoro.installed():  # without the neural extra: espeak-ng from pinyin
        assert voices["zh-CN"] == "cmn-latn-pinyin"
        return
    assert voices["zh-CN"] == "kokoro:jm_kumo"
    renderer = _renderer(tmp_path, voices=voices)
    unknown = _renderer(tmp_path / "unknown", voices={"zh-CN": "kokoro:nobody"})
    try:
        spoken = await renderer.ensure(WELCOME_ZH, "zh-CN")
        espeak = _renderer(tmp_path / "espeak")
        before = await espeak.ensure(WELCOME_ZH, "zh-CN")
        await espeak.aclose()
        with pytest.raises(PromptError) as caught:
            await unknown.ensure("您好。", "zh-CN")
    finally:
        await renderer.aclose()
        await unknown.aclose()
    _assert_is_speech(spoken, min_seconds=2.0)
    assert spoken.key != before.key  # another voice, another cache entry
    index = json.loads((spoken.path.parent / "index.json").read_text("utf-8"))
    assert index[spoken.key]["voice"] == "kokoro:jm_kumo"
    assert caught.value.code == "prompt-no-voice"
    assert "kokoro:jm_kumo" in caught.value.message  # the error lists the packaged styles


async def test_dialplan_prompts_are_shared_across_data_dirs_and_call_texts_are_not(
        tmp_path: Path) -> None:
    shared = tmp_path / "host-cache"
    prompts = [("Goodbye.", "en-US"), ("再见。", "zh-CN")]
    first = PromptRenderer(sounds_dir=tmp_path / "a", asterisk_dir=ASTERISK_DIR, voices=VOICES,
                           rate=165, shared_dir=shared)
    second = PromptRenderer(sounds_dir=tmp_path / "b", asterisk_dir=ASTERISK_DIR,
                            voices=VOICES, rate=165, shared_dir=shared)
    try:
        rendered = await first.render_all(prompts)
        balance = await first.ensure("Your balance is 1,234 dollars.", "en-US")
        copied = await second.render_all(prompts)
        # a damaged host-wide copy is not played: it is rendered again
        (shared / f"{second.key('再见。', 'zh-CN')}.wav").write_bytes(b"RIFF garbage")
        third = PromptRenderer(sounds_dir=tmp_path / "c", asterisk_dir=ASTERISK_DIR,
                               voices=VOICES, rate=165, shared_dir=shared)
        again = await third.render_all(prompts)
        await third.aclose()
    finally:
        await first.aclose()
        await second.aclose()
    assert first.render_count == 3 and second.render_count == 0 and third.render_count == 1
    for mine, theirs in zip(rendered, copied, strict=True):
        assert theirs.path.parent == tmp_path / "b"
        assert theirs.path.read_bytes() == mine.path.read_bytes()
    _assert_is_speech(again[1], min_seconds=0.3)
    assert (shared / again[1].path.name).read_bytes() == again[1].path.read_bytes()  # mended
    assert not (shared / balance.path.name).exists()  # per-call texts may hold account data
    assert sorted(p.name for p in shared.glob("*.wav")) == sorted(a.path.name for a in rendered)


# Per-call texts ----------------------------------------------------------------------
BALANCE = "Your balance is 2,450 dollars and 75 cents."


async def test_a_call_waits_for_no_prompt_rendered_ahead(renderer: PromptRenderer) -> None:
    # One caller's long answer is rendering; a publish queues its prompts to render ahead;
    # a second caller asks for a balance: the worker takes that call's job before them.
    await renderer.ensure("Warm.", "en-US")
    first = asyncio.create_task(renderer.ensure(" ".join([WELCOME] * 60), "en-US",
                                                private=True))  # seconds of rendering
    await asyncio.sleep(0.2)
    progress: list[int] = []
    published = [(f"Prompt number {n} of the new version.", "en-US") for n in range(5)]
    rendering = asyncio.create_task(
        renderer.render_all(published, lambda done, total: progress.append(done)))
    await asyncio.sleep(0.05)  # the publish's first prompt now waits for the worker
    assert not first.done()
    await renderer.ensure(BALANCE, "en-US", private=True)
    assert progress == []  # no prompt of the publish went first
    await asyncio.gather(first, rendering)
    assert progress[-1] == 5


async def test_a_per_call_text_stays_only_while_a_call_holds_it(
        renderer: PromptRenderer, tmp_path: Path) -> None:
    sounds = tmp_path / "var" / "sounds"
    audio = await renderer.ensure(BALANCE, "en-US", private=True)
    _assert_is_speech(audio, 1.0)
    assert audio.private and audio.path.parent.parent == sounds / "calls"
    assert audio.asterisk_name == f"{ASTERISK_DIR}/{audio.name}" and "calls/" in audio.name
    assert not (sounds / "index.json").exists()  # its words are written nowhere
    renderer.hold(audio.key)  # two calls were told the same figures
    renderer.hold(audio.key)
    again = await renderer.ensure(BALANCE, "en-US", private=True)
    assert again.path == audio.path and renderer.render_count == 1
    await renderer.release([audio.key])
    assert audio.path.exists()  # the other call may still be playing it
    await renderer.release([audio.key])
    assert not audio.path.exists()
    # Asked for again, it is rendered again; closing the renderer removes it.
    audio = await renderer.ensure(BALANCE, "en-US", private=True)
    assert audio.path.exists() and renderer.render_count == 2
    await renderer.aclose()
    assert not audio.path.exists() and not audio.path.parent.exists()


async def test_a_per_call_text_no_call_holds_goes_after_a_minute(
        renderer: PromptRenderer, monkeypatch: pytest.MonkeyPatch) -> None:
    from ivr.speech import tts

    monkeypatch.setattr(tts, "PRIVATE_SECONDS", 0.4)
    audio = await renderer.ensure(BALANCE, "en-US", private=True)
    kept = await renderer.ensure(WELCOME, "en-US", private=True)
    renderer.hold(kept.key)
    for _ in range(50):
        if not audio.path.exists():
            break
        await asyncio.sleep(0.1)
    assert not audio.path.exists()
    assert kept.path.exists()  # held by a call still going on


async def test_per_call_files_a_killed_server_left_are_removed_at_start(tmp_path: Path) -> None:
    sounds = tmp_path / "sounds"
    old = sounds / "calls" / "1234-deadbeef" / "0123456789abcdef.wav"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"RIFF")
    fresh = sounds / "calls" / "5678-cafebabe" / "fedcba9876543210.wav"
    fresh.parent.mkdir(parents=True)
    fresh.write_bytes(b"RIFF")  # another instance's, in use
    hour_ago = old.stat().st_mtime - 3700
    os.utime(old, (hour_ago, hour_ago))
    renderer = _renderer(sounds)
    await renderer.aclose()
    assert not old.exists() and not old.parent.exists()
    assert fresh.exists()
