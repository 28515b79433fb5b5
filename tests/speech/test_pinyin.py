"""Mandarin prompts are read from pinyin the way a person reads the text aloud."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ivr.speech.pinyin import say_number, speakable, to_pinyin


def test_hanzi_become_numbered_tone_pinyin_grouped_by_word_with_pauses() -> None:
    assert to_pinyin("抱歉，没有听到。") == "bao4qian4, mei2you3 ting1dao4."


def test_keys_and_amounts_are_read_as_number_words() -> None:
    assert to_pinyin("退款按2。") == "tui4kuan3 an4 er4."
    assert "yi1wan4ba1qian1ba1bai3 yuan2" in to_pinyin("余额为18800.00CNY")
    assert to_pinyin("2.50USD").startswith("er4dian3wu3 mei3yuan2")
    assert say_number("0571") == "零五七一"  # a leading zero: digit by digit
    assert say_number("120") == "一百二十"


def test_the_brand_stays_a_latin_word_and_quotes_are_not_read() -> None:
    assert "Acme zhi1fu4" in to_pinyin("欢迎致电Acme支付")
    assert to_pinyin("请说“是”或按1") == "qing3 shuo1 shi4 huo4 an4 yi1"


def test_words_pypinyin_misreads_on_a_hotline_are_corrected() -> None:
    assert to_pinyin("重听请按星号。").startswith("chong2ting1")
    assert to_pinyin("请重试").endswith("chong2shi4")


def test_only_the_pinyin_voice_gets_pinyin() -> None:
    assert speakable("您好", "cmn-latn-pinyin+f2") == "nin2hao3"
    assert speakable("Hello 1", "en-us") == "Hello 1"


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_espeak_reads_the_pinyin_as_mandarin_syllables_not_english_letters() -> None:
    def phonemes(text: str, voice: str) -> str:
        return subprocess.run(["espeak-ng", "-q", "-x", "-v", voice, text], capture_output=True,
                              text=True, check=True, timeout=30).stdout

    assert "(en)" in phonemes("的", "cmn")  # what the old voice did with hanzi
    spoken = phonemes(speakable("抱歉，没有听到。", "cmn-latn-pinyin"), "cmn-latn-pinyin")
    assert "(en)" not in spoken and "51" in spoken  # tone 4 of 歉: a falling contour


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_the_headless_caller_says_mandarin_from_pinyin_not_letter_names() -> None:
    from ivr.commands.call import make_steps
    from ivr.telephony.headless import SPEAK_RATE
    from ivr.testing.speech_audio import espeak

    [step] = make_steps([("say", "我的卡丢了")], "zh-CN")
    letters = espeak("我的卡丢了", "cmn", rate=SPEAK_RATE)  # "Chinese letter ..." five times

    assert step.samples is not None and len(step.samples) > 0.5 * SPEAK_RATE
    assert 1.3 * len(step.samples) < len(letters)
