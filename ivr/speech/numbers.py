"""Spoken digits and amounts → values, for English and Mandarin transcripts.

``parse_digits("one two double five oh", "en-US") == "12550"``,
``parse_digits("幺二三", "zh-CN") == "123"``, ``parse_amount("一百二十块五", "zh-CN") ==
Decimal("120.5")``. Both return None when the utterance is not (only) a number, so the
flow can say "sorry" instead of guessing.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_EN_UNITS = {"zero": 0, "oh": 0, "o": 0, "nought": 0, "one": 1, "two": 2, "three": 3,
             "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
             "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
             "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
            "eighty": 80, "ninety": 90}
_EN_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_EN_REPEAT = {"double": 2, "triple": 3}
_EN_FILLER = {"my", "number", "is", "it", "its", "it's", "uh", "um", "er", "the", "and",
              "a", "that's", "thats", "account", "please", "yes", "so", "ok", "okay"}
_ZH_DIGITS = {"零": 0, "〇": 0, "洞": 0, "一": 1, "幺": 1, "壹": 1, "二": 2, "两": 2, "贰": 2,
              "三": 3, "叁": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7,
              "拐": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "勾": 9, "玖": 9}
_ZH_SMALL = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_ZH_BIG = {"万": 10_000, "亿": 100_000_000}
_ZH_FILLER = re.compile(r"[我的号码是卡账户嗯呃啊那个就，。,.\s？?！!、]")


def _words(text: str) -> list[str]:
    text = text.lower().replace("-", " ")
    text = re.sub(r"(?<=\d)[,\s](?=\d)", " ", text)
    return re.findall(r"\d+(?:\.\d+)?|[a-z']+", text)


def _en_cardinal(words: list[str]) -> int | None:
    """``one hundred twenty three`` → 123; None if a word is not part of a number."""
    total = current = 0
    if not words:
        return None
    for word in words:
        if word in _EN_UNITS:
            current += _EN_UNITS[word]
        elif word in _EN_TENS:
            current += _EN_TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word in ("thousand", "million"):
            total += max(current, 1) * _EN_SCALES[word]
            current = 0
        elif word.isdigit():
            current += int(word)
        else:
            return None
    return total + current


def _en_digits(words: list[str]) -> str | None:
    out: list[str] = []
    repeat = 1
    i = 0
    while i < len(words):
        word = words[i]
        if word in _EN_FILLER:
            i += 1
            continue
        if word in _EN_REPEAT:
            repeat = _EN_REPEAT[word]
            i += 1
            continue
        if word.isdigit():
            out.append(word * repeat if len(word) == 1 else word)
        elif word in _EN_TENS:  # "twenty three" said as one group
            value = _EN_TENS[word]
            if i + 1 < len(words) and words[i + 1] in _EN_UNITS and _EN_UNITS[words[i + 1]] < 10:
                value += _EN_UNITS[words[i + 1]]
                i += 1
            out.append(str(value))
        elif word in _EN_UNITS:
            value = _EN_UNITS[word]
            if i + 1 < len(words) and words[i + 1] == "hundred":
                group = [word, "hundred"]
                i += 1
                while i + 1 < len(words) and (words[i + 1] in _EN_TENS or (
                        words[i + 1] in _EN_UNITS and _EN_UNITS[words[i + 1]] < 20)):
                    group.append(words[i + 1])
                    i += 1
                out.append(str(_en_cardinal([w for w in group if w != "and"])))
            else:
                out.append(str(value) * repeat if value < 10 else str(value))
        else:
            return None
        repeat = 1
        i += 1
    return "".join(out) or None


def _zh_cardinal(text: str) -> int | None:
    """``一百二十`` → 120, ``三千零五`` → 3005, ``十五`` → 15."""
    total = section = number = 0
    if not text:
        return None
    for ch in text:
        if ch.isdigit():
            number = number * 10 + int(ch)
        elif ch in _ZH_DIGITS:
            number = _ZH_DIGITS[ch]
        elif ch in _ZH_SMALL:
            section += (number or 1) * _ZH_SMALL[ch]
            number = 0
        elif ch in _ZH_BIG:
            total += (section + number) * _ZH_BIG[ch]
            section = number = 0
        else:
            return None
    return total + section + number


def _zh_clean(text: str) -> str:
    return _ZH_FILLER.sub("", text)


def parse_digits(text: str, language: str) -> str | None:
    """The digit string a caller said ("one two double five", "幺二三"), or None."""
    if language.startswith("zh"):
        clean = _zh_clean(text)
        if not clean:
            return None
        if all(ch in _ZH_DIGITS or ch.isdigit() for ch in clean):
            return "".join(str(_ZH_DIGITS.get(ch, ch)) for ch in clean)
        value = _zh_cardinal(clean)
        return None if value is None else str(value)
    return _en_digits(_words(text))


def parse_amount(text: str, language: str) -> Decimal | None:
    """A money amount ("one hundred twenty dollars and fifty cents", "$12.50",
    "一百二十块五", "三十元五角二分"), or None."""
    return _zh_amount(_zh_clean(text)) if language.startswith("zh") else _en_amount(text)


def _en_amount(text: str) -> Decimal | None:
    plain = re.sub(r"[$,]", "", text.lower()).strip(" .?!")
    if re.fullmatch(r"\d+(\.\d+)?( dollars?| bucks?)?", plain):
        return Decimal(plain.split()[0])
    words = [w for w in _words(plain) if w not in _EN_FILLER]
    major_words, minor_words, point_words = words, [], []
    for unit in ("dollars", "dollar", "bucks", "buck"):
        if unit in words:
            at = words.index(unit)
            major_words, rest = words[:at], words[at + 1:]
            minor_words = [w for w in rest if w not in ("cents", "cent")]
            break
    if "point" in major_words:
        at = major_words.index("point")
        major_words, point_words = major_words[:at], major_words[at + 1:]
    elif major_words and major_words[-1] in ("cents", "cent"):
        cents = _en_cardinal(major_words[:-1])
        return None if cents is None else Decimal(cents) / 100
    major = _en_cardinal(major_words) if major_words else 0
    minor = _en_cardinal(minor_words) if minor_words else 0
    if major is None or minor is None or minor >= 100:
        return None
    amount = Decimal(major) + Decimal(minor) / 100
    if point_words:
        decimals = _en_digits(point_words)
        if decimals is None:
            return None
        amount = Decimal(f"{major}.{decimals}")
    return amount


def _zh_amount(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        if re.fullmatch(r"\d+(\.\d+)?(元|块|块钱)?", text):
            return Decimal(re.sub(r"[^\d.]", "", text))
    except InvalidOperation:
        return None
    text = text.removesuffix("钱").removesuffix("整")
    if "点" in text:
        whole, _, frac = text.partition("点")
        major = _zh_cardinal(whole.rstrip("元块"))
        digits = parse_digits(frac.rstrip("元块"), "zh-CN")
        return None if major is None or digits is None else Decimal(f"{major}.{digits}")
    match = re.fullmatch(r"(.*?)(?:[元块](.*))?", text)
    assert match is not None
    major = _zh_cardinal(match.group(1)) if match.group(1) else 0
    rest = match.group(2) or ""
    if major is None:
        return None
    jiao = fen = 0
    sub = re.fullmatch(r"(?:零)?(?:(.)[角毛])?(?:零)?(?:(.)分?)?", rest)
    if rest and sub is None:
        return None
    if sub is not None:
        if sub.group(1):
            jiao = _ZH_DIGITS.get(sub.group(1), -1)
        if sub.group(2):
            value = _ZH_DIGITS.get(sub.group(2), -1)
            # "一百二十块五" is 120.5; "一百二十块零五" and "…五角五分" end in cents.
            if sub.group(1) or rest.startswith("零") or rest.endswith("分"):
                fen = value
            else:
                jiao = value
        if min(jiao, fen) < 0:
            return None
    return Decimal(major) + Decimal(jiao) / 10 + Decimal(fen) / 100
