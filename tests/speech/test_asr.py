"""Recognisers for real: whisper tiny.en and the Korean vosk model, on generated speech."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ivr.audio.frames import AudioClip
from ivr.speech.asr import DecodePool, SpeechError
from ivr.testing.speech_audio import espeak, noise, silence

ASTERISK_SOUNDS = Path("/usr/share/asterisk/sounds/en")


async def test_whisper_hears_english(whisper: Any) -> None:
    clip = AudioClip(espeak("I want a refund for my last payment"), 8000)
    result = await whisper.recognize(clip)
    assert "refund" in result.text.lower() and result.engine == "whisper"
    assert 0.3 < result.confidence <= 1.0 and result.decode_seconds > 0


async def test_whisper_on_real_telephone_speech(whisper: Any) -> None:
    wav = ASTERISK_SOUNDS / "agent-pass.wav"
    if not wav.exists():
        pytest.skip("asterisk-core-sounds-en-wav is not installed")
    from ivr.telephony.prompt_files import read_wav

    samples, rate = read_wav(wav)
    result = await whisper.recognize(AudioClip(samples, rate))
    assert "password" in result.text.lower()


async def test_whisper_stream_decodes_at_the_pause_and_reuses_it(whisper: Any) -> None:
    stream = whisper.stream(rate=8000)
    stream.push(espeak("one two three four"))
    stream.flush()  # the caller paused: decoding starts before the end of the turn
    await asyncio.sleep(0)
    stream.end_input()  # nothing new arrived: the early decode is the final result
    finals = [r async for r in stream.results()]
    await stream.aclose()
    assert len(finals) == 1 and finals[0].is_final
    assert stream.speculative_hits == 1
    assert any(w in finals[0].text.lower() for w in ("1234", "one", "1, 2"))


async def test_vosk_grammar_mode_on_korean_speech(vosk_ko: Any) -> None:
    phrases = ["네", "아니요", "상담원"]
    for word in ("네", "상담원"):
        result = await vosk_ko.recognize(AudioClip(espeak(word, "ko"), 8000), phrases=phrases)
        assert result.text == word and result.confidence > 0.5, result
        assert result.words and result.words[0].end > result.words[0].start


async def test_vosk_streams_partial_and_final_results(vosk_ko: Any) -> None:
    audio = np.concatenate([espeak("상담원", "ko"), silence(0.3)])
    stream = vosk_ko.stream(rate=8000, phrases=["네", "아니요", "상담원"])
    for i in range(0, len(audio), 160):
        stream.push(audio[i:i + 160])
        await asyncio.sleep(0)
    stream.end_input()
    results = [r async for r in stream.results()]
    await stream.aclose()
    assert results[-1].is_final and results[-1].text == "상담원"


async def test_vosk_free_mode_gives_korean_words(vosk_ko: Any) -> None:
    result = await vosk_ko.recognize(AudioClip(espeak("안녕하세요", "ko"), 8000))
    assert result.text and result.engine == "vosk"


async def test_silence_and_noise_give_no_text(vosk_ko: Any) -> None:
    for audio in (silence(1.0), noise(1.0, dbfs=-40)):
        result = await vosk_ko.recognize(AudioClip(audio, 8000), phrases=["네", "아니요"])
        assert result.text in ("", "네", "아니요")  # never a crash; grammar may guess
    quiet = await vosk_ko.recognize(AudioClip(silence(1.0), 8000), phrases=["네"])
    assert quiet.empty


async def test_bad_audio_and_missing_models_have_stable_codes(vosk_ko: Any,
                                                              tmp_path: Path) -> None:
    with pytest.raises(SpeechError) as err:
        await vosk_ko.recognize(AudioClip(silence(1.0), 12345))
    assert err.value.code == "asr-bad-audio"
    from ivr.speech.vosk import load_vosk
    from ivr.speech.whisper import load_whisper

    for loader in (load_vosk, load_whisper):
        with pytest.raises(SpeechError) as err:
            loader(tmp_path / "nothing-here")
        assert err.value.code == "asr-model-missing"
    (tmp_path / "broken" / "am").mkdir(parents=True)
    with pytest.raises(SpeechError) as err:
        load_vosk(tmp_path / "broken")
    assert err.value.code == "asr-model-corrupt"


async def test_the_pool_caps_decodes_and_times_out() -> None:
    import time

    pool = DecodePool(1, timeout=0.2, queue_timeout=0.1)
    try:
        with pytest.raises(SpeechError) as err:
            await pool.run(lambda: time.sleep(0.5))
        assert err.value.code == "asr-timeout"
        with pytest.raises(SpeechError) as err:  # the slow job still holds the only decoder
            await pool.run(lambda: None)
        assert err.value.code == "asr-busy"
        await asyncio.sleep(0.4)
        assert await pool.run(lambda: 42) == 42
    finally:
        pool.shutdown()
