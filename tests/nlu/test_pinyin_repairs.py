"""Recogniser homophones in Mandarin: what was heard with other characters still sounds like
what was said (pinyin), for yes/no phrases and for the intent model's features."""

from __future__ import annotations

import numpy as np

from ivr.flow.voice import YES_NO
from ivr.nlu.classifier import IntentClassifier
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


def test_where_a_transcript_sounds_like_a_hotline_word() -> None:
    from ivr.speech.zh_vocabulary import replacements, sound_alike, substitution_cost

    exact = sound_alike("余额", "帮我看看鱼额吧")
    assert (exact.score, exact.start, exact.end) == (1.0, 4, 6)  # 鱼额 is yu e
    near = sound_alike("投诉", "我要偷宿")  # tou su / tou su: the same syllables
    assert near.score == 1.0
    assert substitution_cost("zhang", "zang") == 0.2 < substitution_cost("tui", "zui") == 0.5
    assert sound_alike("余额", "ok 123").score == 0.0  # no hanzi: nothing sounds alike
    versions = [v for v, _m in replacements("我想查询长虎鱼鹅")]
    assert "我想查询账户余额" in versions and "我想查询长虎鱼鹅" not in versions
    assert all(v != "余额" for v, _m in replacements("余额"))  # already said: left alone


def test_a_transcript_the_model_cannot_place_is_heard_again_by_sound(
        classifier: IntentClassifier) -> None:
    from ivr.nlu.api import INTENT_IDS
    from ivr.nlu.understander import IntentUnderstander

    choices: dict[str, list[str]] = {i: [] for i in INTENT_IDS}
    understander = IntentUnderstander(classifier)
    # 那个账户余额, as Whisper base may write it (the model, trained on recogniser-style
    # Mandarin, places milder ones such as 那个状况余饿 itself)
    garbled = "那个长虎如何"
    assert classifier.classify(garbled, "zh-CN").intent == "unknown"
    match = understander.match(garbled, choices, "zh-CN")
    reject, confirm = classifier.bands("zh-CN")
    assert match is not None and match.choice == "balance"
    assert reject <= match.score < confirm  # a reading by sound is always confirmed first
    for other in ("明天会不会下雨", "我想订一张机票"):  # out of scope stays out of scope
        assert understander.match(other, choices, "zh-CN") is None, other
