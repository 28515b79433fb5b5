"""Mandarin text as espeak-ng's ``cmn-latn-pinyin`` voice reads it: numbered-tone pinyin.

Debian's espeak-ng 1.51 reads most hanzi with its ``cmn`` voice as English letter names, so
a Mandarin prompt is rendered from pinyin instead (pypinyin, MIT). Before that, the text is
made speakable the way a person reads it aloud:

* numbers become number words (``按1`` → 按一, ``18800.00`` → 一万八千八百, ``2.50`` →
  二点五; five or more digits in a row, or a leading 0, are read digit by digit);
* ISO currency codes become their Chinese names (``CNY`` → 元, ``USD`` → 美元);
* words are kept together (``huan1ying2 zhi4dian4``), so espeak-ng phrases and applies its
  tone rules per word;
* full-width punctuation becomes ASCII ``,`` ``.`` ``?``: espeak-ng pauses at those only;
* Latin words (``Acme``) stay as they are: the voice reads a word that is not pinyin in
  English;
* the voice speaks a little higher than espeak-ng's default (:data:`PITCH`), which the
  recogniser hears better at 8 kHz.

:func:`speakable` is what every Mandarin rendering (prompts, ``ivr call --say``) uses.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from ivr.speech.say import zh_number

PINYIN_VOICE = "cmn-latn-pinyin"
"""The espeak-ng voice that reads numbered-tone pinyin (``ni3 hao3``)."""
FRONTEND_VERSION = 2
"""Bumped whenever :func:`to_pinyin` or :data:`PITCH` says something differently (it is in
the cache key). 2: the pitch."""
PITCH = 70
"""espeak-ng's pitch (0-100, 50 its default) for the pinyin voice. Measured on the 40
Mandarin prompts of hotline.yaml, heard back by whisper base at 8 kHz (espeak-ng's command
line): mean CER 67 % at 50, 62 % at 60, 61 % at 70, 66 % at 80; as rendered for callers
(tests/speech/test_prompt_intelligibility.py) 66 % → 64 % at 70. Rates of 110-220 wpm,
pauses between words, neutral tones without a number and no tone sandhi were no better than
165 wpm and the defaults."""

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_DIGITS = "零一二三四五六七八九"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NUMBER_SPLIT = re.compile(r"(\d+(?:\.\d+)?)")
_CURRENCIES = {"CNY": "元", "RMB": "元", "USD": "美元", "EUR": "欧元", "GBP": "英镑",
               "HKD": "港元", "JPY": "日元"}
_CURRENCY = re.compile(r"(?<![A-Za-z])(" + "|".join(_CURRENCIES) + r")(?![A-Za-z])")
_PAUSES = {"，": ",", "、": ",", "；": ",", "：": ",", "。": ".", "！": ".", "？": "?",
           "…": ".", ";": ",", ":": ",", "!": "."}
_DROP = "“”‘’\"'《》〈〉「」『』（）()【】[]"
_READINGS = {"重听": [["chóng"], ["tīng"]], "重试": [["chóng"], ["shì"]],
             "重新": [["chóng"], ["xīn"]], "重复": [["chóng"], ["fù"]],
             "重拨": [["chóng"], ["bō"]], "重置": [["chóng"], ["zhì"]]}
"""Words of a hotline whose reading pypinyin gets wrong (重听 is chong2ting1, "listen again")."""


def is_pinyin_voice(voice: str) -> bool:
    """True for ``cmn-latn-pinyin`` and its variants (``cmn-latn-pinyin+f2``)."""
    return voice.lower().split("+", 1)[0] == PINYIN_VOICE


def pitch_for(voice: str) -> int:
    """espeak-ng's pitch (0-100) for ``voice``: :data:`PITCH` for the pinyin voice, else 50."""
    return PITCH if is_pinyin_voice(voice) else 50


def speakable(text: str, voice: str) -> str:
    """What espeak-ng's ``voice`` should be given to say ``text``."""
    return to_pinyin(text) if is_pinyin_voice(voice) else text


def say_number(digits: str) -> str:
    """One number as a Mandarin speaker reads it: 1 → 一, 18800.00 → 一万八千八百, 2.50 →
    二点五, 013 → 零一三 (a leading 0 or more than eight digits: digit by digit)."""
    whole, _, fraction = digits.partition(".")
    if len(whole) > 8 or (len(whole) > 1 and whole.startswith("0")):
        said = "".join(_DIGITS[int(d)] for d in whole)
    else:
        said = zh_number(int(whole))
    fraction = fraction.rstrip("0")
    return said + ("点" + "".join(_DIGITS[int(d)] for d in fraction) if fraction else "")


def say_numbers(text: str) -> str:
    """Every number in ``text`` as words: 按1 → 按一."""
    return _NUMBER.sub(lambda m: say_number(m.group(0)), text)


def to_pinyin(text: str) -> str:
    """``欢迎致电Acme支付。`` → ``huan1ying2 zhi4dian4 Acme zhi1fu4.``"""
    text = _CURRENCY.sub(lambda m: _CURRENCIES[m.group(1)], text)
    out: list[str] = []
    for i, piece in enumerate(_NUMBER_SPLIT.split(text)):
        if i % 2:  # a number is a word of its own (按1 is an4 yi1, not an4yi1)
            out.append(_word_pinyin(say_number(piece)))
            continue
        for word in _words(piece):
            if _HAN.search(word):
                out.append(_word_pinyin(word))
                continue
            word = "".join(_PAUSES.get(ch, ch) for ch in word if ch not in _DROP).strip()
            if word:
                out.append(word)
    return re.sub(r"\s+([,.?])", r"\1", " ".join(out)).strip()


def _word_pinyin(word: str) -> str:
    from pypinyin import Style, lazy_pinyin

    _segmenter()  # loads the corrected readings

    syllables = lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True,
                            tone_sandhi=True)
    return "".join(s.strip() for s in syllables if s.strip())


def _words(text: str) -> list[str]:
    return list(_segmenter().cut(text))


@cache
def _segmenter() -> Any:
    import jieba
    from pypinyin import load_phrases_dict

    jieba.setLogLevel(60)  # it logs loading its dictionary (seconds, once per process)
    load_phrases_dict(_READINGS)
    for word in _READINGS:
        jieba.add_word(word)
    return jieba
