"""Recogniser homophones in Mandarin: what was heard with other characters still sounds like
what was said (pinyin), for yes/no phrases and for the intent model's features."""

from __future__ import annotations

import numpy as np

from ivr.flow.voice import YES_NO
from ivr.nlu.phrases import PhraseMatcher
from ivr.nlu.text import fuzzy_syllable, ngram_vector, pinyin_syllables, pinyin_vector


def test_yes_and_no_heard_as_homophones() -> None:
    m = PhraseMatcher()
    heard = {"事": "yes", "是的": "yes", "队": "yes", "不事": "no", "不对": "no"}
    for text, meaning in heard.items():
        match = m.match(text, YES_NO["zh-CN"], "zh-CN")
        assert match is not None and match.choice == meaning, text
    assert m.match("今天天气", YES_NO["zh-CN"], "zh-CN") is None


def test_homophones_share_pinyin_features_characters_do_not() -> None:
    said, heard, other = "查一下余额", "查一下鱼饿", "查一下退款"
    assert pinyin_syllables(said) == ["cha", "yi", "xia", "yu", "e"]
    pin = float(np.dot(pinyin_vector(said), pinyin_vector(heard)))
    chars = float(np.dot(ngram_vector(said), ngram_vector(heard)))
    assert pin > 0.99 > chars  # same sounds; only 查一下 in common as characters
    assert float(np.dot(pinyin_vector(said), pinyin_vector(other))) < pin
    assert fuzzy_syllable("zhang") == fuzzy_syllable("zan") == "zan"  # 账 / 赞 blurred
    assert not pinyin_vector("I lost my card").any()  # no hanzi: no pinyin features
