"""What the Kokoro Mandarin voice is given to say (ivr.speech.kokoro.phonemes)."""

from __future__ import annotations

import pytest

from ivr.speech import kokoro

pytestmark = pytest.mark.skipif(not kokoro.installed(), reason="the neural extra is not installed")


def test_numbers_currencies_and_the_brand_are_spoken_as_a_person_reads_them() -> None:
    said = kokoro.phonemes("欢迎致电Acme支付。余额按1，共18800.00CNY。")
    assert len(said) == 2  # one string per sentence
    assert "ˈækmi" in said[0]  # the brand in English, not letter by letter
    assert "a↘n i→," in said[1]  # 按1 → 按一, a word of its own
    assert "ɥɛ↗n" in said[1] and "C" not in said[1]  # CNY → 元
    assert not any(ch.isdigit() for s in said for ch in s)


def test_tones_and_sandhi_come_from_hotline_s_pinyin() -> None:
    # 你好: third tone before third tone is said as a second tone (sandhi)
    assert kokoro.phonemes("你好")[0].startswith("ni↗")
    # a reading pypinyin gets wrong on a hotline, corrected (重听 is chóngtīng, not zhòng)
    assert kokoro.phonemes("重听") == ["ꭧʰʊ↗ŋtʰi→ŋ"]


def test_text_without_anything_to_say_and_very_long_text() -> None:
    assert kokoro.phonemes("。，！") == []
    long = "请稍候" * 200
    pieces = kokoro.phonemes(long)
    assert len(pieces) > 1 and all(len(p) <= kokoro.MAX_PHONEMES for p in pieces)
